// Moves a request body into a sink (hash + write) with the two halves overlapped:
// while earlier pieces are hashed and written on the stream workers, the next piece
// is read from the socket. On a 2-core machine this puts SHA-256 on one core and the
// socket copy on the other, instead of doing them one after the other; a few pieces
// in flight smooth out the moments when one side is slower than the other.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <atomic>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <span>
#include <vector>

#include "ingest/http.h"

namespace evidence::ingest {

namespace detail {

// One piece on its way through the sink. The call always runs to its end (or is
// skipped because an earlier piece failed), never cancelled, so the caller knows
// exactly which pieces the sink has seen; finish() waits for it and rethrows what
// it threw.
class SinkCall {
 public:
  template <class Sink, class Strand>
  SinkCall(asio::any_io_executor home, Strand& order, Workers& w, Sink& sink, std::vector<std::uint8_t> buffer,
           std::size_t n, std::shared_ptr<std::atomic<bool>> failed)
      : home_(home), timer_(home, asio::steady_timer::time_point::max()), w_(w), buffer_(std::move(buffer)) {
    ++w_.in_flight;
    // The strand runs the calls one at a time, in the order they were made.
    asio::post(order, [this, &sink, n, failed] {
      std::exception_ptr ex;
      if (!*failed) {
        try {
          sink(std::span<const std::uint8_t>(buffer_.data(), n));
        } catch (...) {
          ex = std::current_exception();
          *failed = true;
        }
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
  std::vector<std::uint8_t> take_buffer() { return std::move(buffer_); }

 private:
  asio::any_io_executor home_;
  asio::steady_timer timer_;
  Workers& w_;
  std::vector<std::uint8_t> buffer_;
  std::exception_ptr error_;
  bool done_ = false;
};

}  // namespace detail

// Reads `body` to its end in pieces of up to `chunk` bytes and calls sink(piece) for
// each, in order, on `w` (at most `depth` pieces waiting or in the sink while the next
// is read). Returns when every piece has been through the sink. The first sink
// exception (e.g. the disk is full) is rethrown and the pieces after it are not
// given to the sink; a read error (ClientGone, 413) is rethrown only after every
// piece read before it has been through the sink, so the sink always knows exactly
// which bytes it saw.
template <class Sink>
Task<void> pump_body(BodySource& body, Workers& w, std::size_t chunk, Sink& sink, std::size_t depth = 4) {
  const auto home = co_await asio::this_coro::executor;
  auto order = asio::make_strand(w.pool);
  auto failed = std::make_shared<std::atomic<bool>>(false);
  std::deque<std::unique_ptr<detail::SinkCall>> in_flight;
  std::vector<std::vector<std::uint8_t>> spare;
  std::exception_ptr error;
  for (;;) {
    std::vector<std::uint8_t> buf;
    if (!spare.empty()) {
      buf = std::move(spare.back());
      spare.pop_back();
    } else {
      buf.resize(chunk);
    }
    std::size_t n = 0;
    try {
      n = co_await body.read(buf);
    } catch (...) {
      error = std::current_exception();
    }
    if (error || n == 0) break;
    in_flight.push_back(std::make_unique<detail::SinkCall>(home, order, w, sink, std::move(buf), n, failed));
    if (body.done()) break;
    if (in_flight.size() >= depth || *failed) {
      try {
        co_await in_flight.front()->finish();
      } catch (...) {
        error = std::current_exception();
      }
      spare.push_back(in_flight.front()->take_buffer());
      in_flight.pop_front();
      if (error) break;
    }
  }
  // Every call made must end before the calls (and their buffers) go away.
  std::exception_ptr sink_error;
  while (!in_flight.empty()) {
    try {
      co_await in_flight.front()->finish();
    } catch (...) {
      if (!sink_error) sink_error = std::current_exception();
    }
    in_flight.pop_front();
  }
  if (sink_error) std::rethrow_exception(sink_error);
  if (error) std::rethrow_exception(error);
}

}  // namespace evidence::ingest
