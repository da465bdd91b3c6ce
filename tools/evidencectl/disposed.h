// What a server says about an item that has been disposed of (DESIGN.md, "Lifecycle:
// retention, disposition, deadlines"), for verify-receipt: a receipt stays valid
// after its item's content is deleted, and the tool says so plainly instead of
// failing on the missing file.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "tools/evidencectl/http.h"
#include "verify/receipt.h"

namespace evidencectl {

struct DisposedItem {
  std::string id;
  std::string at;            // RFC 3339
  std::string disposition;   // its id
  std::string requested_by;  // the first admin
  std::string approved_by;   // the second
  std::string reason;
  std::optional<std::uint64_t> dispose_entry;  // log index of the item's `dispose` entry
  std::optional<std::uint64_t> approve_entry;  // of the disposition's `dispose_approve` (admins, auditors)

  boost::json::object to_json() const;
  // "ID was disposed of on DATE by disposition D, requested by A and approved by B
  // (log entries: approval M, dispose N); reason: R"
  std::string describe() const;
};

// GET /evidence/{id}: nullopt while the item is live; else its `disposed` block and,
// from GET /evidence/{id}/custody, the index of its `dispose` entry, and when the token
// may read GET /dispositions/{id}, that of the approval (written in the same commit
// just before the items' `dispose` entries, in the disposition's order).
// Failure(kCannotRun) when the server does not answer or does not know the item.
std::optional<DisposedItem> fetch_disposed(Http& http, const std::string& evidence_id);

// With a server (--server / EVIDENCE_SERVER), fetch_disposed for the receipt's
// evidence_id; nullopt without a server, for a receipt without an id, or a live item.
// A server that cannot be asked is Failure(kCannotRun) when `needed` (no FILE to check
// instead), else a note on stderr and nullopt (the offline check goes on).
std::optional<DisposedItem> receipt_item_disposed(const Globals& g, const boost::json::object& receipt, bool needed);

// For a receipt checked without its file: the content check is not a failure when
// the item was disposed of (its content is gone for good); the other checks stand.
void excuse_missing_content(evidence::ReceiptCheck& check, const DisposedItem& d);

}  // namespace evidencectl
