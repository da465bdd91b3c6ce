// The index: everything the evidence manager keeps besides blobs, as one abstract
// composition of the store's interfaces (evidence_index.h, custody_log.h,
// user_directory.h, upload_sessions.h, lifecycle_index.h, review_index.h) plus one
// shared write transaction (write_txn.h)
// and engine maintenance. Engines: LMDB (store/lmdb/, opened by open_index). Every
// engine passes tests/store/conformance*.cpp.
//
// Threading: an Index is shared by all threads. Reads run concurrently and never
// block the writer. Writes are serialised by the Index. An engine may re-run a write
// callback (LMDB does when its map fills and grows), so write callbacks must only
// touch the transaction they are given.
//
// Durability: every write is durable (fsynced) before the call returns. Callers
// commit a blob (durable) before calling commit_evidence, so the index never points
// at bytes that are not on disk.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "store/custody_log.h"
#include "store/evidence_index.h"
#include "store/layout.h"
#include "store/lifecycle_index.h"
#include "store/review_index.h"
#include "store/upload_sessions.h"
#include "store/user_directory.h"
#include "store/write_txn.h"

namespace evidence {

enum class OpenMode { read_write, read_only };

class Index : public EvidenceIndex,
              public CustodyLog,
              public UserDirectory,
              public UploadSessions,
              public LifecycleIndex,
              public ReviewIndex {
 public:
  Index() = default;
  ~Index() override = default;
  Index(const Index&) = delete;
  Index& operator=(const Index&) = delete;

  // Runs `fn` in one write transaction and commits it (durably) when `fn` returns; an
  // exception from `fn` aborts everything it did and propagates. `fn` may run more
  // than once. Error(permission_denied) on a read-only index.
  virtual void write(const std::function<void(WriteTxn&)>& fn) = 0;

  // Engine maintenance.
  virtual std::uint64_t map_size() const = 0;  // bytes the engine may use (LMDB's map)
  // Frees the reader slots of processes that died with a read transaction open;
  // returns how many. Run at open and by the daemon's sweeper. 0 where meaningless.
  virtual int clear_stale_readers() = 0;

  // The combined operations, written once over write() (store/index.cpp). An engine
  // may override them with something faster that keeps the same contract.
  std::uint64_t link_case(const std::string& id, const std::string& case_number, CustodyEvent event) override;
  std::uint64_t unlink_case(const std::string& id, const std::string& case_number, CustodyEvent event) override;
  std::uint64_t put_derived(const std::string& kind, const std::string& id, const std::string& value,
                            const CustodyEvent& event) override;
  std::vector<std::uint64_t> append_events(const std::vector<CustodyEvent>& events) override;
  void put_user(const User& user, const ContentId& token_hash, const CustodyEvent* event = nullptr) override;
  std::uint64_t update_user(const std::string& name, const std::function<void(User&)>& change,
                            const CustodyEvent& event) override;
  std::uint64_t replace_user_token(const std::string& name, const ContentId& new_token_hash,
                                   const CustodyEvent& event) override;
  void touch_users(const std::vector<std::pair<std::string, std::string>>& seen) override;
  void put_upload(const UploadSession& s) override;
  void delete_upload(const std::string& id) override;
  CommittedReview commit_review(CaseReview review, CustodyEvent event) override;
};

// Opens (read_write creates it when absent) the LMDB index under layout.index_dir().
// Throws Error(not_found) for read_only without an index, Error(io_error|
// permission_denied|corrupt) otherwise. `initial_map_size` is where the map starts;
// it doubles whenever it fills. Defined in store/lmdb/ (link evidence_store_lmdb).
std::unique_ptr<Index> open_index(const Layout& layout, OpenMode mode,
                                  std::size_t initial_map_size = std::size_t{1} << 30);

}  // namespace evidence
