// A cap on the uploads one user runs at once (one-shot POSTs and tus PATCHes with a
// body), so one token cannot take every connection, worker and disk stream: the
// request over the cap is refused with 429 Too Many Requests and Retry-After.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "ingest/http.h"

namespace evidence::ingest {

class UploadSlots {
 public:
  explicit UploadSlots(unsigned per_user) : per_user_(per_user) {}

  // Held for the duration of one upload request; gives the slot back when destroyed.
  class Slot {
   public:
    Slot(UploadSlots& owner, std::string user) : owner_(&owner), user_(std::move(user)) {}
    Slot(Slot&& o) noexcept : owner_(o.owner_), user_(std::move(o.user_)) { o.owner_ = nullptr; }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    Slot& operator=(Slot&&) = delete;
    ~Slot() {
      if (owner_) owner_->release(user_);
    }

   private:
    UploadSlots* owner_;
    std::string user_;
  };

  // Throws HttpError 429 when `user` already runs per_user uploads (0: no cap).
  Slot acquire(const std::string& user) {
    std::lock_guard lock(mu_);
    unsigned& n = running_[user];
    if (per_user_ != 0 && n >= per_user_) {
      if (n == 0) running_.erase(user);
      throw HttpError{http::status::too_many_requests, "too_many_uploads",
                      "at most " + std::to_string(per_user_) + " uploads at once per user",
                      {{"Retry-After", "1"}}};
    }
    ++n;
    return Slot(*this, user);
  }

 private:
  void release(const std::string& user) {
    std::lock_guard lock(mu_);
    auto it = running_.find(user);
    if (it != running_.end() && --it->second == 0) running_.erase(it);
  }

  unsigned per_user_;
  std::mutex mu_;
  std::map<std::string, unsigned> running_;
};

}  // namespace evidence::ingest
