// Who may open a data directory for writing: one `evidenced serve` at a time.
//
// The lock is flock(2) on DIR/serve.lock, held while the InstanceLock lives and
// released by the kernel when the process dies (kill -9 included), so a crash never
// leaves a stale lock. Readers (`evidenced verify`) take no lock: LMDB's MVCC lets
// them read alongside the daemon.
#pragma once

#include "store/layout.h"

namespace evidence {

class InstanceLock {
 public:
  // Throws Error(not_found) when `layout` is not a data directory made by
  // `evidenced init` (so serve never creates an index in a wrong folder), and
  // Error(conflict) naming the holder's pid when another process holds the lock.
  explicit InstanceLock(const Layout& layout);
  ~InstanceLock();
  InstanceLock(const InstanceLock&) = delete;
  InstanceLock& operator=(const InstanceLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace evidence
