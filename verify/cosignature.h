// C2SP tlog-cosignature/v1 (https://c2sp.org/tlog-cosignature), Ed25519: what a
// witness signs over a checkpoint, and how a log, a monitor or a receipt checks it.
//
// A cosignature line is "— <witness name> base64(key id || u64 timestamp || sig)\n"
// where key id = SHA-256(name || 0x0A || 0x04 || public key)[:4], the timestamp is
// big-endian POSIX seconds, and sig is Ed25519 over
//   "cosignature/v1\ntime <timestamp>\n" || the checkpoint's note body.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "verify/signed_note.h"

namespace evidence::note {

// The exact bytes a cosigner signs for `body` (a checkpoint body ending in '\n').
std::string cosigned_message(std::string_view body, std::uint64_t timestamp);

// One signature line by the witness `name` holding `key`, over `body` at `timestamp`.
std::string cosign(std::string_view body, std::string_view name, const Ed25519Key& key, std::uint64_t timestamp);

// The witness's verifier key (type 0x04) for its name and key.
Verifier cosigner_verifier(std::string name, const Ed25519Key& key);

// Looks through the signature lines of `note` (text, blank line, signature lines) for
// a cosignature by `witness` (a type 0x04 verifier) over the note's text. Returns its
// timestamp when one verifies; nullopt when none is there, the note is malformed, or
// a line claiming the witness's key id does not verify.
std::optional<std::uint64_t> verify_cosignature(std::string_view note, const Verifier& witness);

// The first key in `witnesses` whose name or public key an earlier one already has, or
// nullptr: one witness named twice must not count twice toward a quorum.
const Verifier* repeated_witness(const std::vector<Verifier>& witnesses);

// The signature lines of a note (everything after its last blank line); empty when
// the note has none or is malformed.
std::string_view signature_lines(std::string_view note);

}  // namespace evidence::note
