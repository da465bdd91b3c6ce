// The audit engine behind `evidenced verify`, `POST /api/v1/verify` and the daemon's
// background re-verification. Organised as separate passes, as restic's checker is:
//
//   1. index     every evidence record in scope decodes, and its key is its id
//   2. present   every blob a record points to exists                 (blob_missing)
//                unless a `dispose` entry names the item (disposed of: its blob is
//                meant to be gone; pass 9 judges the entry)
//   3. orphans   no blob that no record points to, no junk file under
//                blobs/                                   (hint blob_orphan; scope all)
//   4. rehash    every blob in scope hashes to its name and has the record's size,
//                in parallel, with large sequential reads and bounded memory. A failed
//                read or a mismatch is retried once from a fresh reader, so a transient
//                fault is told apart from damage        (content_mismatch; a transient
//                fault that cleared is a hint transient_read_error)
//   5. records   each record's exact stored bytes hash to the record_hash of the ingest
//                custody entry it names, and that entry names this evidence
//                                                 (record_altered; record_missing when
//                an ingest entry names evidence whose record is gone, scope all)
//   6. log       every custody entry is present and decodes; the Merkle root is
//                recomputed from the stored leaves (independently of the stored tree)
//                and compared with every stored subtree hash of the index (proofs are
//                built from them), its root, and every stored checkpoint; consistency
//                proofs between successive checkpoints verify
//                                                                   (log_inconsistent)
//                every checkpoint's signed note verifies with the log key
//                                                                   (signature_invalid)
//   7. tokens    every item's RFC 3161 token verifies (signature, chain to the TSA CA,
//                timeStamping EKU) with imprint = the record's content hash; a
//                checkpoint's root timestamp, where kept, over the root hash
//                                                                   (timestamp_invalid)
//   9. disposals every `dispose` entry names a disposition with an earlier
//                `dispose_request` and `dispose_approve` by two different admins
//                                                               (disposal_unapproved)
//  10. reviews   every stored case-file review's exact bytes hash to the record_hash
//                of the one `review` entry that names it (detail.review), which is the
//                entry the review names (log_index) and of its case; every `review`
//                entry's review is stored and listed under its case
//                                                                   (review_mismatch)
//
// Scope case/evidence limits passes 1, 2, 4, 5 and 7 (items) to those items; the log
// pass always runs over the whole log (an item's custody depends on all of it); the
// orphan pass and record_missing run only for scope all; pass 10 runs for scope all
// (every review) and case (that case's), not for scope evidence.
//
// Problems damage evidence or its proof: `ok` is false when there is at least one.
// Hints damage nothing (an orphan blob left by a crash between blob and index).
//
// Media: where the media code stored a derived value of kind kSegmentsKind for an item
// (a JSON array of {"offset","length","start","end","sha256"}: byte ranges of the file,
// their time range in seconds (null or negative: no time) and the hex SHA-256 of
// those bytes, as verify/media/segments.h's to_json writes it; or the media worker's
// {"segments": [...], "root"} object), a content_mismatch
// re-hashes those ranges and names the damaged time range as `segment`: from the
// earliest start to the latest end of the segments whose bytes no longer match.
//
// For the daemon (POST /verify, serve --verify-every): pass the keys it already holds
// (log_verifier; tsa_ca_pem with every TSA CA it has used), `cancel` for shutdown and
// low_priority for background runs; append the "verify" custody event (detail: ok,
// checked, problem count) after run_audit returns, as the audit itself never writes.
//
// Reads only: run_audit never writes to the index or the blob store; it is safe on an
// index opened read_only while a daemon writes (LMDB readers see one snapshot per
// read transaction; items committed during the run may or may not be checked).
#pragma once

#include <atomic>
#include <boost/json/object.hpp>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/blob_store.h"
#include "store/index.h"
#include "store/layout.h"
#include "verify/problem.h"
#include "verify/signed_note.h"

namespace evidence {

// The derived-data kind under which the media code keeps an item's segment table.
inline constexpr const char* kSegmentsKind = "segments";

struct AuditScope {
  enum class Kind { all, case_number, evidence };
  Kind kind = Kind::all;
  std::string id;  // the case number or the evidence id; empty for all

  static AuditScope all() { return {}; }
  static AuditScope of_case(std::string c) { return {Kind::case_number, std::move(c)}; }
  static AuditScope of_evidence(std::string id) { return {Kind::evidence, std::move(id)}; }
};

// Findings (verify/problem.h). Problem kinds: content_mismatch, blob_missing,
// record_altered, record_missing, timestamp_invalid, log_inconsistent,
// signature_invalid, case_membership (the index's members of a case differ from the
// log's replay), extra_version (an object version under an evidence key that no
// record names: verify/audit_versions.h), disposal_unapproved (pass 9),
// review_mismatch (pass 10).
// Hint kinds: blob_orphan, transient_read_error, versions_unlisted.

struct AuditReport {
  bool ok = true;
  std::uint64_t checked = 0;  // evidence items checked
  std::uint64_t log_entries = 0;
  std::uint64_t checkpoints = 0;
  std::uint64_t bytes_hashed = 0;
  std::vector<Problem> problems;
  std::vector<Problem> hints;

  // DESIGN.md's POST /verify shape: {"ok", "checked", "problems": [...], "hints": [...]}
  // plus "log_entries", "checkpoints", "bytes_hashed".
  boost::json::object to_json() const;
};

// Called as content is hashed: bytes done so far and the total to hash. Calls come
// from worker threads, one at a time (serialised), at most every few MiB and once at
// the end with done == total.
using ProgressFn = std::function<void(std::uint64_t done_bytes, std::uint64_t total_bytes)>;

struct AuditOptions {
  unsigned threads = 0;  // 0: std::thread::hardware_concurrency()
  std::size_t read_size = 4 << 20;  // bytes per read; memory is about threads * read_size
  ProgressFn progress;
  // Background runs: lower the hashing threads' CPU and I/O priority (Linux nice 10,
  // idle I/O class).
  bool low_priority = false;
  // When set and true, the run stops early and run_audit throws
  // Error(unavailable, "audit cancelled").
  const std::atomic<bool>* cancel = nullptr;
  // Keys. When absent they are loaded from the layout (load_log_verifier,
  // keys/tsa-ca.pem); a key that cannot be loaded makes run_audit throw.
  // tsa_ca_pem may hold several PEM certificates, all trusted (an instance that moved
  // from the embedded TSA to an outside one has tokens from both).
  std::optional<note::Verifier> log_verifier;
  std::optional<std::string> tsa_ca_pem;
  // Segment tables: when set, used instead of Index::get_derived(kSegmentsKind, id).
  std::function<std::optional<std::string>(const std::string& evidence_id)> segments;
};

// Runs every pass and returns the report. Findings never throw; run_audit throws only
// when it cannot run: Error(not_found) for scope evidence with an unknown id or scope
// case with no items, Error(io_error|corrupt|...) when the index or keys cannot be
// read at all, Error(unavailable) when cancelled.
AuditReport run_audit(const Layout& layout, const Index& index, BlobStore& blobs,
                      const AuditScope& scope, const AuditOptions& options = {});

// `evidenced verify`'s audit of a data directory, over its index as the caller opened
// it (read_only is safe while a daemon runs: store/index.h's open_index): unless
// `blob_store` is given (the instance's backend when it is not the local folder:
// store/s3/open_blob_store.h), the local blob store, then run_audit with the log
// verifier from DIR/keys and as TSA CAs DIR/keys/tsa-ca.pem plus, when given, the PEM
// certificates in `extra_tsa_ca` (an instance that uses, or used, an outside TSA).
// Throws as run_audit. Printing the report is the caller's (tools/evidenced/cmd_verify.cpp).
// verify/ opens no index itself, so programs that only check bundles and receipts
// (evidencectl) link no index engine.
AuditReport audit_data_dir(const Layout& layout, const Index& index, const AuditScope& scope,
                           AuditOptions options = {},
                           const std::optional<std::filesystem::path>& extra_tsa_ca = std::nullopt,
                           BlobStore* blob_store = nullptr);

}  // namespace evidence
