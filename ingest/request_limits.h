// The limits every request is parsed under (ingest/server.cpp), in one place so the
// fuzz target for chunked bodies (fuzz/fuzz_http_chunked.cpp) runs the parser exactly
// as the daemon does.
#pragma once

#include <cstddef>

#include "ingest/options.h"

namespace evidence::ingest {

// The header limit Beast's parser enforces; also the most a chunked body's trailer may
// hold. Beast copies each header or trailer field into the message, whose fields throw
// std::length_error past 65,535 bytes: a limit above that could end the process.
inline std::size_t header_limit(const ServeOptions& o) { return o.max_header_bytes < 60000 ? o.max_header_bytes : 60000; }

// The connection's read buffer. Beast needs a chunked body's whole trailer in it at
// once, so its size bounds the trailer; the slack over the header limit keeps a
// header past the limit a header_limit error rather than a buffer overflow.
inline std::size_t connection_buffer_limit(const ServeOptions& o) { return header_limit(o) + 4096; }

}  // namespace evidence::ingest
