// The LMDB index: evidence records and their indexes, users, upload sessions, and the
// custody log (a Merkle tree kept as stored perfect-subtree hashes) with checkpoints.
//
// Threading: an Index is shared by all threads. Reads run concurrently and never
// block the writer (LMDB MVCC, MDB_NOTLS). Writes are serialised by the Index. When
// the map fills (MDB_MAP_FULL) the Index grows it and re-runs the write, so write
// callbacks must only touch the transaction they are given.
//
// Durability: every write transaction is fsynced by LMDB before the call returns.
// Callers commit a blob (durable) before calling commit_evidence, so the index never
// points at bytes that are not on disk.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "store/layout.h"
#include "store/merkle.h"
#include "store/records.h"

namespace evidence {

enum class OpenMode { read_write, read_only };

// A custody entry as stored: its position and its exact leaf bytes.
struct LogEntry {
  std::uint64_t index = 0;
  std::string leaf;  // the bytes hashed as the Merkle leaf (CustodyEvent::encode())
};

struct StoredCheckpoint {
  std::uint64_t size = 0;
  std::string note;  // signed note text (C2SP tlog-checkpoint + signature lines)
  Bytes root_timestamp;  // RFC 3161 token over the root hash (may be empty)
};

struct SearchQuery {
  std::optional<std::string> officer;
  std::optional<std::string> device;
  std::optional<std::int64_t> from_us;  // recorded_at >= from (inclusive)
  std::optional<std::int64_t> to_us;    // recorded_at <  to   (exclusive)
  std::size_t limit = 100;
  std::string cursor;  // opaque; from a previous page's `next`
};
struct SearchPage {
  std::vector<EvidenceRecord> items;
  std::string next;  // empty when there is no more
};

// Everything needed to commit one new item atomically.
struct NewEvidence {
  EvidenceRecord record;   // id, sha256, size and metadata; log_index is set by commit
  Bytes timestamp_token;   // RFC 3161 token (DER) over record.sha256
  CustodyEvent event;      // the ingest event; record_hash/evidence are set by commit
  // The tus upload this item completes: stored in the same transaction with
  // metadata.evidence_id = record.id, so one upload can never become two items,
  // whatever crashes or races between the commit and a later session update.
  std::optional<UploadSession> completes_upload;
};
struct Committed {
  EvidenceRecord record;       // as stored
  std::string record_hash;     // hex SHA-256 of the stored bytes
  std::uint64_t log_index = 0;
};

class Index {
 public:
  // Opens (read_write creates the environment and databases when absent) the index
  // under layout.index_dir(). Throws Error(io_error|permission_denied|corrupt).
  // `initial_map_size` is where the map starts; it doubles whenever it fills.
  Index(const Layout& layout, OpenMode mode, std::size_t initial_map_size = std::size_t{1} << 30);
  ~Index();
  Index(const Index&) = delete;
  Index& operator=(const Index&) = delete;

  // --- evidence -----------------------------------------------------------------
  // One write transaction: record, timestamp, case/content/search indexes and the
  // ingest custody entry. Validates case numbers (Error(invalid_argument)).
  Committed commit_evidence(NewEvidence item);
  // Several items in one transaction (one fsync), for grouped commits under load.
  std::vector<Committed> commit_evidence_batch(std::vector<NewEvidence> items);

  std::optional<EvidenceRecord> get_evidence(const std::string& id) const;
  // The exact stored bytes of a record (for audits: record_hash is over these).
  std::optional<Bytes> evidence_bytes(const std::string& id) const;
  std::optional<Bytes> timestamp_token(const std::string& id) const;
  std::vector<std::string> cases_of(const std::string& id) const;
  std::vector<std::string> items_in_case(const std::string& case_number) const;
  std::vector<std::string> items_with_content(const ContentId& id) const;
  // Case numbers starting with `prefix` (bytewise), in byte order, at most `limit`.
  std::vector<std::string> list_cases(const std::string& prefix, std::size_t limit) const;
  SearchPage search(const SearchQuery& q) const;
  // Every evidence id, in id (= time) order.
  void for_each_evidence(const std::function<void(const std::string& id)>& fn) const;
  std::uint64_t evidence_count() const;

  // Link/unlink in one transaction with their custody entry. Return the entry index.
  // link: Error(conflict) when already linked; unlink: Error(not_found) when not.
  std::uint64_t link_case(const std::string& id, const std::string& case_number, CustodyEvent event);
  std::uint64_t unlink_case(const std::string& id, const std::string& case_number, CustodyEvent event);

  // --- custody log ----------------------------------------------------------------
  std::uint64_t append_event(const CustodyEvent& event);  // returns the entry index
  std::vector<std::uint64_t> append_events(const std::vector<CustodyEvent>& events);
  std::uint64_t log_size() const;
  std::optional<LogEntry> log_entry(std::uint64_t index) const;
  std::vector<LogEntry> log_entries(std::uint64_t start, std::uint64_t end) const;
  // Indexes of the entries that name `evidence_id`, in order.
  std::vector<std::uint64_t> entries_for_evidence(const std::string& evidence_id) const;
  merkle::Hash log_root(std::uint64_t size) const;  // Error(invalid_argument) if size > log_size
  std::vector<merkle::Hash> inclusion_proof(std::uint64_t index, std::uint64_t size) const;
  std::vector<merkle::Hash> consistency_proof(std::uint64_t old_size, std::uint64_t new_size) const;

  void put_checkpoint(const StoredCheckpoint& cp);
  std::optional<StoredCheckpoint> latest_checkpoint() const;
  std::optional<StoredCheckpoint> checkpoint_at(std::uint64_t size) const;
  std::vector<StoredCheckpoint> checkpoints() const;  // ascending size

  // --- users -----------------------------------------------------------------------
  // token_hash = SHA-256 of the bearer token. Error(already_exists) for a taken name.
  // With `event`, the custody entry is appended in the same transaction.
  void put_user(const User& user, const ContentId& token_hash, const CustodyEvent* event = nullptr);
  std::optional<User> user_by_token_hash(const ContentId& token_hash) const;
  std::optional<User> user_by_name(const std::string& name) const;
  std::vector<User> users() const;  // in token-hash order
  // Applies `change` to the stored user and appends `event`, in one transaction;
  // returns the entry index. Error(not_found) when there is no such user.
  std::uint64_t update_user(const std::string& name, const std::function<void(User&)>& change,
                            const CustodyEvent& event);
  // Replaces the user's token (the old one stops working with this commit) and
  // appends `event`. Error(not_found) when there is no such user.
  std::uint64_t replace_user_token(const std::string& name, const ContentId& new_token_hash,
                                   const CustodyEvent& event);
  // Records last_seen times (name -> RFC 3339), without custody entries: a sign of
  // life, not an act on evidence. Unknown names are skipped.
  void touch_users(const std::vector<std::pair<std::string, std::string>>& seen);

  // --- tus upload sessions -----------------------------------------------------------
  void put_upload(const UploadSession& s);
  std::optional<UploadSession> get_upload(const std::string& id) const;
  void delete_upload(const std::string& id);
  std::vector<UploadSession> uploads() const;

  // --- derived data (media records, thumbnails, holds) ---------------------------------
  // Stores `value` under (kind, id) together with a custody entry, in one transaction.
  std::uint64_t put_derived(const std::string& kind, const std::string& id, const std::string& value,
                            const CustodyEvent& event);
  std::optional<std::string> get_derived(const std::string& kind, const std::string& id) const;

  // For tests and audits only: raw access to one named database. Puts bypass every
  // invariant (this is how the tamper tests edit a record "behind our back").
  void raw_put(const std::string& db, std::span<const std::uint8_t> key, std::span<const std::uint8_t> value);
  void raw_del(const std::string& db, std::span<const std::uint8_t> key);
  std::optional<Bytes> raw_get(const std::string& db, std::span<const std::uint8_t> key) const;

  std::uint64_t map_size() const;
  // Frees the reader slots of processes that died with a read transaction open
  // (mdb_reader_check); returns how many. Run at open and by the daemon's sweeper.
  int clear_stale_readers();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace evidence
