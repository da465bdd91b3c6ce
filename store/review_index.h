// Case-file reviews in the index (store/review.h), as an interface: the reviews of a
// case, oldest first, their exact stored bytes (the audit and export bundles hash
// those), and committing one together with its `review` custody entry. Engine-neutral;
// every engine passes tests/store/conformance_reviews.cpp.
//
// What the routes do on top (not here): role checks, the request's limits, and 404 for
// a case no custody entry has named.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/codec.h"
#include "store/records.h"
#include "store/review.h"

namespace evidence {

struct CommittedReview {
  CaseReview review;       // as stored (log_index set)
  Bytes bytes;             // its exact stored bytes
  std::string sha256;      // hex SHA-256 of `bytes`: the entry's record_hash
  std::uint64_t log_index = 0;
};

class ReviewIndex {
 public:
  virtual ~ReviewIndex() = default;

  // Stores `review` and appends its custody entry in one commit: `event` (time,
  // actor, role) with action "review", case = review.case_number, record_hash = the
  // SHA-256 of the stored bytes and detail {"review": id} (merged into event.detail);
  // review.log_index is set to that entry's index before encoding, so the bytes name
  // their entry. Error(invalid_argument) when review_problem(review) is not empty,
  // Error(already_exists) for a known id, Error(permission_denied) when read-only.
  virtual CommittedReview commit_review(CaseReview review, CustodyEvent event) = 0;

  // The case's review ids, oldest first (id order); empty for a case without any.
  virtual std::vector<std::string> reviews_in_case(const std::string& case_number) const = 0;
  // Throws Error(corrupt) when the stored bytes do not decode.
  virtual std::optional<CaseReview> get_review(const std::string& id) const = 0;
  // The exact stored bytes of a review (its entry's record_hash is over these).
  virtual std::optional<Bytes> review_bytes(const std::string& id) const = 0;
  // Every review id, in id order. The callback runs outside any read transaction.
  virtual void for_each_review(const std::function<void(const std::string& id)>& fn) const = 0;
};

}  // namespace evidence
