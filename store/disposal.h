// Carrying out dispositions (DESIGN.md, "Lifecycle"), once for every engine, over
// Index::write and BlobStore::remove. Crash safety is by order:
//   1. one Index::write marks every item disposed (tombstone), appends the
//      `dispose_approve` entry and one `dispose` entry per item, and sets the
//      disposition done: all of it commits, or none (the items stay live);
//   2. only after that commit are blobs deleted: an item's content once no live item
//      shares it, and its poster frame (derived kind "thumbnail", a blob named by
//      its hex) once no live item uses it as content or poster frame. Segment tables
//      and media records are index values, not blobs; clips and redactions are
//      items in their own right, disposed of only by their own disposition.
// A crash between 1 and 2 leaves disposed items whose blobs are still there;
// reap_disposed_blobs (run at start and from time to time) finishes the deletions and
// is idempotent. On S3 a blob whose Object Lock has not expired stays (reported as
// locked) and a later reap deletes it.
//
// Custody entries (all carry detail {"disposition": ID}): `dispose_request` when a
// disposition is requested, `dispose_approve` or `dispose_reject` when it is decided,
// and one `dispose` per item (with `evidence`). The audit (verify/audit_disposals.cpp)
// replays them: each `dispose` needs an earlier request and an approval by a different
// admin.
//
// Not checked here (the routes do it first and answer 409/403): that each item is due
// (LifecycleIndex::due), not permanent and not on legal hold.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "store/blob_store.h"
#include "store/index.h"

namespace evidence {

inline constexpr const char* kDisposeRequestAction = "dispose_request";
inline constexpr const char* kDisposeApproveAction = "dispose_approve";
inline constexpr const char* kDisposeRejectAction = "dispose_reject";
inline constexpr const char* kDisposeAction = "dispose";

// Who acts: a user name and role name ("admin").
struct Actor {
  std::string name;
  std::string role;
};

// A lifecycle custody entry: action, actor, time `now` (RFC 3339 UTC), detail
// {"disposition": disposition_id}, and `evidence` when given.
CustodyEvent disposal_event(const std::string& action, const Actor& actor, const std::string& disposition_id,
                            const std::string& now, const std::string& evidence = {});

// Stores a new pending disposition of `items` with its `dispose_request` entry, in one
// commit, and returns it. Error(invalid_argument) for no items, an item named twice,
// or a requester who is not an admin; Error(not_found) naming an unknown item;
// Error(conflict) naming an item already disposed of.
Disposition request_disposition(Index& index, const std::vector<std::string>& items, const std::string& reason,
                                const Actor& requester, const std::string& now);

// Ends a pending disposition as rejected, with its `dispose_reject` entry, in one
// commit. Error(not_found) for an unknown id, Error(conflict) when it is not pending,
// Error(permission_denied) when the decider is not an admin.
Disposition reject_disposition(Index& index, const std::string& disposition_id, const Actor& decider,
                               const std::string& now);

// What a reap did with each blob it considered.
struct ReapReport {
  std::vector<ContentId> removed;      // deleted now
  std::vector<ContentId> absent;       // already gone (a previous reap, or by hand)
  std::vector<ContentId> shared;       // kept: a live item still uses it
  std::vector<std::pair<ContentId, std::string>> locked;  // kept: backend lock, until
  std::vector<std::string> errors;     // storage failures; the next reap retries
};

struct ExecutedDisposition {
  Disposition disposition;             // as stored: state done
  std::vector<std::uint64_t> entries;  // log indexes: dispose_approve, then one dispose per item
  ReapReport blobs;
};

// Approves and carries out a pending disposition (steps 1 and 2 above) at `now`.
// Error(not_found) for an unknown id or item; Error(conflict) when the disposition is
// not pending or an item is already disposed of (nothing is changed);
// Error(permission_denied) when the approver is not an admin or is the requester
// (four eyes; the message says "four_eyes"). Blob failures do not throw: they are in
// the result's `blobs`, and reap_disposed_blobs retries them.
// `between`, when given, is called after step 1's commit and before any blob is
// deleted (the daemon's crash tests stop the process there).
ExecutedDisposition execute_disposition(Index& index, BlobStore& blobs, const std::string& disposition_id,
                                        const Actor& approver, const std::string& now,
                                        const std::function<void()>& between = {});

// Finishes blob deletions for every disposed item (after a crash, or when an S3 lock
// has expired). Idempotent. Cost: reads every disposed item, and when any has a poster
// frame, every live item's poster frame once.
// Ingest must not store new content while a reap runs (the caller serialises them):
// a new item sharing a blob checked as dead a moment before would lose its content.
ReapReport reap_disposed_blobs(Index& index, BlobStore& blobs);

}  // namespace evidence
