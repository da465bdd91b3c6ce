#include "ingest/checkpointer.h"

#include <exception>

#include "ingest/logging.h"
#include "base/error.h"
#include "verify/signed_note.h"

namespace evidence::ingest {

Checkpointer::Checkpointer(Index& index, const LogSigner& signer, tsa::TimeStamper& stamper)
    : index_(index), signer_(signer), stamper_(stamper), latest_(index.latest_checkpoint()) {}

Checkpointer::~Checkpointer() {
  if (thread_.joinable()) {
    {
      std::lock_guard lock(run_mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
}

StoredCheckpoint Checkpointer::sign_current() {
  const std::uint64_t size = index_.log_size();
  if (latest_ && latest_->size == size) return *latest_;
  note::Checkpoint body;
  body.origin = signer_.name;
  body.size = size;
  body.root = index_.log_root(size);
  StoredCheckpoint cp;
  cp.size = size;
  cp.note = note::sign(body.body(), signer_.name, signer_.key);
  try {
    cp.root_timestamp = stamper_.stamp(ContentId{body.root});
  } catch (const std::exception& e) {
    // The checkpoint is still valid without its time stamp; an outside TSA being
    // down must not stop receipts.
    log_line("warn", "checkpoint_timestamp_failed", {{"size", std::to_string(size)}, {"error", e.what()}});
  }
  index_.put_checkpoint(cp);
  latest_ = cp;
  if (witnesses_) witnesses_->submit(cp);  // never blocks: the witnesses' threads send it
  return cp;
}

StoredCheckpoint Checkpointer::ensure(std::uint64_t min_size) {
  std::lock_guard lock(mu_);
  if (latest_ && latest_->size >= min_size) return *latest_;
  return sign_current();
}

void Checkpointer::refresh() {
  std::lock_guard lock(mu_);
  if (latest_ && latest_->size >= index_.log_size()) return;
  sign_current();
}

void Checkpointer::attach(Witnesses& witnesses) {
  std::lock_guard lock(mu_);
  witnesses_ = &witnesses;
  if (latest_) witnesses_->submit(*latest_);
}

ServedCheckpoint Checkpointer::for_receipt(std::uint64_t min_size) {
  const StoredCheckpoint own = ensure(min_size);
  if (!witnesses_) return {own.size, own.note, std::nullopt};
  if (auto w = witnesses_->newest(); w && w->size >= min_size) return {w->size, w->note, true};
  return {own.size, own.note, false};
}

ServedCheckpoint Checkpointer::served() {
  if (!witnesses_) {
    const StoredCheckpoint own = ensure(0);
    return {own.size, own.note, std::nullopt};
  }
  std::lock_guard lock(served_mu_);
  const auto w = witnesses_->newest();
  if (w && (!last_served_ || w->size >= last_served_->size)) {
    last_served_ = ServedCheckpoint{w->size, w->note, true};
  } else if (!w) {
    const StoredCheckpoint own = ensure(0);
    last_served_ = ServedCheckpoint{own.size, own.note, false};
  }
  return *last_served_;
}

void Checkpointer::start(std::chrono::milliseconds interval) {
  thread_ = std::thread([this, interval] {
    std::unique_lock lock(run_mu_);
    while (!stopping_) {
      cv_.wait_for(lock, interval, [this] { return stopping_; });
      if (stopping_) break;
      lock.unlock();
      try {
        refresh();
      } catch (const std::exception& e) {
        log_line("error", "checkpoint_failed", {{"error", e.what()}});
      }
      lock.lock();
    }
  });
}

void Checkpointer::stop() {
  if (thread_.joinable()) {
    {
      std::lock_guard lock(run_mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  refresh();
}

}  // namespace evidence::ingest
