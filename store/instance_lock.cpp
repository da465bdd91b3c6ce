#include "store/instance_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "base/error.h"

namespace evidence {

InstanceLock::InstanceLock(const Layout& layout) {
  std::error_code ec;
  if (!std::filesystem::is_directory(layout.index_dir(), ec) ||
      !std::filesystem::exists(layout.log_private_key(), ec)) {
    throw Error(Errc::not_found, layout.root().string() +
                                     " is not an evidence data directory (no index or log key); "
                                     "make one with: evidenced init --data " + layout.root().string());
  }
  const auto path = layout.serve_lock();
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) throw Error(Errc::io_error, "open " + path.string() + ": " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char pid[32] = {};
    const ssize_t n = ::pread(fd_, pid, sizeof pid - 1, 0);
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK) {
      std::string holder = n > 0 ? std::string(pid, static_cast<std::size_t>(n)) : std::string("?");
      while (!holder.empty() && (holder.back() == '\n' || holder.back() == '\0')) holder.pop_back();
      throw Error(Errc::conflict, layout.root().string() + " is already served by another evidenced (pid " + holder +
                                      "); stop it first (evidenced verify may run alongside)");
    }
    throw Error(Errc::io_error, "lock " + path.string() + ": " + std::strerror(err));
  }
  // The holder's pid, for the message a second serve prints. Not needed for safety.
  const std::string me = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) == 0) (void)!::pwrite(fd_, me.data(), me.size(), 0);
}

InstanceLock::~InstanceLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace evidence
