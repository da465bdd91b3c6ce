#include "ingest/tsa_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>

#include "base/error.h"

namespace evidence::ingest {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

HttpTimeStamper::HttpTimeStamper(std::string url, std::string ca_pem, std::chrono::seconds timeout)
    : ca_pem_(std::move(ca_pem)), timeout_(timeout) {
  if (ca_pem_.empty()) throw Error(Errc::invalid_argument, "--tsa-url needs --tsa-ca (the CA its tokens chain to)");
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed || parsed->scheme() != "http" || parsed->host().empty()) {
    throw Error(Errc::invalid_argument, "--tsa-url must be an http:// URL: " + url);
  }
  host_ = parsed->host();
  port_ = parsed->has_port() ? std::string(parsed->port()) : "80";
  target_ = parsed->encoded_target().empty() ? "/" : std::string(parsed->encoded_target());
}

Bytes HttpTimeStamper::stamp(const ContentId& digest) {
  Bytes nonce;
  const Bytes query = tsa::make_request(digest, &nonce);

  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  beast::flat_buffer buffer;
  http::request<http::string_body> req{http::verb::post, target_, 11};
  req.set(http::field::host, host_);
  req.set(http::field::content_type, "application/timestamp-query");
  req.set(http::field::accept, "application/timestamp-reply");
  req.body().assign(query.begin(), query.end());
  req.prepare_payload();
  http::response_parser<http::string_body> parser;
  parser.body_limit(1 << 20);

  beast::error_code result = asio::error::timed_out;
  asio::ip::tcp::resolver resolver(ioc);
  stream.expires_after(timeout_);
  resolver.async_resolve(host_, port_, [&](beast::error_code ec, asio::ip::tcp::resolver::results_type r) {
    if (ec) {
      result = ec;
      return;
    }
    stream.async_connect(r, [&](beast::error_code ec2, const auto&) {
      if (ec2) {
        result = ec2;
        return;
      }
      http::async_write(stream, req, [&](beast::error_code ec3, std::size_t) {
        if (ec3) {
          result = ec3;
          return;
        }
        http::async_read(stream, buffer, parser, [&](beast::error_code ec4, std::size_t) { result = ec4; });
      });
    });
  });
  ioc.run_for(timeout_ + std::chrono::seconds(1));
  if (result) throw Error(Errc::unavailable, "time-stamp authority " + host_ + ":" + port_ + ": " + result.message());
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
