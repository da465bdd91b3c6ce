#include "store/s3/s3_client.h"

#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>
#include <boost/url/parse.hpp>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "base/codec.h"
#include "base/error.h"
#include "base/timefmt.h"

namespace evidence::s3 {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;

// ---- Signature Version 4 ---------------------------------------------------------------

namespace {

using Digest = std::array<std::uint8_t, 32>;

Digest hmac_sha256(std::span<const std::uint8_t> key, std::string_view data) {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (!mac) throw Error(Errc::crypto, "HMAC is not available in OpenSSL");
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  EVP_MAC_free(mac);
  if (!ctx) throw Error(Errc::crypto, "EVP_MAC_CTX_new failed");
  char digest_name[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
                         OSSL_PARAM_construct_end()};
  Digest out{};
  std::size_t out_len = 0;
  bool ok = EVP_MAC_init(ctx, key.data(), key.size(), params) == 1 &&
            EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1 &&
            EVP_MAC_final(ctx, out.data(), &out_len, out.size()) == 1 && out_len == out.size();
  EVP_MAC_CTX_free(ctx);
  if (!ok) throw Error(Errc::crypto, "HMAC-SHA256 failed");
  return out;
}

Digest sha256(std::span<const std::uint8_t> data) {
  Digest out{};
  unsigned len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 || len != out.size())
    throw Error(Errc::crypto, "SHA-256 failed");
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// Header values are signed trimmed, with inner runs of spaces folded to one.
std::string fold_spaces(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

}  // namespace

// SigV4's UriEncode: every byte but the unreserved set (and '/' in a path) as %XX
// with upper-case hex, which is Boost.URL's encoding with these sets.
std::string uri_encode(std::string_view raw, bool keep_slash) {
  static constexpr auto kPath = boost::urls::unreserved_chars + '/';
  if (keep_slash) return boost::urls::encode(raw, kPath);
  return boost::urls::encode(raw, boost::urls::unreserved_chars);
}

std::string amz_date(std::chrono::system_clock::time_point t) {
  return format_utc(std::chrono::floor<std::chrono::seconds>(t), "%Y%m%dT%H%M%SZ");
}

std::string sha256_hex(std::span<const std::uint8_t> data) { return to_hex(sha256(data)); }

std::string canonical_query(const Params& query) {
  std::vector<std::pair<std::string, std::string>> enc;
  enc.reserve(query.size());
  for (auto& [k, v] : query) enc.emplace_back(uri_encode(k, false), uri_encode(v, false));
  std::sort(enc.begin(), enc.end());
  std::string out;
  for (auto& [k, v] : enc) {
    if (!out.empty()) out += '&';
    out += k;
    out += '=';
    out += v;
  }
  return out;
}

Signature sign_v4(const SigningInput& in, const Credentials& creds, std::string_view region,
                  std::string_view service, std::string_view date_time) {
  if (date_time.size() != 16) throw Error(Errc::invalid_argument, "x-amz-date must look like 20150830T123600Z");
  // Canonical headers: lowercase names, sorted; repeated names joined with commas.
  std::map<std::string, std::string> hdrs;
  for (auto& [name, value] : in.headers) {
    auto key = lower(name);
    auto v = fold_spaces(value);
    auto [it, fresh] = hdrs.emplace(key, v);
    if (!fresh) it->second += "," + v;
  }
  Signature s;
  std::string canonical_headers;
  for (auto& [name, value] : hdrs) {
    canonical_headers += name + ":" + value + "\n";
    if (!s.signed_headers.empty()) s.signed_headers += ';';
    s.signed_headers += name;
  }
  std::string path = in.path.empty() ? "/" : in.path;
  s.canonical_request = in.method + "\n" + uri_encode(path, true) + "\n" + canonical_query(in.query) + "\n" +
                        canonical_headers + "\n" + s.signed_headers + "\n" + in.payload_sha256;
  std::string date(date_time.substr(0, 8));
  std::string scope = date + "/" + std::string(region) + "/" + std::string(service) + "/aws4_request";
  s.string_to_sign = "AWS4-HMAC-SHA256\n" + std::string(date_time) + "\n" + scope + "\n" +
                     sha256_hex(as_bytes(s.canonical_request));
  std::string first = "AWS4" + creds.secret_key;
  Digest k = hmac_sha256(as_bytes(first), date);
  k = hmac_sha256(k, region);
  k = hmac_sha256(k, service);
  k = hmac_sha256(k, "aws4_request");
  s.signature = to_hex(hmac_sha256(k, s.string_to_sign));
  s.authorization = "AWS4-HMAC-SHA256 Credential=" + creds.access_key + "/" + scope +
                    ", SignedHeaders=" + s.signed_headers + ", Signature=" + s.signature;
  return s;
}

// ---- HTTP ---------------------------------------------------------------------------------

std::string Response::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

std::string describe_error(const Response& r) {
  std::string code, message;
  try {
    boost::property_tree::ptree tree;
    std::istringstream in(r.body);
    boost::property_tree::read_xml(in, tree);
    if (auto err = tree.get_child_optional("Error")) {
      code = err->get<std::string>("Code", "");
      message = err->get<std::string>("Message", "");
    }
  } catch (const std::exception&) {
    // Not XML (a proxy's HTML page, or no body for HEAD): the status alone must do.
  }
  std::string out = "HTTP " + std::to_string(r.status);
  if (!code.empty()) out += " " + code;
  if (!message.empty()) out += ": " + message;
  return out;
}

namespace {

// A network-level failure (connect, TLS, write, read, timeout): retryable.
struct NetError {
  std::string what;
};

struct Endpoint {
  bool tls = false;
  std::string host;
  std::string port;
  std::string host_header;
};

Endpoint parse_endpoint(const std::string& url) {
  auto r = boost::urls::parse_uri(url);
  if (!r) throw Error(Errc::invalid_argument, "S3 endpoint '" + url + "' is not a URL");
  Endpoint e;
  std::string scheme(r->scheme());
  if (scheme == "https") {
    e.tls = true;
  } else if (scheme != "http") {
    throw Error(Errc::invalid_argument, "S3 endpoint '" + url + "' must be http:// or https://");
  }
  if (!r->path().empty() && r->path() != "/")
    throw Error(Errc::invalid_argument, "S3 endpoint '" + url + "' must not have a path (addressing is path-style)");
  if (r->has_query() || r->has_userinfo())
    throw Error(Errc::invalid_argument, "S3 endpoint '" + url + "' must not carry a query or credentials");
  e.host = std::string(r->host_address());
  if (e.host.empty()) throw Error(Errc::invalid_argument, "S3 endpoint '" + url + "' has no host");
  e.port = r->has_port() ? std::string(r->port()) : (e.tls ? "443" : "80");
  bool default_port = (e.tls && e.port == "443") || (!e.tls && e.port == "80");
  std::string host_in_header = std::string(r->encoded_host_and_port());
  e.host_header = default_port ? std::string(r->encoded_host()) : host_in_header;
  return e;
}

struct Connection {
  asio::io_context ioc;
  std::unique_ptr<beast::tcp_stream> tcp;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;

  beast::tcp_stream& layer() { return tls ? tls->next_layer() : *tcp; }
  template <class F>
  void with_stream(F&& f) {
    if (tls)
      f(*tls);
    else
      f(*tcp);
  }
  // Runs the queued asynchronous operation to its end; the stream's expiry turns a
  // stall into beast::error::timeout.
  void run() {
    ioc.restart();
    ioc.run();
  }
};

}  // namespace

struct Client::Pool {
  Endpoint endpoint;
  std::unique_ptr<ssl::context> tls_ctx;
  std::mutex mu;
  std::vector<std::unique_ptr<Connection>> idle;
  std::mt19937_64 rng{std::random_device{}()};

  std::unique_ptr<Connection> take() {
    std::lock_guard lock(mu);
    if (idle.empty()) return nullptr;
    auto c = std::move(idle.back());
    idle.pop_back();
    return c;
  }
  void give_back(std::unique_ptr<Connection> c, std::size_t max_idle) {
    std::lock_guard lock(mu);
    if (idle.size() < max_idle) idle.push_back(std::move(c));
  }
  std::chrono::milliseconds jitter(std::chrono::milliseconds base) {
    std::lock_guard lock(mu);
    auto b = static_cast<std::uint64_t>(std::max<std::int64_t>(base.count(), 1));
    return std::chrono::milliseconds(b / 2 + rng() % b);
  }

  std::unique_ptr<Connection> connect(std::chrono::milliseconds timeout) {
    auto c = std::make_unique<Connection>();
    asio::ip::tcp::resolver resolver(c->ioc);
    boost::system::error_code ec;
    auto results = resolver.resolve(endpoint.host, endpoint.port, ec);
    if (ec) throw NetError{"resolve " + endpoint.host + ": " + ec.message()};
    if (tls_ctx) {
      c->tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(c->ioc, *tls_ctx);
      if (!SSL_set_tlsext_host_name(c->tls->native_handle(), endpoint.host.c_str()))
        throw NetError{"TLS: cannot set SNI"};
      c->tls->set_verify_callback(ssl::host_name_verification(endpoint.host));
    } else {
      c->tcp = std::make_unique<beast::tcp_stream>(c->ioc);
    }
    c->layer().expires_after(timeout);
    c->layer().async_connect(results, [&](boost::system::error_code e, const auto&) { ec = e; });
    c->run();
    if (ec) throw NetError{"connect " + endpoint.host + ":" + endpoint.port + ": " + ec.message()};
    c->layer().socket().set_option(asio::ip::tcp::no_delay(true));
    if (c->tls) {
      c->layer().expires_after(timeout);
      c->tls->async_handshake(ssl::stream_base::client, [&](boost::system::error_code e) { ec = e; });
      c->run();
      if (ec) throw NetError{"TLS handshake with " + endpoint.host + ": " + ec.message()};
    }
    return c;
  }
};

Client::Client(ClientOptions options) : options_(std::move(options)), pool_(std::make_unique<Pool>()) {
  pool_->endpoint = parse_endpoint(options_.endpoint);
  if (options_.credentials.access_key.empty() || options_.credentials.secret_key.empty())
    throw Error(Errc::invalid_argument, "S3 credentials are missing (access key and secret key)");
  if (options_.max_attempts < 1) options_.max_attempts = 1;
  if (pool_->endpoint.tls) {
    pool_->tls_ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
    pool_->tls_ctx->set_verify_mode(ssl::verify_peer);
    if (!options_.ca_file.empty())
      pool_->tls_ctx->load_verify_file(options_.ca_file);
    else
      pool_->tls_ctx->set_default_verify_paths();
  }
}

Client::~Client() = default;

std::string Client::host_header() const { return pool_->endpoint.host_header; }

Response Client::send(const Request& req) {
  std::string payload = req.body_sha256.empty() ? sha256_hex(req.body) : req.body_sha256;
  std::string last_error;
  Response last;
  bool have_answer = false;
  bool stale_retry_used = false;
  for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
    auto conn = pool_->take();
    bool reused = conn != nullptr;
    try {
      if (!conn) conn = pool_->connect(options_.timeout);

      // Sign afresh on every attempt: the date is part of the signature.
      SigningInput in;
      in.method = req.method;
      in.path = req.path;
      in.query = req.query;
      in.headers = req.headers;
      std::string now = amz_date(std::chrono::system_clock::now());
      in.headers.emplace_back("host", pool_->endpoint.host_header);
      in.headers.emplace_back("x-amz-date", now);
      in.headers.emplace_back("x-amz-content-sha256", payload);
      in.payload_sha256 = payload;
      Signature sig = sign_v4(in, options_.credentials, options_.region, "s3", now);

      std::string target = uri_encode(req.path.empty() ? "/" : req.path, true);
      std::string q = canonical_query(req.query);
      if (!q.empty()) target += "?" + q;
      http::request<http::span_body<const char>> msg;
      msg.method_string(req.method);
      msg.target(target);
      msg.version(11);
      for (auto& [name, value] : in.headers) msg.set(name, value);
      msg.set(http::field::authorization, sig.authorization);
      msg.body() = {reinterpret_cast<const char*>(req.body.data()), req.body.size()};
      if (!req.body.empty() || req.method == "PUT" || req.method == "POST") msg.content_length(req.body.size());
      msg.keep_alive(true);

      boost::system::error_code ec;
      conn->layer().expires_after(options_.timeout);
      conn->with_stream([&](auto& stream) {
        http::async_write(stream, msg, [&](boost::system::error_code e, std::size_t) { ec = e; });
      });
      conn->run();
      if (ec) throw NetError{"send " + req.method + " " + req.path + ": " + ec.message()};

      http::response_parser<http::string_body> parser;
      parser.body_limit(req.response_limit);
      if (req.method == "HEAD") parser.skip(true);
      conn->layer().expires_after(options_.timeout);
      conn->with_stream([&](auto& stream) {
        http::async_read(stream, conn->buffer, parser, [&](boost::system::error_code e, std::size_t) { ec = e; });
      });
      conn->run();
      if (ec) throw NetError{"read answer to " + req.method + " " + req.path + ": " + ec.message()};

      auto& res = parser.get();
      Response out;
      out.status = res.result_int();
      for (auto& f : res) out.headers[lower(std::string(f.name_string()))] = std::string(f.value());
      out.body = std::move(res.body());
      if (res.keep_alive()) pool_->give_back(std::move(conn), options_.max_idle_connections);

      bool retryable = out.status >= 500 || out.status == 429;
      if (!retryable || attempt == options_.max_attempts) return out;
      last = std::move(out);
      have_answer = true;
      last_error = describe_error(last);
    } catch (const NetError& e) {
      last_error = e.what;
      // A pooled connection the server has meanwhile closed fails at once; that says
      // nothing about the server, so retry once without waiting or counting.
      if (reused && !stale_retry_used) {
        stale_retry_used = true;
        --attempt;
        continue;
      }
      if (attempt == options_.max_attempts) break;
    }
    auto wait = pool_->jitter(options_.backoff * (1 << std::min(attempt - 1, 6)));
    std::this_thread::sleep_for(wait);
  }
  if (have_answer) return last;
  throw Error(Errc::unavailable, "S3 endpoint " + options_.endpoint + " did not answer " + req.method + " " +
                                     req.path + " after " + std::to_string(options_.max_attempts) +
                                     " attempts: " + last_error);
}

}  // namespace evidence::s3
