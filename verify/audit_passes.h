// Internal to the audit (audit*.cpp): the passes, each in its own file, sharing the
// report they add findings to. Not for other callers; use verify/audit.h.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "store/records.h"
#include "verify/audit.h"

namespace evidence::audit_detail {

void add_problem(AuditReport& r, Problem p);
void add_hint(AuditReport& r, Problem p);
void check_cancel(const std::atomic<bool>* cancel);
// A finding about item `id`.
Problem item_problem(const std::string& id, ProblemKind kind, std::string detail);

// What the log pass learned that the item passes need: the ingest entries by the
// evidence they name, read straight from the leaves (not from the index's
// entries_for_evidence, so an edited index cannot hide an entry).
struct IngestEntry {
  std::uint64_t index = 0;
  std::string record_hash;  // hex, as in the entry
  // Since 0.3 the entry also names the content itself (absent in older entries).
  std::optional<std::string> sha256;
  std::optional<std::uint64_t> size;
};
// Case number -> the items in it.
using Membership = std::map<std::string, std::set<std::string>>;
// An entry that changes membership: ingest (the item joins the entry's "case" and
// every case its record lists: the record's bytes are bound to the entry by
// record_hash), link, unlink.
struct MembershipEvent {
  std::uint64_t index = 0;
  std::string action;
  std::string item;
  std::optional<std::string> case_number;
  std::optional<std::string> record_hash;  // ingest
};
// Appends `ev` (at log position `at`) to `out` when it changes membership.
void note_membership(std::uint64_t at, const CustodyEvent& ev, std::vector<MembershipEvent>& out);

// A lifecycle entry (store/disposal.h's actions), as the log has it.
struct DisposalEntry {
  std::uint64_t index = 0;
  std::string action;       // dispose_request, dispose_approve, dispose_reject, dispose
  std::string actor, role;
  std::string evidence;     // dispose only
  std::string disposition;  // detail.disposition; empty when absent
};

// A `review` entry (store/review_index.h), as the log has it; a field the entry lacks
// is empty.
struct ReviewEntry {
  std::uint64_t index = 0;
  std::string case_number;
  std::string review;       // detail.review: the review's id
  std::string record_hash;  // hex SHA-256 of the review's stored bytes
};

struct LogFacts {
  std::unordered_map<std::string, std::vector<IngestEntry>> ingest;
  std::vector<DisposalEntry> disposals;  // in log order
  std::vector<ReviewEntry> reviews;      // in log order
  // Items a `dispose` entry names, with the index of the first such entry: their
  // absent blobs are not blob_missing (the disposal pass judges the entries).
  std::unordered_map<std::string, std::uint64_t> disposed;
  std::vector<MembershipEvent> membership;  // in log order
  std::uint64_t entries = 0;
  bool complete = true;  // false when entries are missing (already log_inconsistent)
};

// Pass 8: the index's case membership (for the scope) equals the log's replay; each
// difference is a problem `case_membership` naming the case and the item. Entries
// appended after the log pass (a running daemon) are replayed before judging.
void check_membership(const Index& index, LogFacts& log, const AuditScope& scope, AuditReport& report);

// Pass 6 (and the checkpoint half of pass 7): entries, recomputed roots, stored tree,
// checkpoints (signature, root, size, consistency, root timestamp).
LogFacts check_log(const Index& index, const note::Verifier& verifier, const std::string& tsa_ca_pem,
                   AuditReport& report, const std::atomic<bool>* cancel);

// Pass 4: one distinct blob to re-hash and what the records expect of it.
struct HashTask {
  ContentId id;
  std::uint64_t expected_size = 0;  // the largest size any record claims (sizes are
                                    // compared per record afterwards)
  std::string version;              // object-store version id from the record, if any
};
struct HashResult {
  enum class Status { ok, mismatch, unreadable, missing } status = Status::ok;
  ContentId actual;        // for mismatch
  std::uint64_t size = 0;  // bytes actually read
  std::string error;       // for unreadable / missing
  bool transient = false;  // the first attempt failed, the retry succeeded
  std::string first_error;
};
// Hashes every task's blob in parallel (options.threads workers, options.read_size
// reads, one buffer per worker); results in the order of `tasks`. Adds the bytes
// hashed to `bytes_hashed`.
std::vector<HashResult> rehash(BlobStore& blobs, const std::vector<HashTask>& tasks,
                               const AuditOptions& options, std::uint64_t& bytes_hashed);

// For a damaged media item: re-hashes the segment table's ranges of `blob` and returns
// the time range covering the damaged ones that have a time (nullopt when the table
// is unusable or no timed segment differs). `detail` gets a short description when
// any segment differs.
std::optional<std::pair<double, double>> damaged_segment(BlobStore& blobs, const HashTask& blob,
                                                         const std::string& segments_json,
                                                         std::string& detail);

// An item in scope whose record decoded (passes 1 and 5), for the passes after.
struct AuditItem {
  std::string id;
  EvidenceRecord record;
};

// What one run_audit shares between its passes: its inputs, the report they add
// findings to, and what earlier passes learned.
struct AuditContext {
  const Index& index;
  BlobStore& blobs;
  const AuditScope& scope;
  const AuditOptions& options;
  const std::string& tsa_ca_pem;
  AuditReport& report;
  LogFacts log;                  // pass 6
  std::vector<AuditItem> items;  // passes 1 and 5
  std::vector<HashTask> hashed;  // passes 2 and 4: the distinct blobs re-hashed
};

// Passes 1 and 5 (audit_records.cpp) over the items `ids` in scope: records decode,
// match their ingest entries; for scope all, ingest entries without a record. Fills
// ctx.items.
void check_records(AuditContext& ctx, const std::vector<std::string>& ids);
// Pass 7 (audit_tokens.cpp): each item's timestamp token over its content hash.
void check_tokens(AuditContext& ctx);
// Passes 2 and 4 (audit_blobs.cpp): each item's blob is present and intact, naming
// damaged media seconds from the segment table. Fills ctx.hashed.
void check_blobs(AuditContext& ctx);
// Adds `ev` (at log position `at`) to facts.disposals (and facts.disposed) when it is a
// lifecycle entry (audit_disposals.cpp).
void note_disposal(std::uint64_t at, const CustodyEvent& ev, LogFacts& facts);
// Pass 9 (audit_disposals.cpp): every `dispose` entry names a disposition with an
// earlier `dispose_request` and `dispose_approve` by two different admins; each
// violation is a problem `disposal_unapproved`. Scope case or evidence: only entries
// naming items in scope.
void check_disposals(AuditContext& ctx);
// Adds `ev` (at log position `at`) to facts.reviews when it is a `review` entry
// (audit_reviews.cpp).
void note_review(std::uint64_t at, const CustodyEvent& ev, LogFacts& facts);
// Pass 10 (audit_reviews.cpp): every stored case-file review's exact bytes hash to the
// record_hash of the one `review` entry that names it, and name that entry and its
// case; every `review` entry's review is stored and listed under its case; each
// difference is a problem `review_mismatch`. Scope case: that case's reviews and
// entries; scope evidence: none.
void check_reviews(AuditContext& ctx);
// Pass 3 (audit_orphans.cpp), scope all: blobs no record or poster frame names, junk
// in the blob area.
void check_orphans(AuditContext& ctx);

}  // namespace evidence::audit_detail
