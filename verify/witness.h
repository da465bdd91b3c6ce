// The checks of a C2SP tlog-witness (https://c2sp.org/tlog-witness) for one
// add-checkpoint request, apart from HTTP: tools/evidence-witness serves them, and the
// tests drive them directly too. The caller holds the witness's lock, and saves the
// state durably (store/witness_state.h) before it sends a 200 answer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "store/witness_state.h"
#include "verify/signed_note.h"

namespace evidence::witness {

struct Answer {
  int status = 200;  // 200, 400, 403, 404, 409 or 422 (the protocol's codes)
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;          // 200: the cosignature line; 409: "<size>\n"; else a reason
  bool state_changed = false;  // on 200: `state` now holds the new checkpoint
};

// At most this many consistency-proof lines (the protocol's limit).
constexpr std::size_t kMaxProofLines = 63;

// Checks `request` (the POST body: "old N\n", proof lines, "\n", a signed checkpoint)
// against `state` and, when every check passes, records the checkpoint in `state` and
// answers with a cosignature by `key` named state.name at `now` (POSIX seconds):
//  - 400: malformed body, or old size above the checkpoint's size;
//  - 404: the checkpoint's origin is not a log this witness knows;
//  - 403: no signature on it verifies with the log's keys;
//  - 409 (text/x.tlog.size, body the latest cosigned size): old size is not the size
//    last cosigned, or the same size with another root (a fork);
//  - 422: the consistency proof does not verify.
Answer add_checkpoint(std::string_view request, WitnessState& state, const note::Ed25519Key& key,
                      std::uint64_t now);

}  // namespace evidence::witness
