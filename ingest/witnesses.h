// The daemon's side of C2SP tlog-witness (`serve --witness VKEY@URL`): every new
// signed checkpoint goes to each witness with a consistency proof from the size that
// witness last cosigned, and the newest checkpoint with a quorum of verified
// cosignatures is kept (DESIGN.md, "Witnessed log and tiles").
//
// Each witness has a thread of its own, so a witness that is down or slow holds up
// neither the others nor any commit: submit() only records the checkpoint, and a
// receipt waits for a quorum at most the witness timeout (wait_for). Nothing here
// is saved: after a restart each witness starts at old size 0 and its real size is
// learnt from its 409 answer.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

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
  // Joins the threads; an exchange in flight ends within the timeout.
  void stop();

  // Hands a newly signed checkpoint to every witness. Never blocks on the network.
  void submit(const StoredCheckpoint& cp);

  // The newest checkpoint with its quorum; nullopt before the first.
  std::optional<WitnessedCheckpoint> newest() const;
  // The newest checkpoint with its quorum once its size is at least min_size, waiting
  // at most the witness timeout; nullopt when none came in time, or as soon as too
  // many witnesses failed their last exchange for the quorum to come.
  std::optional<WitnessedCheckpoint> wait_for(std::uint64_t min_size) const;

  // Prometheus text: evidence_witness_cosigned_total, _failures_total, _size, _up.
  std::string render_metrics() const;

 private:
  struct Witness;
  struct Pending {  // the cosignatures one checkpoint has got so far
    std::string note;
    std::vector<std::string> lines;  // per witness; empty: none yet
  };
  void run(Witness& w);
  // One submission of `cp` (and one retry after a 409): the verified cosignature
  // line, or Error(unavailable) saying why not.
  std::string exchange(Witness& w, const StoredCheckpoint& cp);
  void cosigned(std::size_t i, const StoredCheckpoint& cp, const std::string& line);  // mu_ held

  const Index& index_;
  const unsigned quorum_;
  const std::chrono::milliseconds timeout_;
  std::vector<std::unique_ptr<Witness>> witnesses_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;  // a new checkpoint, a new quorum, or stop
  bool stopping_ = false;
  std::optional<StoredCheckpoint> latest_;  // the newest checkpoint submitted
  std::map<std::uint64_t, Pending> pending_;  // by size, newer than witnessed_
  std::optional<WitnessedCheckpoint> witnessed_;
};

}  // namespace evidence::ingest
