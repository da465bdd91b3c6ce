// Case-file reviews (案卷评查; DESIGN.md, "Case review"): a reviewer's verdict on a
// whole case file, kept in the index and bound to the custody log by a `review` entry
// whose record_hash is the SHA-256 of the review's exact stored bytes, as an ingest
// entry binds a record. Engine-neutral value type with its encoding (store/format.h);
// the index stores it (ReviewIndex, WriteTxn) and the audit and export bundles check
// it against its entry.
#pragma once

#include <boost/json/object.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/codec.h"

namespace evidence {

// The verdicts a review may give: the case file is complete, incomplete (parts of
// the enforcement action are not recorded), or defective (what is recorded is wrong).
inline constexpr std::string_view kReviewVerdicts[] = {"complete", "incomplete", "defective"};
bool is_review_verdict(std::string_view v);

// Limits on what a review holds (bytes of UTF-8; the checklist as compact JSON).
inline constexpr std::size_t kMaxReviewNotes = 16 * 1024;
inline constexpr std::size_t kMaxReviewChecklist = 16 * 1024;

// Immutable once committed: any change to its bytes shows against its `review` entry.
struct CaseReview {
  std::string id;           // new_review_id()
  std::string case_number;  // the case reviewed (case_number_problem holds)
  std::string reviewer;     // the authenticated user name
  std::string role;         // the reviewer's role (reviewer, admin)
  std::string time;         // RFC 3339 UTC, set by the server
  std::string verdict;      // one of kReviewVerdicts
  std::string notes;        // free text, at most kMaxReviewNotes bytes
  boost::json::object checklist;  // the reviewer's checklist, kept as given
  std::uint64_t log_index = 0;    // index of its `review` custody entry (set on commit)

  bool operator==(const CaseReview&) const = default;
  // v1: 0x01 {"id","case","reviewer","role","time","verdict","notes","checklist",
  //           "log_index"}
  Bytes encode() const;
  static CaseReview decode(std::span<const std::uint8_t> bytes);  // throws corrupt
  boost::json::object to_json() const;  // API shape: the same fields
};

// Why `r` cannot be stored (a bad id, case number, verdict, time, or notes or
// checklist over their limits); empty when it can.
std::string review_problem(const CaseReview& r);

// A ULID like evidence ids (sortable by creation time, monotonic in one process, so
// a case's reviews in id order are oldest first).
std::string new_review_id();
bool is_review_id(std::string_view s);

}  // namespace evidence
