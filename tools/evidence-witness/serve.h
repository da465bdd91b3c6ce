// `evidence-witness serve`: the HTTP side of the witness (Beast, synchronous, one
// thread per connection). Every add-checkpoint is checked and, on success, saved
// durably under one mutex before the answer goes out (verify/witness.h).
#pragma once

#include <string>

#include "store/witness_state.h"

namespace evidence::witness {

// Serves until SIGTERM or SIGINT; prints "listening on http://HOST:PORT" once bound.
// Returns the exit code.
int serve(const WitnessDir& dir, const std::string& listen);

}  // namespace evidence::witness
