#include "store/tiles.h"

#include <charconv>
#include <vector>

#include "base/error.h"

namespace evidence::tiles {

namespace {

std::optional<std::uint64_t> decimal(std::string_view s, bool allow_leading_zero) {
  if (s.empty() || (!allow_leading_zero && s.size() > 1 && s[0] == '0')) return std::nullopt;
  std::uint64_t v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// 256^level, or nullopt past 2^64.
std::optional<std::uint64_t> span_of(unsigned level) {
  if (level >= 8) return std::nullopt;
  return std::uint64_t{1} << (8 * level);
}

}  // namespace

std::string TileRef::path() const {
  std::string n = std::to_string(index % 1000);
  n.insert(0, 3 - n.size(), '0');
  for (std::uint64_t rest = index / 1000; rest > 0; rest /= 1000) {
    std::string g = std::to_string(rest % 1000);
    g.insert(0, 3 - g.size(), '0');
    n = "x" + g + "/" + n;
  }
  std::string out = (entries ? std::string("entries") : std::to_string(level)) + "/" + n;
  if (partial()) out += ".p/" + std::to_string(width);
  return out;
}

std::optional<TileRef> parse_path(std::string_view path) {
  TileRef ref;
  const auto slash = path.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const std::string_view head = path.substr(0, slash);
  path.remove_prefix(slash + 1);
  if (head == "entries") {
    ref.entries = true;
  } else {
    const auto l = decimal(head, false);
    if (!l || *l > kMaxLevel) return std::nullopt;
    ref.level = static_cast<unsigned>(*l);
  }
  // Partial suffix, only at the very end.
  if (const auto p = path.find(".p/"); p != std::string_view::npos) {
    const auto w = decimal(path.substr(p + 3), false);
    if (!w || *w < 1 || *w >= kWidth) return std::nullopt;
    ref.width = static_cast<unsigned>(*w);
    path = path.substr(0, p);
  }
  // Groups: all but the last are "xDDD", the last "DDD".
  std::uint64_t index = 0;
  for (;;) {
    const auto next = path.find('/');
    const bool last = next == std::string_view::npos;
    std::string_view g = path.substr(0, next);
    if (!last) {
      if (g.size() != 4 || g[0] != 'x') return std::nullopt;
      g.remove_prefix(1);
    }
    if (g.size() != 3) return std::nullopt;
    for (char c : g)
      if (c < '0' || c > '9') return std::nullopt;
    const auto v = decimal(g, true);
    if (!v || index > (UINT64_MAX - *v) / 1000) return std::nullopt;
    index = index * 1000 + *v;
    if (last) break;
    path.remove_prefix(next + 1);
  }
  ref.index = index;
  return ref;
}

std::optional<Bytes> read_tile(const CustodyLog& log, const TileRef& ref, std::uint64_t size) {
  const unsigned level = ref.entries ? 0 : ref.level;
  const auto span = span_of(level);
  if (!span) return std::nullopt;  // no log is that big
  // Entries (or subtrees of `span` leaves) covered: [first, first + width).
  if (ref.index > UINT64_MAX / kWidth) return std::nullopt;
  const std::uint64_t first = ref.index * kWidth;
  const std::uint64_t have = size / *span;  // complete subtrees at this level
  // Any partial width the log has reached is served, also after its full tile exists:
  // it is a prefix of that tile, and a client that verified an older checkpoint needs it.
  if (have < first + ref.width) return std::nullopt;

  Bytes out;
  if (ref.entries) {
    const auto leaves = log.log_entries(first, first + ref.width);
    if (leaves.size() != ref.width) throw Error(Errc::corrupt, "custody log entries missing in tile " + ref.path());
    for (const auto& e : leaves) {
      if (e.leaf.size() > 0xFFFF) throw Error(Errc::corrupt, "custody entry " + std::to_string(e.index) + " is over 64 KiB");
      out.push_back(static_cast<std::uint8_t>(e.leaf.size() >> 8));
      out.push_back(static_cast<std::uint8_t>(e.leaf.size() & 0xFF));
      out.insert(out.end(), e.leaf.begin(), e.leaf.end());
    }
    return out;
  }
  out.reserve(32u * ref.width);
  for (std::uint64_t i = first; i < first + ref.width; ++i) {
    const auto h = log.stored_subtree(8 * level, i);
    if (!h) throw Error(Errc::corrupt, "stored subtree " + std::to_string(8 * level) + "/" + std::to_string(i) + " is missing");
    out.insert(out.end(), h->begin(), h->end());
  }
  return out;
}

}  // namespace evidence::tiles
