#include "ingest/tsa_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>

#include "base/error.h"

namespace evidence::ingest {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;

namespace {

// Runs whatever asynchronous operation was just queued on `ioc` to its end; the
// stream's expiry turns a stall into a timeout error.
void run(asio::io_context& ioc) {
  ioc.restart();
  ioc.run();
}

// Writes `req` and reads the answer into `parser` over an open stream (TCP or TLS).
template <class Stream>
beast::error_code exchange(asio::io_context& ioc, Stream& stream, const http::request<http::string_body>& req,
                           http::response_parser<http::string_body>& parser) {
  beast::error_code ec;
  beast::flat_buffer buffer;
  http::async_write(stream, req, [&](beast::error_code e, std::size_t) { ec = e; });
  run(ioc);
  if (ec) return ec;
  http::async_read(stream, buffer, parser, [&](beast::error_code e, std::size_t) { ec = e; });
  run(ioc);
  return ec;
}

}  // namespace

HttpTimeStamper::HttpTimeStamper(std::string url, std::string ca_pem, std::chrono::seconds timeout,
                                 std::filesystem::path tls_ca_file)
    : ca_pem_(std::move(ca_pem)), timeout_(timeout) {
  if (ca_pem_.empty()) throw Error(Errc::invalid_argument, "--tsa-url needs --tsa-ca (the CA its tokens chain to)");
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed || (parsed->scheme() != "http" && parsed->scheme() != "https") || parsed->host().empty() ||
      parsed->has_userinfo()) {
    throw Error(Errc::invalid_argument, "--tsa-url must be an http:// or https:// URL without credentials: " + url);
  }
  const bool tls = parsed->scheme() == "https";
  host_ = parsed->host_address();
  port_ = parsed->has_port() ? std::string(parsed->port()) : (tls ? "443" : "80");
  host_header_ = parsed->encoded_host_and_port();
  target_ = parsed->encoded_target().empty() ? "/" : std::string(parsed->encoded_target());
  if (!tls && !tls_ca_file.empty())
    throw Error(Errc::invalid_argument, "--tsa-tls-ca is for an https:// --tsa-url, not " + url);
  if (tls) {
    // The TSA's server certificate is checked against the system's roots, or only
    // against --tsa-tls-ca when given (an agency's own CA), and must name the host.
    tls_ = std::make_shared<ssl::context>(ssl::context::tls_client);
    tls_->set_verify_mode(ssl::verify_peer);
    boost::system::error_code ec;
    if (!tls_ca_file.empty()) {
      tls_->load_verify_file(tls_ca_file.string(), ec);
      if (ec) throw Error(Errc::invalid_argument, "--tsa-tls-ca " + tls_ca_file.string() + ": " + ec.message());
    } else {
      tls_->set_default_verify_paths(ec);
      if (ec) throw Error(Errc::invalid_argument, "cannot load the system's TLS roots: " + ec.message());
    }
  }
}

Bytes HttpTimeStamper::stamp(const ContentId& digest) {
  Bytes nonce;
  const Bytes query = tsa::make_request(digest, &nonce);

  http::request<http::string_body> req{http::verb::post, target_, 11};
  req.set(http::field::host, host_header_);
  req.set(http::field::content_type, "application/timestamp-query");
  req.set(http::field::accept, "application/timestamp-reply");
  req.body().assign(query.begin(), query.end());
  req.prepare_payload();
  http::response_parser<http::string_body> parser;
  parser.body_limit(1 << 20);

  const std::string where = "time-stamp authority " + host_ + ":" + port_;
  asio::io_context ioc;
  beast::error_code ec;
  asio::ip::tcp::resolver resolver(ioc);
  auto endpoints = resolver.resolve(host_, port_, ec);
  if (ec) throw Error(Errc::unavailable, where + ": " + ec.message());
  beast::tcp_stream tcp(ioc);
  tcp.expires_after(timeout_);
  tcp.async_connect(endpoints, [&](beast::error_code e, const auto&) { ec = e; });
  run(ioc);
  if (ec) throw Error(Errc::unavailable, where + ": " + ec.message());
  if (tls_) {
    beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp), *tls_);
    if (!SSL_set_tlsext_host_name(stream.native_handle(), host_.c_str()))
      throw Error(Errc::unavailable, where + ": cannot set the TLS server name");
    stream.set_verify_callback(ssl::host_name_verification(host_));
    stream.async_handshake(ssl::stream_base::client, [&](beast::error_code e) { ec = e; });
    run(ioc);
    if (ec) throw Error(Errc::unavailable, where + ": TLS: " + ec.message());
    ec = exchange(ioc, stream, req, parser);
  } else {
    ec = exchange(ioc, tcp, req, parser);
  }
  if (ec) throw Error(Errc::unavailable, where + ": " + ec.message());
  const auto& res = parser.get();
  if (res.result() != http::status::ok) {
    throw Error(Errc::unavailable, "time-stamp authority answered HTTP " + std::to_string(res.result_int()));
  }
  Bytes answer(res.body().begin(), res.body().end());
  tsa::check_response(answer, digest, nonce);
  // A token we would store and hand out must verify for an auditor: check it all now.
  try {
    (void)tsa::verify(answer, digest, ca_pem_);
  } catch (const std::exception& e) {
    throw Error(Errc::crypto, std::string(kTokenInvalid) + ": " + e.what());
  }
  return answer;
}

}  // namespace evidence::ingest
