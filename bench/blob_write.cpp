// Blob write throughput against `openssl dgst -sha256` of the same file, same run.
//
//   bench_blob_write [--size-mib N] [--runs R] [--dir D]
//
// The writer does more than openssl: it hashes AND writes AND fsyncs. Reading the
// source comes from the page cache for both (the file is read once before timing).
// Reports medians of R runs and their ratio (ours / openssl, higher is better).
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "store/blob_store.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

void make_file(const fs::path& p, std::uint64_t size) {
  if (fs::exists(p) && fs::file_size(p) == size) return;
  std::FILE* f = std::fopen(p.c_str(), "wb");
  if (!f) throw std::runtime_error("cannot create " + p.string());
  std::mt19937_64 rng(42);
  std::vector<std::uint64_t> buf(1 << 17);
  for (std::uint64_t done = 0; done < size;) {
    for (auto& x : buf) x = rng();
    auto n = std::min<std::uint64_t>(size - done, buf.size() * 8);
    std::fwrite(buf.data(), 1, n, f);
    done += n;
  }
  std::fclose(f);
}

double time_openssl(const fs::path& file) {
  auto t0 = Clock::now();
  std::string cmd = "openssl dgst -sha256 '" + file.string() + "' > /dev/null";
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("openssl failed");
  return seconds_since(t0);
}

double time_dd_fsync(const fs::path& file, const fs::path& dir) {
  auto out = dir / "dd.out";
  auto t0 = Clock::now();
  std::string cmd = "dd if='" + file.string() + "' of='" + out.string() + "' bs=1M conv=fsync status=none";
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("dd failed");
  double t = seconds_since(t0);
  fs::remove(out);
  return t;
}

double time_blob_write(const fs::path& file, const fs::path& data_dir) {
  fs::remove_all(data_dir);
  evidence::LocalBlobStore store{evidence::Layout(data_dir)};
  int fd = ::open(file.c_str(), O_RDONLY);
  std::vector<std::uint8_t> buf(1 << 20);
  auto t0 = Clock::now();
  auto w = store.begin_write();
  for (;;) {
    auto n = ::read(fd, buf.data(), buf.size());
    if (n <= 0) break;
    w->write({buf.data(), static_cast<std::size_t>(n)});
  }
  w->commit();
  double t = seconds_since(t0);
  ::close(fd);
  return t;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t size_mib = 1024;
  int runs = 3;
  fs::path dir = fs::temp_directory_path() / "evidence-bench";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--size-mib") size_mib = std::stoull(argv[i + 1]);
    else if (a == "--runs") runs = std::stoi(argv[i + 1]);
    else if (a == "--dir") dir = argv[i + 1];
  }
  fs::create_directories(dir);
  auto file = dir / ("input-" + std::to_string(size_mib) + "MiB.bin");
  make_file(file, size_mib << 20);
  time_openssl(file);  // warm the page cache
  std::vector<double> ours, theirs, dd;
  for (int r = 0; r < runs; ++r) {
    theirs.push_back(time_openssl(file));
    dd.push_back(time_dd_fsync(file, dir));
    ours.push_back(time_blob_write(file, dir / "data"));
  }
  fs::remove_all(dir / "data");
  struct rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  double mib = static_cast<double>(size_mib);
  double o = median(theirs), b = median(ours), d = median(dd);
  std::printf("file: %llu MiB, runs: %d (medians)\n", static_cast<unsigned long long>(size_mib), runs);
  std::printf("openssl dgst -sha256      : %8.3f s  %8.1f MiB/s\n", o, mib / o);
  std::printf("blob write (hash+write+fsync): %8.3f s  %8.1f MiB/s\n", b, mib / b);
  std::printf("dd bs=1M conv=fsync       : %8.3f s  %8.1f MiB/s\n", d, mib / d);
  std::printf("ratio blob_write/openssl  : %.2f (target >= 0.80)\n", o / b);
  std::printf("ratio blob_write/dd-fsync : %.2f (the disk's own ceiling for a durable copy)\n", d / b);
  std::printf("peak RSS of this process  : %.1f MiB\n", static_cast<double>(ru.ru_maxrss) / 1024.0);
  return 0;
}
