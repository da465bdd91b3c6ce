// The lifecycle of items as the daemon sees it (DESIGN.md, "Lifecycle: retention,
// disposition, deadlines"): the rules new items get at ingest (category, upload
// deadline), the record's retention JSON, refusing the content of disposed items,
// raising the category on a case link, and blob reaps. The store does the data side
// (store/lifecycle_index.h, store/disposal.h); the routes are in api_lifecycle.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "ingest/api.h"
#include "ingest/http.h"
#include "ingest/ingest_pipeline.h"
#include "store/blob_store.h"
#include "store/index.h"

namespace evidence::ingest {

// Blob deletions against new commits: every commit of a new item holds it shared from
// its check that the blob is there to its index commit; disposal and reaps, which
// delete blobs no live item has, hold it exclusively. So a blob a new item shares is
// never deleted under it (store/disposal.h asks the caller for this).
using BlobGate = std::shared_mutex;

// Serialises changes of items' categories (PUT retention, case links) and
// dispositions' checks, so a decision sees the category it acts on.
std::mutex& category_mutex();

// 410 `disposed` when the item has been disposed of (its content is gone for good).
void refuse_if_disposed(const Index& index, const std::string& id);

// Adds "retention": {"category", "retain_until"} (null when permanent) and, for a
// disposed item, "disposed": {"at", "disposition", "requested_by", "approved_by",
// "reason"} to a record's JSON.
void add_lifecycle_json(const Index& index, const EvidenceRecord& rec, json::object& o);

// 400 `unknown_category` unless the category named in the metadata is stored.
void check_upload_category(const Index& index, const IngestMeta& meta);
// The category a new item's record names: the upload's (checked as above), raised to
// `evidence` when the upload names a case and the category is not permanent.
std::string ingest_category(const Index& index, const IngestMeta& meta);

// The Object Lock date new content for this upload is written with (BlobWriter::
// lock_until, BlobStore::adopt_file_locked): now + the category's days, at least a
// minute ahead (a lock must end in the future); nullopt for a permanent category (the
// backend's long default). 400 for an unknown category, as ingest_category. Blocks.
std::optional<std::chrono::system_clock::time_point> upload_lock_until(const Index& index, const IngestMeta& meta);

// Raises the Object Lock of the item's stored version (BlobStore::object_locks) to
// its retain_until, or to the backend's long default when its category is permanent;
// never shortens. Call after an index commit that gave the item a (longer) retention:
// its ingest (retain_until is counted from received_at, known only then), a category
// change, a case link. A no-op for backends without locks and for dates already past.
// Never throws: the item's due date, not the lock, is what keeps it from disposal;
// a failure is logged. Blocks.
void extend_blob_lock(const Index& index, BlobStore& blobs, const EvidenceRecord& rec);

// After a category's days change: extend_blob_lock for every live item in it, so that
// bytes stay locked as long as the category now keeps them (longer only). Returns how
// many items were in the category. Without an Object Lock backend, does nothing.
std::size_t relock_category(const Index& index, BlobStore& blobs, const std::string& category);

// Whether an item recorded at `recorded_at` and received at `received_at` (RFC 3339)
// arrived after the deadline. false when either does not parse.
bool is_late(const std::string& recorded_at, const std::string& received_at, std::chrono::seconds deadline);
// "24h", "90m", "30s", "2d", "0s" or a bare number of seconds; nullopt when malformed.
std::optional<std::chrono::seconds> parse_deadline(std::string_view text);

// Links the item to the case with its `link` entry and, when the item's category is
// not permanent, sets it to `evidence` with a `retention` entry, in one commit.
// 409 `disposed` for a disposed item. Returns the link entry's index. Blocks.
std::uint64_t link_case_raising(Index& index, const AuthUser& who, const std::string& id,
                                const std::string& case_number, const CustodyEvent& link_event);

// reap_disposed_blobs under the gate, with a log line when it did or kept anything.
// Blocks. Never throws (failures are logged; the next reap retries).
void reap_blobs(Index& index, BlobStore& blobs, BlobGate& gate);

// api_lifecycle.cpp: /retention/..., /evidence/{id}/retention, /dispositions,
// /reports/late.
struct LifecycleApi {
  Index& index;
  Workers& workers;
  BlobStore& blobs;
  BlobGate& gate;
  std::mutex& hold_mutex;  // api_hold.cpp's: no hold changes while a disposition is decided
  const CursorSealer& cursors;
  unsigned min_retention_days;
};
void add_lifecycle_routes(Routes& routes, LifecycleApi api);

}  // namespace evidence::ingest
