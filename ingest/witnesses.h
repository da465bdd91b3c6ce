// The daemon's side of C2SP tlog-witness (`serve --witness VKEY@URL`): signed
// checkpoints go to the witnesses in rounds, each with a consistency proof from the
// size that witness last cosigned, and the newest checkpoint with a quorum of
// verified cosignatures is kept (DESIGN.md, "Witnessed log and tiles").
//
// A round sends every witness the same checkpoint, so their cosignatures meet on one
// size even under constant load; the next round (the newest checkpoint then) starts
// once this one has its quorum, or once every witness has answered or is failing.
// Each witness has a thread of its own, so a witness that is down or slow holds up
// neither the others nor any commit: submit() only records the checkpoint, and a
// receipt waits for a quorum on a timer (wait()), never on a thread, at most the
// witness timeout. One exchange (both its requests, name lookup included) ends by
// the timeout, and halt() cuts those in flight short. Nothing here is saved: after a
// restart each witness starts at old size 0 and its real size is learnt from its 409.
#pragma once

#include <chrono>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "ingest/http.h"
#include "store/index.h"
#include "verify/signed_note.h"

namespace evidence::ingest {

// One `--witness VKEY@URL`: a cosignature/v1 verifier key, and the witness's
// submission prefix (plain http://host:port[/path]; the daemon posts to
// URL/add-checkpoint).
struct WitnessEndpoint {
  note::Verifier key;
  std::string url;
  // Error(invalid_argument), naming what is wrong, for anything but VKEY@http://...
  static WitnessEndpoint parse(std::string_view arg);
};

// A checkpoint with its quorum: the log's signed note with the cosignature lines
// appended as further signature lines.
struct WitnessedCheckpoint {
  std::uint64_t size = 0;
  std::string note;
};

class Witnesses {
 public:
  // quorum: 1..endpoints.size(). `index` must outlive this (consistency proofs).
  Witnesses(const Index& index, std::vector<WitnessEndpoint> endpoints, unsigned quorum,
            std::chrono::milliseconds timeout);
  ~Witnesses();  // stop()
  Witnesses(const Witnesses&) = delete;
  Witnesses& operator=(const Witnesses&) = delete;

  void start();
  // Ends every exchange in flight and every wait() now, and sends nothing more; does
  // not block (serve calls it as soon as it is told to stop).
  void halt();
  // halt(), then joins the threads.
  void stop();

  // Hands a newly signed checkpoint to every witness. Never blocks on the network.
  void submit(const StoredCheckpoint& cp);

  // The newest checkpoint with its quorum; nullopt before the first.
  std::optional<WitnessedCheckpoint> newest() const;
  // Resumes once the newest checkpoint with its quorum has at least min_size entries,
  // or after the witness timeout, or as soon as too many witnesses failed their last
  // exchange for the quorum to come, or at halt(); then newest() says which. Waits on
  // a timer of the calling coroutine's strand: no thread is held meanwhile.
  Task<void> wait(std::uint64_t min_size);

  // Prometheus text: evidence_witness_cosigned_total, _failures_total, _size, _up.
  std::string render_metrics() const;

 private:
  struct Witness;
  struct Pending {  // the cosignatures one checkpoint has got so far
    std::string note;
    std::vector<std::string> lines;  // per witness; empty: none yet
  };
  void run(Witness& w);
  // One submission of `cp` (and one retry after a 409), all within the timeout: the
  // verified cosignature line, or Error(unavailable) saying why not.
  std::string exchange(Witness& w, const StoredCheckpoint& cp);
  // The rest, mu_ held:
  void cosigned(std::size_t i, const StoredCheckpoint& cp, const std::string& line);
  void advance_round();         // starts the next round when this one is over
  bool ready(std::uint64_t min_size) const;  // what wait() waits for
  void wake_ready();            // resumes the wait()s that are ready
  bool quorum_unreachable() const;

  const Index& index_;
  const unsigned quorum_;
  const std::chrono::milliseconds timeout_;
  std::vector<std::unique_ptr<Witness>> witnesses_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;  // a new checkpoint, a new quorum, or stop
  bool stopping_ = false;
  std::atomic<bool> halted_{false};  // read by exchanges without mu_
  std::optional<StoredCheckpoint> latest_;  // the newest checkpoint submitted
  std::optional<StoredCheckpoint> round_;   // what every witness is sent now
  std::uint64_t round_no_ = 0;
  std::map<std::uint64_t, std::pair<std::uint64_t, std::function<void()>>> waiters_;  // id: min_size, wake
  std::uint64_t next_waiter_ = 0;
  std::map<std::uint64_t, Pending> pending_;  // by size, newer than witnessed_
  std::optional<WitnessedCheckpoint> witnessed_;
};

}  // namespace evidence::ingest
