// Which keys a receipt is checked with. An explicit --log-key / --tsa-ca wins; else
// the key pinned for the checkpoint's origin at first use (known_logs.json in the
// config folder); else the key the receipt (or the server's GET /keys) offers, which
// is then pinned once a receipt verifies with it. A later receipt signed by another
// key for a pinned origin fails: that is the point of pinning.
#pragma once

#include <boost/json/object.hpp>
#include <filesystem>
#include <optional>
#include <string>

#include "verify/receipt.h"

namespace evidencectl {

class Http;

struct TrustOptions {
  std::optional<std::string> tsa_ca_pem;  // PEM text (not a path)
  std::optional<std::string> log_key;     // C2SP verifier key string
  std::filesystem::path known_logs;       // default: config_dir()/known_logs.json
};

// Checks `receipt` against `file`. `online` (may be null) is asked for GET /keys when
// nothing is pinned and the receipt carries no keys.
evidence::ReceiptCheck check_receipt(const boost::json::object& receipt, const std::filesystem::path& file,
                                     const TrustOptions& trust, Http* online);

// Lines for a person: "ok   content: ..." / "FAIL timestamp: ...".
void print_receipt_check(const evidence::ReceiptCheck& check, bool to_stderr);

// Reads a file given as --tsa-ca (Failure(kCannotRun) when unreadable or not PEM).
std::string read_pem_file(const std::filesystem::path& file);

}  // namespace evidencectl
