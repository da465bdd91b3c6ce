// A request with a chunked body, parsed as the daemon parses it: Beast's parser with
// the daemon's header limit, its capped connection buffer (ingest/request_limits.h)
// and a route's body limit, fed the way Beast's read_some feeds it. Contract: every
// input ends in a finished message or an error code; an exception (a trailer field
// past 64 KiB once threw std::length_error and ended the daemon) aborts.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "ingest/request_limits.h"

namespace http = boost::beast::http;
using evidence::ingest::ServeOptions;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const ServeOptions opts;
  // The first two bytes pick how much arrives per socket read (1..65536).
  if (size < 2) return 0;
  const std::size_t per_read = 1 + ((std::size_t{data[0]} << 8 | data[1]) % 65536);
  data += 2;
  size -= 2;
  http::request_parser<http::buffer_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(evidence::ingest::header_limit(opts)));
  parser.body_limit(std::uint64_t{1} << 20);
  boost::beast::flat_buffer buffer(evidence::ingest::connection_buffer_limit(opts));
  std::vector<std::uint8_t> body(256 * 1024);
  std::size_t fed = 0;
  try {
    for (int rounds = 0; rounds < 1000000 && !parser.is_done(); ++rounds) {
      parser.get().body().data = body.data();
      parser.get().body().size = body.size();
      boost::system::error_code ec;
      if (buffer.size() > 0) {
        const std::size_t used = parser.put(buffer.data(), ec);
        buffer.consume(used);
        if (!ec || ec == http::error::need_buffer) continue;
        if (ec != http::error::need_more) return 0;  // a parse error: the daemon answers 400/413/431
      }
      // A socket read, as Beast's read_some does it: at most what the buffer has room for.
      const std::size_t room = buffer.max_size() - buffer.size();
      if (room == 0) return 0;  // buffer_overflow: 431
      if (fed == size) return 0;  // the client stopped: partial message
      const std::size_t n = std::min({per_read, room, size - fed});
      auto mb = buffer.prepare(n);
      std::memcpy(mb.data(), data + fed, n);
      buffer.commit(n);
      fed += n;
    }
  } catch (...) {
    std::abort();
  }
  return 0;
}
