// One write transaction, engine-neutral: what Index::write hands its callback so that
// several changes (custody entries, case links, derived data, users, upload sessions)
// commit together or not at all. Combined operations (link a case and log it, revoke a
// user and log it, later: dispose of an item) are written once against this and run
// on every engine.
//
// Contract: a WriteTxn lives only inside the Index::write callback that received it.
// Reads through it see the transaction's own writes. Errors are thrown as Error and
// abort the whole transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "store/content_id.h"
#include "store/disposition.h"
#include "store/records.h"
#include "store/retention.h"
#include "store/review.h"

namespace evidence {

class WriteTxn {
 public:
  virtual ~WriteTxn() = default;

  // --- custody log: appends one entry, returns its index (numbered in call order).
  virtual std::uint64_t append(const CustodyEvent& event) = 0;
  // The index the next append in this transaction will get (for values that name
  // their own entry, as a review does).
  virtual std::uint64_t next_log_index() = 0;

  // --- cases (the case number must already be valid: see case_number_problem).
  // link: Error(not_found) for an unknown item, Error(conflict) when already linked.
  virtual void link_case(const std::string& id, const std::string& case_number) = 0;
  // Error(not_found) when the item is not linked to the case.
  virtual void unlink_case(const std::string& id, const std::string& case_number) = 0;

  // --- derived data under (kind, id).
  virtual void put_derived(const std::string& kind, const std::string& id, const std::string& value) = 0;
  virtual std::optional<std::string> get_derived(const std::string& kind, const std::string& id) const = 0;

  // --- users. put_user: Error(already_exists) for a taken name or token hash.
  virtual void put_user(const User& user, const ContentId& token_hash) = 0;
  virtual std::optional<User> user_by_name(const std::string& name) const = 0;
  // Rewrites the stored user named user.name. Error(not_found) when there is none.
  virtual void update_user(const User& user) = 0;
  // Moves the user to a new token hash. Error(not_found) when there is no such user.
  virtual void replace_user_token(const std::string& name, const ContentId& new_token_hash) = 0;

  // --- upload sessions.
  virtual void put_upload(const UploadSession& s) = 0;
  virtual void delete_upload(const std::string& id) = 0;

  // --- lifecycle (lifecycle_index.h has the reads and what callers check first).
  // Creates or replaces a category. Error(invalid_argument) for a bad name
  // (retention_name_problem).
  virtual void put_retention_category(const RetentionCategory& category) = 0;
  virtual std::optional<RetentionCategory> retention_category(const std::string& name) const = 0;
  // Sets the item's current category. Error(not_found) for an unknown item or a
  // category that is not stored.
  virtual void set_item_category(const std::string& id, const std::string& category) = 0;
  // Writes the item's tombstone. Error(not_found) for an unknown item,
  // Error(conflict) when it is already disposed (the first tombstone stays).
  virtual void mark_disposed(const std::string& id, const Disposed& tombstone) = 0;
  virtual std::optional<Disposed> disposed(const std::string& id) const = 0;
  // Stores a new disposition. Error(invalid_argument) for a bad id,
  // Error(already_exists) when the id is taken.
  virtual void put_disposition(const Disposition& d) = 0;
  // Rewrites a stored disposition (its state and decision). Error(not_found) when
  // there is none with d.id.
  virtual void update_disposition(const Disposition& d) = 0;
  virtual std::optional<Disposition> get_disposition(const std::string& id) const = 0;

  // --- case-file reviews (review_index.h has the reads and the combined commit).
  // Stores a new review under its id and in its case's list, and returns its stored
  // bytes. The caller has checked it (review_problem). Error(already_exists) when the
  // id is taken.
  virtual Bytes put_review(const CaseReview& review) = 0;
};

}  // namespace evidence
