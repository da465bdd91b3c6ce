// Group commit for new evidence: concurrent uploads that reach the index at the same
// time share one LMDB write transaction (one fsync) instead of queueing for one each.
//
// Leader/follower: a caller that finds no commit running takes every item queued so
// far (up to max_batch) into Index::commit_evidence_batch; callers that arrive
// meanwhile wait and the next of them leads the following batch. commit() returns
// only after the transaction holding the caller's item has committed (durable), so
// the durability contract is unchanged: a client is answered only after its item's
// transaction is on disk. When a batch fails (one bad item), its items are retried
// one by one so each caller gets its own outcome.
//
// commit() blocks: call it from the worker pool (blocking()), never from an I/O thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <optional>
#include <vector>

#include "store/index.h"

namespace evidence::ingest {

class GroupCommit {
 public:
  explicit GroupCommit(Index& index, std::size_t max_batch = 256) : index_(index), max_batch_(max_batch) {}

  Committed commit(NewEvidence item);

  // For metrics and tests: transactions run and items committed through them.
  std::uint64_t batches() const;
  std::uint64_t items() const;

 private:
  struct Slot {
    NewEvidence item;
    std::optional<Committed> done;
    std::exception_ptr error;
    bool finished = false;
  };
  void run(std::vector<Slot*>& batch);

  Index& index_;
  const std::size_t max_batch_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Slot*> queue_;
  bool leading_ = false;
  std::uint64_t batches_ = 0, items_ = 0;
};

}  // namespace evidence::ingest
