// The daemon's table of open connections (server.cpp), kept apart so that the
// eviction rule can be read, and tested, on its own.
#pragma once

#include <sys/socket.h>

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>

namespace evidence::ingest {

// Every open connection, so that a full server can make room: when the cap is
// reached, an idle connection (one waiting for a request header) is closed for the
// new one. A flood of idle sockets thus only ever pushes out its own kind, and a
// docking station that connects still gets in.
class ConnectionTable {
 public:
  using Id = std::uint64_t;
  struct Entry {
    boost::asio::ip::address address;
    int fd = -1;  // for shutdown(2), which wakes the session's pending read
    bool idle = true;
    bool authenticated = false;
    std::chrono::steady_clock::time_point idle_since;
  };

  Id add(const boost::asio::ip::address& a, int fd) {
    std::lock_guard lock(mu_);
    const Id id = ++next_;
    conns_.emplace(id, Entry{a, fd, true, false, std::chrono::steady_clock::now()});
    ++per_address_[a];
    return id;
  }
  // Must run before the socket is closed, so that evict() never shuts down a
  // descriptor number that has been reused.
  void remove(Id id) {
    std::lock_guard lock(mu_);
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    if (--per_address_[it->second.address] == 0) per_address_.erase(it->second.address);
    conns_.erase(it);
  }
  void set_idle(Id id, bool idle) {
    std::lock_guard lock(mu_);
    if (auto it = conns_.find(id); it != conns_.end()) {
      it->second.idle = idle;
      if (idle) it->second.idle_since = std::chrono::steady_clock::now();
    }
  }
  void set_authenticated(Id id) {
    std::lock_guard lock(mu_);
    if (auto it = conns_.find(id); it != conns_.end()) it->second.authenticated = true;
  }
  // Closes one idle connection: an unauthenticated one before any that has shown a
  // token, then one of the address holding the most connections (a flood goes before
  // its victims), then the one idle longest. False when none is idle.
  bool evict() {
    std::lock_guard lock(mu_);
    Entry* victim = nullptr;
    auto worse = [this](const Entry& a, const Entry& b) {  // true when a should go before b
      if (a.authenticated != b.authenticated) return !a.authenticated;
      const unsigned na = per_address_[a.address], nb = per_address_[b.address];
      if (na != nb) return na > nb;
      return a.idle_since < b.idle_since;
    };
    for (auto& [id, e] : conns_) {
      if (!e.idle || e.fd < 0) continue;
      if (!victim || worse(e, *victim)) victim = &e;
    }
    if (!victim) return false;
    ::shutdown(victim->fd, SHUT_RDWR);
    victim->fd = -1;  // once is enough; it leaves the table as its session ends
    return true;
  }

 private:
  std::mutex mu_;
  Id next_ = 0;
  std::map<Id, Entry> conns_;
  std::map<boost::asio::ip::address, unsigned> per_address_;
};

}  // namespace evidence::ingest
