// Moves a request body into a sink (hash + write) with the two halves overlapped:
// while one piece is hashed and written on the stream workers, the next piece is
// read from the socket. On a 2-core machine this puts SHA-256 on one core and the
// socket copy on the other, instead of doing them one after the other.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <cstdint>
#include <exception>
#include <optional>
#include <span>
#include <vector>

#include "ingest/http.h"

namespace evidence::ingest {

namespace detail {

// One sink call running on the workers while the coroutine goes on; finish() waits
// for it and rethrows what it threw. Nothing is ever cancelled: the call always
// runs to its end, so the caller knows exactly which pieces the sink has seen.
class SinkCall {
 public:
  template <class Sink>
  SinkCall(asio::any_io_executor home, Workers& w, Sink& sink, std::span<const std::uint8_t> piece)
      : home_(home), timer_(home, asio::steady_timer::time_point::max()), w_(w) {
    ++w_.in_flight;
    asio::post(w_.pool, [this, &sink, piece] {
      std::exception_ptr ex;
      try {
        sink(piece);
      } catch (...) {
        ex = std::current_exception();
      }
      // Back on the coroutine's executor, so done_ and error_ need no lock.
      asio::post(home_, [this, ex] {
        error_ = ex;
        done_ = true;
        timer_.cancel();
      });
    });
  }
  SinkCall(const SinkCall&) = delete;
  SinkCall& operator=(const SinkCall&) = delete;
  ~SinkCall() { --w_.in_flight; }

  Task<void> finish() {
    if (!done_) co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (error_) std::rethrow_exception(error_);
  }

 private:
  asio::any_io_executor home_;
  asio::steady_timer timer_;
  Workers& w_;
  std::exception_ptr error_;
  bool done_ = false;
};

}  // namespace detail

// Reads `body` to its end in pieces of `chunk` bytes and calls sink(piece) for each,
// in order, on `w`. Returns when every piece has been through the sink. A sink
// exception (e.g. the disk is full) wins over a read error on the next piece; a
// read error (ClientGone, 413) propagates only after the sink has finished the piece
// in hand, so the sink always knows exactly which pieces it saw.
template <class Sink>
Task<void> pump_body(BodySource& body, Workers& w, std::size_t chunk, Sink& sink) {
  const auto home = co_await asio::this_coro::executor;
  std::vector<std::uint8_t> a(chunk), b(chunk);
  std::size_t n = co_await body.read(a);
  while (n > 0) {
    detail::SinkCall call(home, w, sink, std::span<const std::uint8_t>(a.data(), n));
    std::exception_ptr read_error;
    std::size_t next = 0;
    if (!body.done()) {
      try {
        next = co_await body.read(b);
      } catch (...) {
        read_error = std::current_exception();
      }
    }
    co_await call.finish();  // the SinkCall must outlive the call on the workers
    if (read_error) std::rethrow_exception(read_error);
    n = next;
    a.swap(b);
  }
}

}  // namespace evidence::ingest
