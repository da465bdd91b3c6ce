// --tsa-url: the daemon time-stamps through an outside RFC 3161 TSA over HTTP. The
// outside TSA here is `openssl ts -reply` behind a tiny loopback HTTP server, signing
// with a second instance's TSA key (so its CA differs from the daemon's own).
#include <catch2/catch.hpp>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "tests/ingest/daemon_fixture.h"

using namespace evidence;
using namespace evidence::test;
namespace fs = std::filesystem;

namespace {

class OpensslTsaServer {
 public:
  OpensslTsaServer(fs::path work, fs::path cert, fs::path key) : work_(std::move(work)), cert_(std::move(cert)), key_(std::move(key)) {
    { std::ofstream(work_ / "serial") << "01\n"; }
    std::ofstream(work_ / "tsa.cnf") << "[ tsa ]\ndefault_tsa = tsa1\n[ tsa1 ]\nserial = " << (work_ / "serial").string()
                                     << "\nsigner_digest = sha256\ndefault_policy = 1.2.3.4.1\ndigests = sha256\n"
                                        "ess_cert_id_alg = sha256\naccuracy = secs:1\n";
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    ::listen(fd_, 8);
    thread_ = std::thread([this] { run(); });
  }
  ~OpensslTsaServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/tsr"; }
  int answered() const { return answered_; }

 private:
  void run() {
    while (!stop_) {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      serve_one(c);
      ::close(c);
    }
  }
  void serve_one(int c) {
    std::string in;
    char buf[4096];
    std::size_t need = std::string::npos;
    while (need == std::string::npos || in.size() < need) {
      const ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) return;
      in.append(buf, static_cast<std::size_t>(n));
      const auto end = in.find("\r\n\r\n");
      if (end != std::string::npos && need == std::string::npos) {
        std::string head = in.substr(0, end);
        for (auto& ch : head) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        const auto cl = head.find("content-length:");
        if (cl == std::string::npos) return;
        need = end + 4 + std::stoul(head.substr(cl + 15));
      }
    }
    const std::string query = in.substr(in.find("\r\n\r\n") + 4);
    { std::ofstream(work_ / "q.tsq", std::ios::binary) << query; }
    fs::remove(work_ / "r.tsr");
    auto r = run_process({"/usr/bin/openssl", "ts", "-reply", "-config", (work_ / "tsa.cnf").string(), "-queryfile",
                          (work_ / "q.tsq").string(), "-signer", cert_.string(), "-inkey", key_.string(), "-out",
                          (work_ / "r.tsr").string()});
    const std::string body = r.exit_code == 0 ? read_file(work_ / "r.tsr") : std::string();
    const std::string resp = std::string(r.exit_code == 0 ? "HTTP/1.1 200 OK" : "HTTP/1.1 500 Error") +
                             "\r\nContent-Type: application/timestamp-reply\r\nConnection: close\r\nContent-Length: " +
                             std::to_string(body.size()) + "\r\n\r\n" + body;
    // Counted before the answer goes out: the daemon may act on it, and the test
    // look at the count, before this thread runs again.
    if (r.exit_code == 0) ++answered_;
    ::send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
  }

  fs::path work_, cert_, key_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> answered_{0};
  std::thread thread_;
};

}  // namespace

TEST_CASE("an outside TSA given with --tsa-url time-stamps, and openssl verifies its token", "[daemon][tsa]") {
  TempDir dir;
  const fs::path other = dir.path() / "other-instance";
  auto init = run_process({EVIDENCED_PATH, "init", "--data", other.string()});
  REQUIRE(init.exit_code == 0);
  fs::create_directories(dir.path() / "tsa-work");
  OpensslTsaServer tsa(dir.path() / "tsa-work", other / "keys" / "tsa.pem", other / "keys" / "tsa.key");

  Daemon d(dir.path() / "data", {"--tsa-url", tsa.url(), "--tsa-ca", (other / "keys" / "tsa-ca.pem").string()});
  const std::string data = random_bytes_string(4000, 2);
  auto r = http("POST", d.api("/evidence?officer=o&device=c"), d.admin_token(), data);
  INFO(r.body);
  REQUIRE(r.status == 201);
  CHECK(tsa.answered() >= 1);
  auto receipt = obj(r);
  CHECK(receipt["tsa_ca_pem"].as_string() == read_file(other / "keys" / "tsa-ca.pem"));

  const auto file = dir.path() / "f.bin";
  { std::ofstream(file, std::ios::binary) << data; }
  const auto tsr = dir.path() / "t.tsr";
  auto tok = from_base64(std::string(receipt["timestamp_token"].as_string()));
  REQUIRE(tok);
  { std::ofstream(tsr, std::ios::binary).write(reinterpret_cast<const char*>(tok->data()), static_cast<std::streamsize>(tok->size())); }
  auto outside = run_process({"/usr/bin/openssl", "ts", "-verify", "-data", file.string(), "-in", tsr.string(), "-CAfile",
                              (other / "keys" / "tsa-ca.pem").string()});
  INFO(outside.out << outside.err);
  CHECK(outside.exit_code == 0);
  // ...and not with the daemon's own embedded CA: the outside TSA really signed it.
  auto own = run_process({"/usr/bin/openssl", "ts", "-verify", "-data", file.string(), "-in", tsr.string(), "-CAfile",
                          (d.data_dir() / "keys" / "tsa-ca.pem").string()});
  CHECK(own.exit_code != 0);
}

TEST_CASE("an outside TSA that cannot be reached answers 503 and commits nothing", "[daemon][tsa]") {
  TempDir dir;
  const fs::path other = dir.path() / "other-instance";
  REQUIRE(run_process({EVIDENCED_PATH, "init", "--data", other.string()}).exit_code == 0);
  Daemon d(dir.path() / "data", {"--tsa-url", "http://127.0.0.1:1/tsr", "--tsa-ca", (other / "keys" / "tsa-ca.pem").string()});
  auto r = http("POST", d.api("/evidence?officer=o&device=c"), d.admin_token(), "abc");
  CHECK(r.status == 503);
  CHECK(obj(r)["error"].as_string() == "unavailable");
  auto s = http("GET", d.api("/search"), d.admin_token());
  CHECK(obj(s)["items"].as_array().empty());
}

TEST_CASE("an outside TSA whose token is signed by an untrusted key gets 503 tsa_invalid and stores nothing",
          "[daemon][tsa]") {
  TempDir dir;
  // The TSA signs with instance A's key; the daemon is told to trust instance B's CA.
  const fs::path a = dir.path() / "instance-a", b = dir.path() / "instance-b";
  REQUIRE(run_process({EVIDENCED_PATH, "init", "--data", a.string()}).exit_code == 0);
  REQUIRE(run_process({EVIDENCED_PATH, "init", "--data", b.string()}).exit_code == 0);
  fs::create_directories(dir.path() / "tsa-work");
  OpensslTsaServer tsa(dir.path() / "tsa-work", a / "keys" / "tsa.pem", a / "keys" / "tsa.key");
  Daemon d(dir.path() / "data", {"--tsa-url", tsa.url(), "--tsa-ca", (b / "keys" / "tsa-ca.pem").string()});
  auto r = http("POST", d.api("/evidence?officer=o&device=c"), d.admin_token(), "untrusted stamp");
  INFO(r.body);
  CHECK(r.status == 503);
  CHECK(obj(r)["error"].as_string() == "tsa_invalid");
  CHECK(tsa.answered() >= 1);  // the TSA did answer; its token was refused
  // No item, and no entry in the log (an unreferenced blob may stay: an orphan hint).
  CHECK(obj(http("GET", d.api("/search"), d.admin_token()))["items"].as_array().empty());
  CHECK(obj(http("GET", d.api("/log/entries?start=0&end=100"), d.admin_token()))["entries"].as_array().empty());
  // A tus upload is refused the same way at its completing PATCH, and keeps its bytes.
  auto t = http("POST", d.api("/uploads"), d.admin_token(), "abc",
                {{"Tus-Resumable", "1.0.0"},
                 {"Upload-Length", "3"},
                 {"Upload-Metadata", "officer " + b64("o") + ",device " + b64("c")},
                 {"Content-Type", "application/offset+octet-stream"}});
  CHECK(t.status == 503);
  CHECK(obj(http("GET", d.api("/search"), d.admin_token()))["items"].as_array().empty());
  CHECK(d.stop() == 0);
}

TEST_CASE("serve with an outside TSA but no --tsa-ca is a usage error", "[daemon][tsa]") {
  TempDir dir;
  REQUIRE(run_process({EVIDENCED_PATH, "init", "--data", (dir.path() / "data").string()}).exit_code == 0);
  auto r = run_process({EVIDENCED_PATH, "serve", "--data", (dir.path() / "data").string(), "--listen", "127.0.0.1:0",
                        "--tsa-url", "http://127.0.0.1:1/tsr"},
                       {}, {}, 30);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--tsa-ca") != std::string::npos);
}
