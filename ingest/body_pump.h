// Moves a request body into a sink (hash + write) with the two halves overlapped:
// while one piece is hashed and written on the stream workers, the next piece is
// read from the socket. On a 2-core machine this puts SHA-256 on one core and the
// socket copy on the other, instead of doing them one after the other.
#pragma once

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/multiple_exceptions.hpp>
#include <cstdint>
#include <exception>
#include <span>
#include <vector>

#include "ingest/http.h"

namespace evidence::ingest {

// Reads `body` to its end in pieces of `chunk` bytes and calls sink(piece) for each,
// in order, on `w`. Returns when every piece has been through the sink. A sink
// exception (e.g. the disk is full) wins over a read error on the same piece; a
// read error (ClientGone, 413) propagates after the sink has finished the piece in
// hand, so the sink always knows exactly which pieces it saw.
template <class Sink>
Task<void> pump_body(BodySource& body, Workers& w, std::size_t chunk, Sink& sink) {
  using namespace asio::experimental::awaitable_operators;
  std::vector<std::uint8_t> a(chunk), b(chunk);
  std::size_t n = co_await body.read(a);
  while (n > 0) {
    const std::span<const std::uint8_t> piece(a.data(), n);
    if (body.done()) {
      co_await blocking(w, [&sink, &piece] { sink(piece); });
      break;
    }
    // Both run to completion (the parallel group waits for both even when one
    // fails), so neither buffer is touched after this statement.
    try {
      n = co_await (blocking(w, [&sink, &piece] { sink(piece); }) && body.read(b));
    } catch (const asio::multiple_exceptions& e) {
      std::rethrow_exception(e.first_exception());  // the sink's
    }
    a.swap(b);
  }
}

}  // namespace evidence::ingest
