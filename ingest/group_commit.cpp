#include "ingest/group_commit.h"

#include <algorithm>
#include <iterator>
#include <utility>

namespace evidence::ingest {

Committed GroupCommit::commit(NewEvidence item) {
  Slot me{std::move(item), std::nullopt, nullptr, false};
  std::unique_lock lock(mu_);
  queue_.push_back(&me);
  while (!me.finished) {
    if (leading_) {
      cv_.wait(lock);
      continue;
    }
    // No commit running: lead one with what has gathered (this caller's item is
    // among it: a leader that took it would have finished it before stepping down).
    leading_ = true;
    const auto n = static_cast<std::ptrdiff_t>(std::min(queue_.size(), max_batch_));
    std::vector<Slot*> batch(queue_.begin(), queue_.begin() + n);
    queue_.erase(queue_.begin(), queue_.begin() + n);
    lock.unlock();
    run(batch);  // sets done/error; never throws
    lock.lock();
    for (Slot* s : batch) s->finished = true;
    ++batches_;
    items_ += batch.size();
    leading_ = false;
    cv_.notify_all();
  }
  if (me.error) std::rethrow_exception(me.error);
  return std::move(*me.done);
}

void GroupCommit::run(std::vector<Slot*>& batch) {
  if (batch.size() > 1) {
    try {
      std::vector<NewEvidence> items;
      items.reserve(batch.size());
      for (Slot* s : batch) items.push_back(s->item);
      auto out = index_.commit_evidence_batch(std::move(items));
      for (std::size_t i = 0; i < batch.size(); ++i) batch[i]->done = std::move(out[i]);
      return;
    } catch (...) {
      // Nothing of the batch was committed (one transaction): fall through and give
      // every item its own transaction and its own error.
    }
  }
  for (Slot* s : batch) {
    try {
      s->done = index_.commit_evidence(s->item);
    } catch (...) {
      s->error = std::current_exception();
    }
  }
}

std::uint64_t GroupCommit::batches() const {
  std::lock_guard lock(mu_);
  return batches_;
}

std::uint64_t GroupCommit::items() const {
  std::lock_guard lock(mu_);
  return items_;
}

}  // namespace evidence::ingest
