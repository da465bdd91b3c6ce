#include "base/files.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "base/error.h"

namespace evidence {

std::string read_text_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    std::error_code ec;
    const bool exists = std::filesystem::exists(p, ec);
    throw Error(exists ? Errc::io_error : Errc::not_found, "cannot read " + p.string());
  }
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) throw Error(Errc::io_error, "cannot read " + p.string());
  return s.str();
}

void write_all(int fd, const void* data, std::size_t n, const std::string& what) {
  const auto* p = static_cast<const std::uint8_t*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) throw system_error(errno, "write " + what);
    if (w == 0) throw system_error(EIO, "write " + what);
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

std::string human_bytes(double bytes) {
  static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return buf;
}

}  // namespace evidence
