// Small in-memory state of a running daemon, shared by the handlers that need it:
// which tus uploads are being written (and their running hashes), when each user was
// last seen, and counters of slots (audits, exports).
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "store/content_id.h"

namespace evidence::ingest {

// In-memory state of tus uploads while the daemon lives: which upload a PATCH is
// writing right now (a second one is refused), and a running SHA-256 of the durable
// prefix so completion need not re-read the file. After a restart the hash is
// rebuilt from the file.
class UploadRegistry {
 public:
  struct Running {
    Sha256 hash;
    std::uint64_t hashed = 0;  // bytes fed to `hash`
  };
  // false when a PATCH on `id` is already running.
  bool try_lock(const std::string& id);
  void unlock(const std::string& id);
  // Takes the running hash out for the duration of a PATCH (nullopt: none kept).
  std::optional<Running> take_hash(const std::string& id);
  void put_hash(const std::string& id, Running r);
  void forget(const std::string& id);

 private:
  std::mutex mu_;
  std::set<std::string> busy_;
  std::map<std::string, Running> hashes_;
};

// When each user was last seen (an authenticated request), kept in memory and
// written to the index by the sweeper: a write per request would put an fsync in
// front of every read.
class LastSeen {
 public:
  void saw(const std::string& name, std::string when);
  // The times recorded since the last take (name -> RFC 3339).
  std::vector<std::pair<std::string, std::string>> take();
  std::optional<std::string> get(const std::string& name);

 private:
  std::mutex mu_;
  std::map<std::string, std::string> latest_, pending_;
};

// At most `max` holders at once; try_take() is false past that (the caller answers 429).
class Slots {
 public:
  explicit Slots(unsigned max) : max_(max) {}
  bool try_take() {
    unsigned n = used_.load();
    do {
      if (n >= max_) return false;
    } while (!used_.compare_exchange_weak(n, n + 1));
    return true;
  }
  void give_back() { --used_; }

 private:
  const unsigned max_;
  std::atomic<unsigned> used_{0};
};

}  // namespace evidence::ingest
