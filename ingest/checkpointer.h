// Signs C2SP checkpoints of the custody log: at most every interval while entries
// arrive (a background thread), on demand when a receipt needs one that covers its
// entry, and once more at shutdown. Concurrent demands coalesce: one signer at a
// time, and a checkpoint signed for someone else that already covers your entry is
// returned as is.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <thread>

#include "store/index.h"
#include "verify/keys.h"
#include "verify/tsa.h"

namespace evidence::ingest {

class Checkpointer {
 public:
  Checkpointer(Index& index, const LogSigner& signer, tsa::TimeStamper& stamper);
  ~Checkpointer();

  // The latest checkpoint whose size is at least `min_size` (signing one now if the
  // latest is smaller). With min_size 0 and no checkpoint yet, signs the current log.
  StoredCheckpoint ensure(std::uint64_t min_size);
  // Signs a checkpoint of the current log if it grew since the latest one.
  void refresh();

  void start(std::chrono::milliseconds interval);
  void stop();  // joins the thread and signs a final checkpoint

 private:
  StoredCheckpoint sign_current();  // mu_ held

  Index& index_;
  const LogSigner& signer_;
  tsa::TimeStamper& stamper_;
  std::mutex mu_;
  std::optional<StoredCheckpoint> latest_;
  std::mutex run_mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace evidence::ingest
