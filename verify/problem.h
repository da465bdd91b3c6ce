// One finding of the audit (verify/audit.h) or of a bundle check (verify/bundle.h):
// what kind of damage, to which item, with both sides of a mismatch.
#pragma once

#include <array>
#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "store/content_id.h"

namespace evidence {

// What a finding is about. The names are the wire format: problem_kind_name gives the
// string that JSON reports, the human output and the web console show (and tests
// assert), so a name once given never changes.
enum class ProblemKind {
  // Problems: evidence or its proof is damaged.
  content_mismatch,   // the bytes do not hash to their name, or not the recorded size
  blob_missing,       // a record's content is not in the blob store (or the bundle)
  record_altered,     // a record's bytes or fields differ from its ingest entry
  record_missing,     // an ingest entry names evidence whose record is gone
  timestamp_invalid,  // an RFC 3161 token does not verify, or is absent
  log_inconsistent,   // custody entries, tree, checkpoints or proofs disagree
  signature_invalid,  // a checkpoint's signed note does not verify
  case_membership,    // the index's members of a case differ from the log's replay
  extra_version,      // an object version no record names (verify/audit_versions.h)
  bundle_malformed,   // bundles: a path twice in the tar, a malformed manifest item
  disposal_unapproved,  // a `dispose` entry without an earlier request and approval
                        // by two different admins (verify/audit_disposals.cpp)
  review_mismatch,    // a case-file review's bytes differ from its `review` entry, or
                      // one of the two is missing (verify/audit_reviews.cpp)
  // Hints: nothing is damaged.
  blob_orphan,           // a blob no record points to, or junk in the blob area
  transient_read_error,  // the first read failed, the retry read the blob intact
  versions_unlisted,     // the object store could not list a blob's versions
  bundle_unexpected,     // bundles: a file the manifest does not list
  key_differs,           // bundles: the bundle's log key is not the pinned one
};

// Every kind, in declaration order (for tests and documentation).
inline constexpr std::array kProblemKinds = {
    ProblemKind::content_mismatch, ProblemKind::blob_missing,        ProblemKind::record_altered,
    ProblemKind::record_missing,   ProblemKind::timestamp_invalid,   ProblemKind::log_inconsistent,
    ProblemKind::signature_invalid, ProblemKind::case_membership,    ProblemKind::extra_version,
    ProblemKind::bundle_malformed, ProblemKind::disposal_unapproved, ProblemKind::review_mismatch,
    ProblemKind::blob_orphan,         ProblemKind::transient_read_error,
    ProblemKind::versions_unlisted, ProblemKind::bundle_unexpected,  ProblemKind::key_differs,
};

// "content_mismatch", "blob_missing", ...: the enumerator's own name.
std::string_view problem_kind_name(ProblemKind kind);
// The inverse; nullopt for a name that is no kind.
std::optional<ProblemKind> problem_kind_from_name(std::string_view name);

struct Problem {
  std::string evidence;  // evidence id; empty for findings about the log or a blob
  ProblemKind kind = ProblemKind::content_mismatch;
  std::string detail;    // human-readable, names the ids and both values of a mismatch
  std::optional<std::pair<double, double>> segment;  // damaged media range, seconds
  std::optional<std::uint64_t> log_index;            // the custody entry concerned
  std::optional<std::string> sha256;                 // the blob concerned (hex)
  // The two sides of a mismatch, where the finding is one: what the record, manifest
  // or ingest entry says (expected) and what the bytes are (actual). Set only where
  // known; not part of to_json (the detail names them for people).
  std::optional<ContentId> expected_sha256, actual_sha256;
  std::optional<std::uint64_t> expected_size, actual_size;

  // {"evidence": ID or null, "kind", "detail", "segment"?: {"start","end"},
  //  "log_index"?, "sha256"?}
  boost::json::object to_json() const;
};

}  // namespace evidence
