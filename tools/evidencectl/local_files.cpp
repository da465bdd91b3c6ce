#include "tools/evidencectl/local_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <vector>

#include "base/codec.h"
#include "base/timefmt.h"
#include "tools/evidencectl/cli.h"
#include "tools/evidencectl/progress.h"

namespace evidencectl {
namespace fs = std::filesystem;

namespace {
std::mutex& output_mutex() {
  static std::mutex m;
  return m;
}

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

void fsync_dir(const fs::path& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) cannot_run(errno_text("open " + dir.string()));
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) cannot_run(errno_text("fsync " + dir.string()));
}
}  // namespace

evidence::ContentId hash_file(const fs::path& file,
                              const std::function<void(std::uint64_t)>& on_progress) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) cannot_run(errno_text("cannot read " + file.string()));
  evidence::Sha256 h;
  std::vector<std::uint8_t> buf(1 << 20);
  std::uint64_t done = 0;
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const auto msg = errno_text("read " + file.string());
      ::close(fd);
      cannot_run(msg);
    }
    if (n == 0) break;
    h.update(std::span<const std::uint8_t>(buf.data(), static_cast<std::size_t>(n)));
    done += static_cast<std::uint64_t>(n);
    if (on_progress) on_progress(done);
  }
  ::close(fd);
  return h.finish();
}

void write_file_durably(const fs::path& target, std::string_view content) {
  const fs::path dir = target.parent_path();
  std::error_code ec;
  if (!dir.empty()) fs::create_directories(dir, ec);
  const fs::path tmp = target.string() + ".tmp-" + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) cannot_run(errno_text("cannot write " + tmp.string()));
  std::size_t off = 0;
  while (off < content.size()) {
    const ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const auto msg = errno_text("write " + tmp.string());
      ::close(fd);
      ::unlink(tmp.c_str());
      cannot_run(msg);
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const auto msg = errno_text("fsync " + tmp.string());
    ::unlink(tmp.c_str());
    cannot_run(msg);
  }
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    const auto msg = errno_text("rename to " + target.string());
    ::unlink(tmp.c_str());
    cannot_run(msg);
  }
  fsync_dir(dir);
}

PartFile::PartFile(fs::path out) : out_(std::move(out)), part_(out_.string() + ".part") {
  if (fs::exists(out_)) cannot_run(out_.string() + " exists; choose another name with -o");
  fd_ = ::open(part_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) cannot_run(errno_text("cannot write " + part_.string()));
}

PartFile::~PartFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!kept_) ::unlink(part_.c_str());
}

bool PartFile::write(std::span<const char> data) {
  std::size_t off = 0;
  while (!failed_ && off < data.size()) {
    const ssize_t n = ::write(fd_, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) failed_ = true;
    else off += static_cast<std::size_t>(n);
  }
  return !failed_;
}

void PartFile::keep() {
  const bool synced = !failed_ && ::fsync(fd_) == 0;
  const int rc = ::close(fd_);
  fd_ = -1;
  if (!synced || rc != 0) cannot_run("cannot write " + part_.string());
  if (::rename(part_.c_str(), out_.c_str()) != 0) cannot_run(errno_text("rename to " + out_.string()));
  kept_ = true;
  fsync_dir(out_.parent_path());
}

std::string read_small_file(const fs::path& file) {
  std::ifstream f(file, std::ios::binary);
  if (!f) cannot_run("cannot read " + file.string());
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

std::optional<boost::json::object> read_json_object(const fs::path& file) {
  std::error_code ec;
  if (!fs::exists(file, ec)) return std::nullopt;
  const std::string text = read_small_file(file);
  boost::system::error_code jec;
  auto v = boost::json::parse(text, jec);
  if (jec || !v.is_object()) cannot_run(file.string() + " is not a JSON object");
  return std::move(v.as_object());
}

FileIdentity identify(const fs::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) cannot_run(errno_text("cannot stat " + file.string()));
  if (!S_ISREG(st.st_mode)) cannot_run(file.string() + " is not a regular file");
  FileIdentity id;
  id.size = static_cast<std::uint64_t>(st.st_size);
  id.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  id.inode = static_cast<std::uint64_t>(st.st_ino);
  return id;
}

std::string mtime_rfc3339(const fs::path& file) {
  const auto id = identify(file);
  return evidence::format_rfc3339(evidence::from_unix_us(id.mtime_ns / 1000));
}

namespace {
fs::path home_sub(const char* xdg_var, const char* fallback) {
  if (const char* x = std::getenv(xdg_var); x && *x) return fs::path(x) / "evidencectl";
  const char* home = std::getenv("HOME");
  if (!home || !*home) cannot_run(std::string("neither ") + xdg_var + " nor HOME is set");
  return fs::path(home) / fallback / "evidencectl";
}
}  // namespace

fs::path config_dir() { return home_sub("XDG_CONFIG_HOME", ".config"); }
fs::path state_dir() { return home_sub("XDG_STATE_HOME", ".local/state"); }

void say(const std::string& line) {
  std::lock_guard lock(output_mutex());
  progress_line_clear_if_drawn();
  std::cout << line << std::endl;
}

void warn(const std::string& line) {
  std::lock_guard lock(output_mutex());
  progress_line_clear_if_drawn();
  std::cerr << line << std::endl;
}

void log_step(const std::string& line) {
  const auto t = evidence::format_rfc3339(evidence::now_us());
  std::lock_guard lock(output_mutex());
  progress_line_clear_if_drawn();
  std::cerr << t << " " << line << std::endl;
}

}  // namespace evidencectl

#include <csignal>
#include <atomic>

namespace evidencectl {
namespace {
std::atomic<bool> g_stop{false};
extern "C" void on_stop_signal(int) { g_stop = true; }
}  // namespace

std::uint64_t parse_size(const std::string& text) {
  std::size_t pos = 0;
  unsigned long long n = 0;
  try {
    n = std::stoull(text, &pos);
  } catch (const std::exception&) {
    cannot_run("not a size: '" + text + "' (use e.g. 8M, 512K, 1048576)");
  }
  std::string unit = text.substr(pos);
  for (auto& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::uint64_t mult = 1;
  if (unit.empty() || unit == "b") mult = 1;
  else if (unit == "k" || unit == "kb" || unit == "kib") mult = 1ull << 10;
  else if (unit == "m" || unit == "mb" || unit == "mib") mult = 1ull << 20;
  else if (unit == "g" || unit == "gb" || unit == "gib") mult = 1ull << 30;
  else cannot_run("not a size: '" + text + "' (use e.g. 8M, 512K, 1048576)");
  return static_cast<std::uint64_t>(n) * mult;
}

void install_stop_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
}

bool stop_requested() { return g_stop.load(); }

}  // namespace evidencectl
