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

#include "ingest/witnesses.h"
#include "store/index.h"
#include "verify/keys.h"
#include "verify/tsa.h"

namespace evidence::ingest {

// The checkpoint a receipt or GET /log/checkpoint carries: with witnesses configured,
// the newest one with its quorum of cosignatures (their lines appended) when it
// covers what is asked for, else the log's own; `witnessed` says which (unset when no
// witnesses are configured).
struct ServedCheckpoint {
  std::uint64_t size = 0;
  std::string note;
  std::optional<bool> witnessed;
};

class Checkpointer {
 public:
  Checkpointer(Index& index, const LogSigner& signer, tsa::TimeStamper& stamper);
  ~Checkpointer();

  // The latest checkpoint whose size is at least `min_size` (signing one now if the
  // latest is smaller). With min_size 0 and no checkpoint yet, signs the current log.
  StoredCheckpoint ensure(std::uint64_t min_size);
  // Signs a checkpoint of the current log if it grew since the latest one.
  void refresh();

  // serve --witness: every checkpoint signed from now on, and the latest one now, go
  // to `witnesses` (which must outlive this). Call before start().
  void attach(Witnesses& witnesses);
  Witnesses* witnesses() const { return witnesses_; }
  // For a receipt of the entry min_size - 1: the newest witnessed checkpoint when it
  // covers that entry, else the log's own (ensure(min_size)). Never waits: a receipt
  // waits for its quorum first with Witnesses::wait (IngestPipeline::witnessed_receipt).
  ServedCheckpoint for_receipt(std::uint64_t min_size);
  // For GET /log/checkpoint: the newest witnessed checkpoint, else the log's own, and
  // never smaller than the one served before (before the first quorum the log's own
  // is served; a first witnessed one smaller than that waits until it catches up).
  ServedCheckpoint served();

  void start(std::chrono::milliseconds interval);
  void stop();  // joins the thread and signs a final checkpoint

 private:
  StoredCheckpoint sign_current();  // mu_ held

  Index& index_;
  const LogSigner& signer_;
  tsa::TimeStamper& stamper_;
  Witnesses* witnesses_ = nullptr;
  std::mutex mu_;
  std::optional<StoredCheckpoint> latest_;
  std::mutex served_mu_;
  std::optional<ServedCheckpoint> last_served_;  // with witnesses only
  std::mutex run_mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace evidence::ingest
