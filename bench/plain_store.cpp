// bench_plain_store: the small-item baseline of bench/run.sh (issue 22). CLIENTS
// threads each store REQUESTS items of SIZE bytes durably the plain way, one at a
// time: write a temporary file, fdatasync it, rename it to its final name, fsync the
// folder. No hashing, no index, no time stamp: what a careful program pays per item
// without a group commit. Prints one key=value line as bench_load does.
//
//   bench_plain_store --dir DIR --clients 16 --requests 100 --size 65536
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

void write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      die("write");
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

void store_one(int dir_fd, const std::string& name, const std::vector<char>& body) {
  const std::string tmp = name + ".tmp";
  const int fd = ::openat(dir_fd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) die("open " + tmp);
  write_all(fd, body.data(), body.size());
  if (::fdatasync(fd) != 0) die("fdatasync");
  ::close(fd);
  if (::renameat(dir_fd, tmp.c_str(), dir_fd, name.c_str()) != 0) die("rename");
  if (::fsync(dir_fd) != 0) die("fsync folder");
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) try {
  std::string dir;
  long clients = 16, requests = 100, size = 65536;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--dir") dir = v;
    else if (k == "--clients") clients = std::stol(v);
    else if (k == "--requests") requests = std::stol(v);
    else if (k == "--size") size = std::stol(v);
    else throw std::runtime_error("unknown option " + k);
  }
  if (dir.empty() || clients < 1 || requests < 1 || size < 1)
    throw std::runtime_error("usage: bench_plain_store --dir DIR [--clients N] [--requests N] [--size BYTES]");
  ::mkdir(dir.c_str(), 0755);
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) die("open " + dir);

  std::mutex mu;
  std::vector<double> latencies;
  std::atomic<long> ok{0};
  std::string first_error;
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (long c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      std::vector<char> body(static_cast<std::size_t>(size));
      std::vector<double> mine;
      for (long r = 0; r < requests; ++r) {
        // Distinct bytes per item, as the HTTP rounds send.
        std::snprintf(body.data(), body.size(), "%ld-%ld", c, r);
        const auto t = Clock::now();
        try {
          store_one(dir_fd, "item-" + std::to_string(c) + "-" + std::to_string(r), body);
          ++ok;
        } catch (const std::exception& e) {
          std::lock_guard lock(mu);
          if (first_error.empty()) first_error = e.what();
          continue;
        }
        mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t).count());
      }
      std::lock_guard lock(mu);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
    });
  }
  for (auto& t : threads) t.join();
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  ::close(dir_fd);
  const long fail = clients * requests - ok.load();
  std::printf("ok=%ld fail=%ld wall_s=%.4f items_s=%.2f p50_ms=%.3f p99_ms=%.3f\n", ok.load(), fail, wall,
              static_cast<double>(ok.load()) / wall, percentile(latencies, 0.50), percentile(latencies, 0.99));
  if (!first_error.empty()) std::fprintf(stderr, "bench_plain_store: first error: %s\n", first_error.c_str());
  return fail == 0 ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench_plain_store: %s\n", e.what());
  return 2;
}
