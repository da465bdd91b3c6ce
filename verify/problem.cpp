#include "verify/problem.h"

namespace evidence {

std::string_view problem_kind_name(ProblemKind kind) {
  switch (kind) {
    case ProblemKind::content_mismatch: return "content_mismatch";
    case ProblemKind::blob_missing: return "blob_missing";
    case ProblemKind::record_altered: return "record_altered";
    case ProblemKind::record_missing: return "record_missing";
    case ProblemKind::timestamp_invalid: return "timestamp_invalid";
    case ProblemKind::log_inconsistent: return "log_inconsistent";
    case ProblemKind::signature_invalid: return "signature_invalid";
    case ProblemKind::case_membership: return "case_membership";
    case ProblemKind::extra_version: return "extra_version";
    case ProblemKind::bundle_malformed: return "bundle_malformed";
    case ProblemKind::disposal_unapproved: return "disposal_unapproved";
    case ProblemKind::review_mismatch: return "review_mismatch";
    case ProblemKind::blob_orphan: return "blob_orphan";
    case ProblemKind::transient_read_error: return "transient_read_error";
    case ProblemKind::versions_unlisted: return "versions_unlisted";
    case ProblemKind::bundle_unexpected: return "bundle_unexpected";
    case ProblemKind::key_differs: return "key_differs";
  }
  return "unknown";  // not reached: -Wswitch names a kind without a name
}

std::optional<ProblemKind> problem_kind_from_name(std::string_view name) {
  for (const auto k : kProblemKinds) {
    if (problem_kind_name(k) == name) return k;
  }
  return std::nullopt;
}

boost::json::object Problem::to_json() const {
  boost::json::object o;
  o["evidence"] = evidence.empty() ? boost::json::value(nullptr) : boost::json::value(evidence);
  o["kind"] = problem_kind_name(kind);
  o["detail"] = detail;
  if (segment) o["segment"] = boost::json::object{{"start", segment->first}, {"end", segment->second}};
  if (log_index) o["log_index"] = *log_index;
  if (sha256) o["sha256"] = *sha256;
  return o;
}

}  // namespace evidence
