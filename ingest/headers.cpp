#include "ingest/headers.h"

#include <boost/beast/core/string.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/grammar/alnum_chars.hpp>
#include <boost/url/grammar/lut_chars.hpp>
#include <boost/url/pct_string_view.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

namespace evidence::ingest {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

HttpError bad_digest(const std::string& why) { return {http::status::bad_request, "invalid_digest", why}; }

}  // namespace

std::optional<std::uint64_t> parse_uint(std::string_view v) {
  if (v.empty() || v.size() > 19) return std::nullopt;
  std::uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return n;
}

json::object parse_upload_metadata(std::string_view header, const std::vector<std::string_view>& known) {
  json::object out;
  while (!header.empty()) {
    const auto comma = header.find(',');
    std::string_view pair = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    while (!pair.empty() && pair.back() == ' ') pair.remove_suffix(1);
    if (pair.empty()) continue;
    const auto space = pair.find(' ');
    const std::string key(pair.substr(0, space));
    std::string value;
    if (space != std::string_view::npos) {
      auto bytes = from_base64(pair.substr(space + 1));
      if (!bytes) {
        throw HttpError{http::status::bad_request, "invalid_metadata", "Upload-Metadata value of " + key + " is not base64"};
      }
      value.assign(bytes->begin(), bytes->end());
    }
    for (std::string_view k : known) {
      if (key == k) out[key] = value;
    }
  }
  return out;
}

UploadChecksum parse_upload_checksum(std::string_view h) {
  const auto space = h.find(' ');
  const std::string_view algo = h.substr(0, space);
  auto value = space == std::string_view::npos ? std::nullopt : from_base64(h.substr(space + 1));
  UploadChecksum c;
  if (algo == "sha256" && value && value->size() == 32) {
    c.algorithm = UploadChecksum::Algorithm::sha256;
  } else if (algo == "sha1" && value && value->size() == 20) {
    c.algorithm = UploadChecksum::Algorithm::sha1;
  } else {
    throw HttpError{http::status::bad_request, "invalid_checksum",
                    "Upload-Checksum must be 'sha1 BASE64' or 'sha256 BASE64'"};
  }
  c.digest = std::move(*value);
  return c;
}

std::optional<ContentId> parse_digest_header(std::string_view header, bool rfc9530) {
  std::optional<ContentId> found;
  std::string_view rest = header;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    std::string_view item = trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    const auto eq = item.find('=');
    if (eq == std::string_view::npos) continue;
    if (!boost::beast::iequals(trim(item.substr(0, eq)), "sha-256")) continue;
    std::string_view value = trim(item.substr(eq + 1));
    if (rfc9530) {
      if (value.size() < 2 || value.front() != ':' || value.back() != ':') {
        throw bad_digest("Content-Digest sha-256 must be :BASE64:");
      }
      value = value.substr(1, value.size() - 2);
    }
    auto bytes = from_base64(value);
    if (!bytes || bytes->size() != 32) throw bad_digest("the sha-256 digest is not 32 bytes of base64");
    found = ContentId::from_span(*bytes);
  }
  return found;
}

std::optional<ByteRange> parse_range(std::string_view h, std::uint64_t size) {
  h = trim(h);
  if (h.substr(0, 6) != "bytes=") return std::nullopt;
  h.remove_prefix(6);
  if (h.find(',') != std::string_view::npos) return std::nullopt;  // multiple ranges: send it all
  const auto dash = h.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto num = [](std::string_view t, std::uint64_t& out) {
    t = trim(t);
    if (t.empty() || t.size() > 19) return false;
    out = 0;
    for (char c : t) {
      if (c < '0' || c > '9') return false;
      out = out * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return true;
  };
  const std::string_view a = trim(h.substr(0, dash)), b = trim(h.substr(dash + 1));
  const HttpError unsatisfiable{http::status::range_not_satisfiable, "range_not_satisfiable",
                                "the range lies outside the content",
                                {{"Content-Range", "bytes */" + std::to_string(size)}}};
  ByteRange r;
  if (a.empty()) {
    std::uint64_t suffix;
    if (!num(b, suffix)) return std::nullopt;
    if (suffix == 0 || size == 0) throw unsatisfiable;
    r.first = suffix >= size ? 0 : size - suffix;
    r.last = size - 1;
    return r;
  }
  if (!num(a, r.first)) return std::nullopt;
  if (b.empty()) {
    r.last = size ? size - 1 : 0;
  } else {
    if (!num(b, r.last) || r.last < r.first) return std::nullopt;
    if (r.last >= size) r.last = size ? size - 1 : 0;
  }
  if (r.first >= size) throw unsatisfiable;
  return r;
}

std::vector<std::string_view> split_path(std::string_view p) {
  std::vector<std::string_view> out;
  if (!p.empty() && p.front() == '/') p.remove_prefix(1);
  while (true) {
    auto slash = p.find('/');
    out.push_back(p.substr(0, slash));
    if (slash == std::string_view::npos) break;
    p.remove_prefix(slash + 1);
  }
  return out;
}

std::optional<std::string> decode_segment(std::string_view seg) {
  auto pct = boost::urls::make_pct_string_view(seg);
  if (!pct) return std::nullopt;
  return pct->decode();
}

bool match_pattern(const std::vector<std::string_view>& pat, const std::vector<std::string_view>& segs,
                   std::vector<std::string>& params) {
  params.clear();
  std::size_t plus = pat.size();
  for (std::size_t i = 0; i < pat.size(); ++i) {
    if (pat[i] == "{+}") plus = i;
  }
  auto one = [&](std::string_view p, std::string_view s) {
    if (p == "{}") {
      if (s.empty()) return false;
      auto d = decode_segment(s);
      if (!d) return false;
      params.push_back(std::move(*d));
      return true;
    }
    return p == s;
  };
  if (plus == pat.size()) {
    if (pat.size() != segs.size()) return false;
    for (std::size_t i = 0; i < pat.size(); ++i) {
      if (!one(pat[i], segs[i])) return false;
    }
    return true;
  }
  const std::size_t before = plus, after = pat.size() - plus - 1;
  if (segs.size() < before + after + 1) return false;
  for (std::size_t i = 0; i < before; ++i) {
    if (!one(pat[i], segs[i])) return false;
  }
  std::vector<std::string> tail;
  for (std::size_t i = 0; i < after; ++i) {
    std::vector<std::string> save = std::move(params);
    params.clear();
    if (!one(pat[plus + 1 + i], segs[segs.size() - after + i])) return false;
    for (auto& t : params) tail.push_back(std::move(t));
    params = std::move(save);
  }
  std::string joined;
  for (std::size_t i = before; i < segs.size() - after; ++i) {
    if (segs[i].empty()) return false;
    auto d = decode_segment(segs[i]);
    if (!d) return false;
    if (i > before) joined.push_back('/');
    joined += *d;
  }
  params.push_back(std::move(joined));
  for (auto& t : tail) params.push_back(std::move(t));
  return true;
}

std::string percent_encode(std::string_view text, ExtValueKeep keep) {
  namespace grammar = boost::urls::grammar;
  // RFC 8187 section 3.2.1 attr-char: ALPHA / DIGIT / "!#$&+-.^_`|~".
  static constexpr grammar::lut_chars kAttrChars = grammar::lut_chars(grammar::alnum_chars) + "!#$&+-.^_`|~";
  if (keep == ExtValueKeep::attr_char) return boost::urls::encode(text, kAttrChars);
  return boost::urls::encode(text, boost::urls::unreserved_chars);
}

}  // namespace evidence::ingest
