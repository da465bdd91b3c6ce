// The LMDB engine of the index: one environment under layout.index_dir() with the
// named databases and key layout of store/format.h. Most code holds an Index& and
// never names this class; tests that tamper with stored bytes construct it (or
// downcast to it) for the raw_* accessors.
//
// LMDB specifics: reads are MVCC snapshots that never block the writer (MDB_NOTLS, so
// any thread may read); when the map fills (MDB_MAP_FULL) the write is re-run after
// the map doubles; every commit is fsynced by LMDB.
#pragma once

#include <memory>
#include <span>

#include "store/index.h"

namespace evidence {

class LmdbIndex final : public Index {
 public:
  // See open_index (store/index.h).
  LmdbIndex(const Layout& layout, OpenMode mode, std::size_t initial_map_size = std::size_t{1} << 30);
  ~LmdbIndex() override;

  void write(const std::function<void(WriteTxn&)>& fn) override;
  std::uint64_t map_size() const override;
  int clear_stale_readers() override;

  // --- EvidenceIndex (store/lmdb/evidence.cpp)
  std::vector<Committed> commit_evidence_batch(std::vector<NewEvidence> items) override;
  std::optional<EvidenceRecord> get_evidence(const std::string& id) const override;
  std::optional<Bytes> evidence_bytes(const std::string& id) const override;
  std::optional<Bytes> timestamp_token(const std::string& id) const override;
  std::vector<std::string> cases_of(const std::string& id) const override;
  std::vector<std::string> items_in_case(const std::string& case_number) const override;
  std::vector<std::string> items_with_content(const ContentId& id) const override;
  std::vector<std::string> list_cases(const std::string& prefix, std::size_t limit) const override;
  SearchPage search(const SearchQuery& q) const override;
  void for_each_evidence(const std::function<void(const std::string& id)>& fn) const override;
  std::uint64_t evidence_count() const override;
  std::optional<std::string> get_derived(const std::string& kind, const std::string& id) const override;

  // --- CustodyLog (store/lmdb/custody_log.cpp)
  std::uint64_t log_size() const override;
  std::vector<LogEntry> log_entries(std::uint64_t start, std::uint64_t end) const override;
  std::vector<std::uint64_t> entries_for_evidence(const std::string& evidence_id) const override;
  std::optional<std::uint64_t> newest_entry_for_case(const std::string& case_number) const override;
  merkle::Hash log_root(std::uint64_t size) const override;
  std::vector<merkle::Hash> inclusion_proof(std::uint64_t index, std::uint64_t size) const override;
  std::vector<merkle::Hash> consistency_proof(std::uint64_t old_size, std::uint64_t new_size) const override;
  std::optional<merkle::Hash> stored_subtree(unsigned level, std::uint64_t index) const override;
  void put_checkpoint(const StoredCheckpoint& cp) override;
  std::optional<StoredCheckpoint> latest_checkpoint() const override;
  std::optional<StoredCheckpoint> checkpoint_at(std::uint64_t size) const override;
  std::vector<StoredCheckpoint> checkpoints() const override;

  // --- UserDirectory and UploadSessions, reads (store/lmdb/users_uploads.cpp)
  std::optional<User> user_by_token_hash(const ContentId& token_hash) const override;
  std::optional<User> user_by_name(const std::string& name) const override;
  std::vector<User> users() const override;
  std::optional<UploadSession> get_upload(const std::string& id) const override;
  std::vector<UploadSession> uploads() const override;

  // --- LifecycleIndex (store/lmdb/lifecycle.cpp)
  std::vector<RetentionCategory> retention_categories() const override;
  std::optional<RetentionCategory> retention_category(const std::string& name) const override;
  std::optional<std::string> item_category(const std::string& id) const override;
  std::optional<Disposed> disposed(const std::string& id) const override;
  std::vector<std::string> disposed_items() const override;
  std::optional<Disposition> get_disposition(const std::string& id) const override;
  DispositionPage dispositions(std::size_t limit, const std::string& cursor = {}) const override;
  DuePage due(const std::string& now, std::size_t limit, const std::string& cursor = {}) const override;
  bool content_live(const ContentId& sha256) const override;

  // --- ReviewIndex, reads (store/lmdb/reviews.cpp; commit_review is Index's)
  std::vector<std::string> reviews_in_case(const std::string& case_number) const override;
  std::optional<CaseReview> get_review(const std::string& id) const override;
  std::optional<Bytes> review_bytes(const std::string& id) const override;
  void for_each_review(const std::function<void(const std::string& id)>& fn) const override;

  // For tests only: raw access to one named database (format.h). Puts bypass every
  // invariant (this is how the tamper tests edit a record "behind our back").
  // Error(invalid_argument) for an unknown database name.
  void raw_put(const std::string& db, std::span<const std::uint8_t> key, std::span<const std::uint8_t> value);
  void raw_del(const std::string& db, std::span<const std::uint8_t> key);
  std::optional<Bytes> raw_get(const std::string& db, std::span<const std::uint8_t> key) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace evidence
