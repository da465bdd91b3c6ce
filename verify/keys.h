// The instance's keys: the Ed25519 log-signing key and the embedded TSA, created
// once by `evidenced init` and loaded by `serve` and `verify`.
#pragma once

#include <memory>
#include <string>

#include "store/layout.h"
#include "verify/signed_note.h"

namespace evidence {

// Creates keys under layout.keys_dir() (mode 0700; private keys 0600). `log_name`
// is the checkpoint origin and the note signer name (e.g. "evidence.local/<id>").
// Refuses to replace existing keys (Error(already_exists)).
void create_instance_keys(const Layout& layout, const std::string& log_name);

struct LogSigner {
  std::string name;       // origin and signer name
  note::Ed25519Key key;
  note::Verifier verifier() const;
};
LogSigner load_log_signer(const Layout& layout);
// The verifier alone (for read-only audits that must not need the private key).
note::Verifier load_log_verifier(const Layout& layout);

}  // namespace evidence
