// The request body as the handlers read it (BodySource, body_pump.h), over Beast's
// parser and the connection's stream. A template on the stream type (plain TCP or
// TLS), so it lives in a header; only server.cpp includes it.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstring>
#include <optional>

#include "ingest/http.h"
#include "ingest/options.h"

namespace evidence::ingest {

template <class Stream>
auto& lowest(Stream& s) {
  return boost::beast::get_lowest_layer(s);
}

// The request body. A body with a Content-Length (every upload our clients send)
// is read straight from the socket into the caller's buffer, up to the buffer's
// size per read: Beast's parser would read it in pieces of at most 64 KiB into its
// own buffer and copy them out, which dominated the cost of a loopback upload.
// Chunked bodies go through Beast's parser (it removes the chunk framing).
template <class Stream>
class ParserBody final : public BodySource {
 public:
  ParserBody(Stream& s, boost::beast::flat_buffer& b, http::request_parser<http::buffer_body>& p, const ServeOptions& o)
      : s_(s), b_(b), p_(p), o_(o) {
    if (p_.is_done()) return;  // no body at all
    if (auto cl = p_.content_length(); cl && !p_.chunked()) remaining_ = *cl;
  }

  Task<std::size_t> read(std::span<std::uint8_t> out) override {
    if (done() || out.empty()) co_return 0;
    if (expect_continue_ && !sent_continue_) {
      sent_continue_ = true;
      http::response<http::empty_body> cont{http::status::continue_, 11};
      lowest(s_).expires_after(o_.write_timeout);
      auto [ec, n] = co_await http::async_write(s_, cont, boost::asio::as_tuple(boost::asio::use_awaitable));
      if (ec) throw ClientGone{"writing 100-continue: " + ec.message()};
    }
    if (remaining_) co_return co_await read_raw(out);
    for (;;) {
      p_.get().body().data = out.data();
      p_.get().body().size = out.size();
      lowest(s_).expires_after(o_.body_timeout);
      auto [ec, n] = co_await http::async_read_some(s_, b_, p_, boost::asio::as_tuple(boost::asio::use_awaitable));
      const std::size_t got = out.size() - p_.get().body().size;
      p_.get().body().data = nullptr;
      if (ec == http::error::need_buffer) ec = {};
      if (ec == http::error::body_limit) {
        throw HttpError{http::status::payload_too_large, "body_too_large", "the request body exceeds this route's limit"};
      }
      // The connection's buffer is capped (run_session), and Beast needs a chunked
      // body's whole trailer in it: a trailer past the cap ends up here.
      if (ec == http::error::buffer_overflow || ec == http::error::header_limit) {
        throw HttpError{http::status::request_header_fields_too_large, "headers_too_large",
                        "the chunked body's trailer or chunk header is too large"};
      }
      if (ec == http::error::bad_chunk || ec == http::error::bad_chunk_extension || ec == http::error::bad_field ||
          ec == http::error::bad_value || ec == http::error::bad_line_ending || ec == http::error::bad_obs_fold) {
        throw HttpError{http::status::bad_request, "bad_request", "malformed chunked body: " + ec.message()};
      }
      if (ec) throw ClientGone{"reading body: " + ec.message()};
      if (got > 0 || p_.is_done()) co_return got;
    }
  }
  // True once the whole body has been read: only then may the connection carry
  // another request.
  bool done() const override { return remaining_ ? *remaining_ == 0 : p_.is_done(); }
  void set_limit(std::uint64_t bytes) override {
    if (!remaining_) {
      p_.body_limit(bytes);
    } else if (*remaining_ > bytes) {
      throw HttpError{http::status::payload_too_large, "body_too_large", "the request body exceeds this route's limit"};
    }
  }
  void expect_continue(bool on) { expect_continue_ = on; }

 private:
  Task<std::size_t> read_raw(std::span<std::uint8_t> out) {
    std::uint64_t& left = *remaining_;
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(left, out.size()));
    std::size_t got = 0;
    if (b_.size() > 0) {  // bytes that arrived with the header
      got = std::min(want, b_.size());
      std::memcpy(out.data(), b_.data().data(), got);
      b_.consume(got);
    } else {
      lowest(s_).expires_after(o_.body_timeout);
      auto [ec, n] = co_await s_.async_read_some(asio::buffer(out.data(), want), boost::asio::as_tuple(boost::asio::use_awaitable));
      if (ec) throw ClientGone{"reading body: " + ec.message()};
      got = n;
    }
    left -= got;
    co_return got;
  }

  Stream& s_;
  boost::beast::flat_buffer& b_;
  http::request_parser<http::buffer_body>& p_;
  const ServeOptions& o_;
  std::optional<std::uint64_t> remaining_;  // set for Content-Length bodies
  bool expect_continue_ = false;
  bool sent_continue_ = false;
};

}  // namespace evidence::ingest
