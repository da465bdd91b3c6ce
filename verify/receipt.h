// Offline checking of an upload receipt (DESIGN.md, "Receipt") against the local file
// it is for. What a field officer's client runs before it reports success, and what
// `evidencectl verify-receipt RECEIPT FILE` runs for anyone later.
//
// A receipt is JSON: {"evidence_id", "sha256" (hex), "size", "cases", "officer",
// "device", "recorded_at", "received_at", "timestamp_token" (base64 DER
// TimeStampResp over the content's SHA-256), "log_index", "checkpoint" (C2SP signed
// note), "inclusion_proof" {"index","size","hashes":[base64]}, "log_entry" (base64 of
// the ingest custody entry's exact leaf bytes), "record" (base64 of the exact stored
// record bytes, since 0.3)} and optionally "tsa_ca_pem" and
// "log_key" (the server's own view of its keys: convenient, not independent).
#pragma once

#include <boost/json/object.hpp>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace evidence {

// One check with its verdict; `detail` says why it failed (or what it found).
struct ReceiptCheckItem {
  std::string name;  // content, timestamp, log_entry, record, inclusion_proof, checkpoint_signature
  bool ok = false;
  std::string detail;
};

struct ReceiptCheck {
  std::vector<ReceiptCheckItem> items;  // always all six, in the order above
  std::string origin;                   // the checkpoint's origin line ("" when unreadable)
  bool ok() const;
  const ReceiptCheckItem* find(const std::string& name) const;
  boost::json::object to_json() const;  // {"ok", "origin", "checks": [{"name","ok","detail"}]}
};

// Runs every check and reports each separately (one failure does not hide another):
// - content: the file's SHA-256 and size equal the receipt's;
// - timestamp: the token verifies (signature, chain to the TSA CA, timeStamping EKU)
//   and its imprint is the receipt's sha256. CA: `tsa_ca_pem`, else the receipt's
//   "tsa_ca_pem";
// - log_entry: "log_entry" decodes as an ingest custody entry for this evidence id
//   and, where it logs them (entries since 0.3), the receipt's sha256 and size;
// - record: "record" (base64 of the stored record bytes) hashes to the entry's
//   record_hash and names this id, sha256 and size; a receipt for an entry from
//   before 0.3 carries none and passes, saying so;
// - inclusion_proof: the entry's leaf hash, at log_index, proves into the
//   checkpoint's root with the checkpoint's tree size;
// - checkpoint_signature: the note is signed by `log_vkey` (C2SP verifier key
//   string), else by the receipt's "log_key".
// Never throws: malformed receipt fields and an unreadable file are failed checks, so
// callers always get one complete report.
ReceiptCheck verify_receipt(const boost::json::object& receipt, const std::filesystem::path& file,
                            const std::optional<std::string>& tsa_ca_pem,
                            const std::optional<std::string>& log_vkey);

// The origin line of the receipt's checkpoint, read without checking anything
// (to look up a pinned key); "" when there is none.
std::string receipt_log_origin(const boost::json::object& receipt);

}  // namespace evidence
