// `evidenced serve`: the HTTP(S) server on Asio + Beast.
#pragma once

#include "ingest/options.h"

namespace evidence::ingest {

// Opens the instance under options.data_dir, binds, prints
// "listening on http://HOST:PORT" (https with TLS) on stdout, and serves until
// SIGTERM or SIGINT. Then it stops accepting, lets requests in flight finish within
// options.shutdown_deadline, signs a final checkpoint and returns 0.
// Throws evidence::Error when the instance cannot be opened or the address bound.
int serve(const ServeOptions& options);

}  // namespace evidence::ingest
