// A small HTTP/1.1 load generator for bench/run.sh (loopback only).
//
//   bench_load --port P --path TARGET [--host 127.0.0.1] [--method POST|GET]
//              [--token T] [--clients C] [--requests N] [--size BYTES]
//              [--expect STATUS] [--rand MAX]
//
// C client threads, each on its own keep-alive connection, send N requests each
// (all threads start together). POST bodies are SIZE bytes: one shared random
// buffer whose first 16 bytes are replaced per request by (client, sequence), so
// every body is distinct content (no de-duplication shortcut). In TARGET, "{r}" is
// replaced per request by a random integer in [0, MAX) (for GET /cases/BENCH-{r}).
//
// Prints one line of key=value: ok, fail, wall_s, bytes, mib_s, items_s, p50_ms,
// p99_ms, max_ms. Latency is per request, from the first byte sent to the last
// byte of the answer. Exit 1 when any request failed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string method = "POST";
  std::string path;
  std::string token;
  int clients = 1;
  int requests = 1;
  std::uint64_t size = 0;
  int expect = 0;  // 0: any 2xx
  long rand_max = 0;
};

int connect_to(const Options& o) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(o.port));
  if (::inet_pton(AF_INET, o.host.c_str(), &a.sin_addr) != 1) throw std::runtime_error("bad host (IPv4 only)");
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    throw std::runtime_error("connect failed");
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

void send_all(int fd, const void* p, std::size_t n) {
  const char* c = static_cast<const char*>(p);
  while (n > 0) {
    ssize_t w = ::send(fd, c, n, MSG_NOSIGNAL);
    if (w <= 0) throw std::runtime_error("send failed");
    c += w;
    n -= static_cast<std::size_t>(w);
  }
}

// Reads one response; returns its status. Sets `keep` false when the server closes.
int read_response(int fd, std::string& buf, bool& keep) {
  std::size_t header_end;
  char tmp[65536];
  while ((header_end = buf.find("\r\n\r\n")) == std::string::npos) {
    ssize_t r = ::recv(fd, tmp, sizeof tmp, 0);
    if (r <= 0) throw std::runtime_error("connection closed before the answer");
    buf.append(tmp, static_cast<std::size_t>(r));
  }
  std::string head = buf.substr(0, header_end);
  for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  int status = std::atoi(head.c_str() + 9);
  std::uint64_t length = 0;
  if (auto p = head.find("\r\ncontent-length:"); p != std::string::npos) {
    length = std::strtoull(head.c_str() + p + 17, nullptr, 10);
  }
  keep = head.find("\r\nconnection: close") == std::string::npos;
  const std::size_t need = header_end + 4 + length;
  while (buf.size() < need) {
    ssize_t r = ::recv(fd, tmp, sizeof tmp, 0);
    if (r <= 0) throw std::runtime_error("connection closed in the answer body");
    buf.append(tmp, static_cast<std::size_t>(r));
  }
  buf.erase(0, need);
  return status;
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  std::size_t i = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error("missing value for " + a);
      return argv[++i];
    };
    if (a == "--host") o.host = next();
    else if (a == "--port") o.port = std::stoi(next());
    else if (a == "--method") o.method = next();
    else if (a == "--path") o.path = next();
    else if (a == "--token") o.token = next();
    else if (a == "--clients") o.clients = std::stoi(next());
    else if (a == "--requests") o.requests = std::stoi(next());
    else if (a == "--size") o.size = std::stoull(next());
    else if (a == "--expect") o.expect = std::stoi(next());
    else if (a == "--rand") o.rand_max = std::stol(next());
    else throw std::runtime_error("unknown option " + a);
  }
  if (o.port <= 0 || o.path.empty()) throw std::runtime_error("--port and --path are required");
  if (o.host != "127.0.0.1" && o.host != "localhost") throw std::runtime_error("loopback only");
  if (o.host == "localhost") o.host = "127.0.0.1";
  if (o.method == "POST" && o.size < 16) throw std::runtime_error("--size must be at least 16 for POST");
  return o;
}

}  // namespace

int main(int argc, char** argv) try {
  const Options o = parse(argc, argv);
  std::vector<std::uint8_t> shared(o.method == "POST" ? o.size : 0);
  {
    std::mt19937_64 rng(7);
    for (std::size_t i = 0; i + 8 <= shared.size(); i += 8) {
      const std::uint64_t x = rng();
      std::memcpy(shared.data() + i, &x, 8);
    }
  }
  // A per-run salt so reruns against one data folder are new content too.
  const std::uint64_t salt = static_cast<std::uint64_t>(Clock::now().time_since_epoch().count());

  std::mutex mu;
  std::vector<double> lat_ms;
  std::atomic<long> ok{0}, fail{0};
  std::string first_error;
  std::barrier start(o.clients + 1);
  std::vector<std::thread> threads;
  for (int c = 0; c < o.clients; ++c) {
    threads.emplace_back([&, c] {
      std::vector<double> mine;
      std::mt19937_64 rng(static_cast<std::uint64_t>(c) * 7919 + salt);
      int fd = -1;
      std::string buf;
      try {
        fd = connect_to(o);
      } catch (const std::exception& e) {
        std::lock_guard l(mu);
        if (first_error.empty()) first_error = e.what();
      }
      start.arrive_and_wait();
      for (int n = 0; n < o.requests; ++n) {
        try {
          if (fd < 0) fd = connect_to(o);
          std::string path = o.path;
          if (auto p = path.find("{r}"); p != std::string::npos) {
            path.replace(p, 3, std::to_string(static_cast<long>(rng() % static_cast<std::uint64_t>(o.rand_max))));
          }
          std::string head = o.method + " " + path + " HTTP/1.1\r\nHost: " + o.host + "\r\n";
          if (!o.token.empty()) head += "Authorization: Bearer " + o.token + "\r\n";
          if (o.method == "POST") {
            head += "Content-Type: application/octet-stream\r\nContent-Length: " + std::to_string(o.size) + "\r\n";
          }
          head += "\r\n";
          const auto t0 = Clock::now();
          send_all(fd, head.data(), head.size());
          if (o.method == "POST") {
            std::uint64_t prefix[2] = {salt ^ static_cast<std::uint64_t>(c), static_cast<std::uint64_t>(n)};
            send_all(fd, prefix, 16);
            send_all(fd, shared.data() + 16, shared.size() - 16);
          }
          bool keep = true;
          const int status = read_response(fd, buf, keep);
          mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
          const bool good = o.expect ? status == o.expect : (status >= 200 && status < 300);
          if (good) {
            ++ok;
          } else {
            ++fail;
            std::lock_guard l(mu);
            if (first_error.empty()) first_error = "status " + std::to_string(status);
          }
          if (!keep) {
            ::close(fd);
            fd = -1;
            buf.clear();
          }
        } catch (const std::exception& e) {
          ++fail;
          if (fd >= 0) ::close(fd);
          fd = -1;
          buf.clear();
          std::lock_guard l(mu);
          if (first_error.empty()) first_error = e.what();
        }
      }
      if (fd >= 0) ::close(fd);
      std::lock_guard l(mu);
      lat_ms.insert(lat_ms.end(), mine.begin(), mine.end());
    });
  }
  start.arrive_and_wait();
  const auto t0 = Clock::now();
  for (auto& t : threads) t.join();
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  const double bytes = static_cast<double>(ok.load()) * static_cast<double>(o.size);
  std::printf("ok=%ld fail=%ld wall_s=%.4f bytes=%.0f mib_s=%.2f items_s=%.2f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
              ok.load(), fail.load(), wall, bytes, bytes / 1048576.0 / wall, static_cast<double>(ok.load()) / wall,
              percentile(lat_ms, 0.50), percentile(lat_ms, 0.99), percentile(lat_ms, 1.0));
  if (!first_error.empty()) std::fprintf(stderr, "bench_load: first error: %s\n", first_error.c_str());
  return fail.load() == 0 ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench_load: %s\n", e.what());
  return 2;
}
