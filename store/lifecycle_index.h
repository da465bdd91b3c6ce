// The lifecycle side of the index (DESIGN.md, "Lifecycle: retention, disposition,
// deadlines"), reads only: retention categories, each item's current category, the
// tombstones of disposed items, dispositions, and the two questions the routes and
// store/disposal.h ask (which items are due, whether content is still live). Writes
// go through WriteTxn (write_txn.h) so that each change commits with its custody
// entry. Engine-neutral; every engine passes tests/store/conformance_lifecycle.cpp.
//
// What the routes do on top (not here): role checks, --min-retention-days, raising a
// category to `evidence` on link, the 409 lists of POST /dispositions, four eyes
// (store/disposal.h checks it too), and legal hold: holds are derived data (kind
// "hold", ingest/api_hold.cpp) that ingest reads; due() does not look at them, so the
// caller drops held items from a due page and refuses to dispose of them.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "store/content_id.h"
#include "store/disposition.h"
#include "store/retention.h"

namespace evidence {

// One item past its retention.
struct DueItem {
  std::string id;
  std::string category;
  std::string retain_until;  // RFC 3339 UTC, before `now`
};
struct DuePage {
  std::vector<DueItem> items;  // in id (= received) order
  std::string next;  // opaque cursor for the next page; empty when there is no more
};
struct DispositionPage {
  std::vector<Disposition> items;  // newest first
  std::string next;  // opaque cursor for the next page; empty when there is no more
};

class LifecycleIndex {
 public:
  virtual ~LifecycleIndex() = default;

  // Every category, by name (bytewise). An index made before categories existed
  // answers with default_retention_categories() until a writable open adds them.
  virtual std::vector<RetentionCategory> retention_categories() const = 0;
  virtual std::optional<RetentionCategory> retention_category(const std::string& name) const = 0;

  // The item's current category: the one set after ingest (WriteTxn::
  // set_item_category), else the record's upload category, else "routine".
  // nullopt for an unknown item.
  virtual std::optional<std::string> item_category(const std::string& id) const = 0;

  // The tombstone of a disposed item; nullopt while it is live (or unknown).
  virtual std::optional<Disposed> disposed(const std::string& id) const = 0;
  // Every disposed item's id, in id order (for reap_disposed_blobs and the audit).
  virtual std::vector<std::string> disposed_items() const = 0;

  virtual std::optional<Disposition> get_disposition(const std::string& id) const = 0;
  // Newest first. `limit` is clamped to 1..1000; `cursor` is a previous page's next.
  // Error(invalid_argument) for a bad cursor.
  virtual DispositionPage dispositions(std::size_t limit, const std::string& cursor = {}) const = 0;

  // Items whose retain_until (from received_at and the item's current category) is
  // before `now` (RFC 3339), that are not permanent and not disposed. Legal holds
  // are not looked at (see above). An item whose category is not stored is never
  // due. `limit` clamped to 1..1000; Error(invalid_argument) for a bad cursor or
  // `now`. Cost: the LMDB engine scans records from the cursor on (linear in the
  // items after it); a time-ordered retention index would make it proportional to
  // the answer.
  virtual DuePage due(const std::string& now, std::size_t limit, const std::string& cursor = {}) const = 0;

  // Whether any item that is not disposed has this content (several items may share
  // one blob: the blob may be deleted only when this is false).
  virtual bool content_live(const ContentId& sha256) const = 0;
};

}  // namespace evidence
