// --tsa-url: the daemon time-stamps through an outside RFC 3161 TSA over HTTP or
// HTTPS. The outside TSA here is `openssl ts -reply` behind a tiny loopback HTTP(S)
// server, signing with a second instance's TSA key (so its CA differs from the
// daemon's own).
#include <catch2/catch.hpp>
#include <openssl/ssl.h>
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

// A test CA and a server certificate for 127.0.0.1 signed by it, made with the
// openssl command line: what an agency's own https TSA would present.
struct TlsFiles {
  fs::path ca, cert, key;
};
TlsFiles make_tls_files(const fs::path& dir, const std::string& ip = "127.0.0.1") {
  fs::create_directories(dir);
  TlsFiles f{dir / "ca.pem", dir / "server.pem", dir / "server.key"};
  const auto ca_key = dir / "ca.key", csr = dir / "server.csr", ext = dir / "ext.cnf";
  REQUIRE(run_process({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                       "-nodes", "-keyout", ca_key.string(), "-out", f.ca.string(), "-subj", "/CN=test tls ca",
                       "-days", "2"})
              .exit_code == 0);
  REQUIRE(run_process({"/usr/bin/openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                       "-keyout", f.key.string(), "-out", csr.string(), "-subj", "/CN=tsa.test"})
              .exit_code == 0);
  { std::ofstream(ext) << "subjectAltName = IP:" << ip << "\n"; }
  REQUIRE(run_process({"/usr/bin/openssl", "x509", "-req", "-in", csr.string(), "-CA", f.ca.string(), "-CAkey",
                       ca_key.string(), "-CAcreateserial", "-out", f.cert.string(), "-days", "2", "-extfile",
                       ext.string()})
              .exit_code == 0);
  return f;
}

class OpensslTsaServer {
 public:
  // With `tls`, the server speaks HTTPS with tls->cert and tls->key.
  OpensslTsaServer(fs::path work, fs::path cert, fs::path key, std::optional<TlsFiles> tls = std::nullopt)
      : work_(std::move(work)), cert_(std::move(cert)), key_(std::move(key)) {
    if (tls) {
      ctx_ = SSL_CTX_new(TLS_server_method());
      REQUIRE(SSL_CTX_use_certificate_chain_file(ctx_, tls->cert.c_str()) == 1);
      REQUIRE(SSL_CTX_use_PrivateKey_file(ctx_, tls->key.c_str(), SSL_FILETYPE_PEM) == 1);
    }
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
    if (ctx_) SSL_CTX_free(ctx_);
  }
  std::string url() const {
    return std::string(ctx_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) + "/tsr";
  }
  int answered() const { return answered_; }
  int handshakes() const { return handshakes_; }

 private:
  void run() {
    while (!stop_) {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      if (ctx_) {
        SSL* ssl = SSL_new(ctx_);
        SSL_set_fd(ssl, c);
        if (SSL_accept(ssl) == 1) {
          ++handshakes_;
          serve_one([ssl](char* b, std::size_t n) { return static_cast<ssize_t>(SSL_read(ssl, b, static_cast<int>(n))); },
                    [ssl](const std::string& out) { SSL_write(ssl, out.data(), static_cast<int>(out.size())); });
          SSL_shutdown(ssl);
        }
        SSL_free(ssl);
      } else {
        serve_one([c](char* b, std::size_t n) { return ::recv(c, b, n, 0); },
                  [c](const std::string& out) { ::send(c, out.data(), out.size(), MSG_NOSIGNAL); });
      }
      ::close(c);
    }
  }
  template <class Recv, class Send>
  void serve_one(Recv recv, Send send) {
    std::string in;
    char buf[4096];
    std::size_t need = std::string::npos;
    while (need == std::string::npos || in.size() < need) {
      const ssize_t n = recv(buf, sizeof buf);
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
    send(resp);
  }

  fs::path work_, cert_, key_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> answered_{0}, handshakes_{0};
  SSL_CTX* ctx_ = nullptr;
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

TEST_CASE("an https outside TSA time-stamps when its TLS certificate chains to --tsa-tls-ca", "[daemon][tsa]") {
  TempDir dir;
  const fs::path other = dir.path() / "other-instance";
  REQUIRE(run_process({EVIDENCED_PATH, "init", "--data", other.string()}).exit_code == 0);
  const TlsFiles tls = make_tls_files(dir.path() / "tls");
  fs::create_directories(dir.path() / "tsa-work");
  OpensslTsaServer tsa(dir.path() / "tsa-work", other / "keys" / "tsa.pem", other / "keys" / "tsa.key", tls);
  REQUIRE(tsa.url().rfind("https://", 0) == 0);
  Daemon d(dir.path() / "data", {"--tsa-url", tsa.url(), "--tsa-ca", (other / "keys" / "tsa-ca.pem").string(),
                                 "--tsa-tls-ca", tls.ca.string()});
  auto r = http("POST", d.api("/evidence?officer=o&device=c"), d.admin_token(), "over https");
  INFO(r.body);
  REQUIRE(r.status == 201);
  CHECK(tsa.handshakes() >= 1);
  CHECK(tsa.answered() >= 1);
  CHECK(obj(r)["tsa_ca_pem"].as_string() == read_file(other / "keys" / "tsa-ca.pem"));
  CHECK(d.stop() == 0);
}

TEST_CASE("an https outside TSA whose TLS certificate does not verify gets 503 and commits nothing", "[daemon][tsa]") {
  TempDir dir;
  const fs::path other = dir.path() / "other-instance";
  REQUIRE(run_process({EVIDENCED_PATH, "init", "--data", other.string()}).exit_code == 0);
  const TlsFiles tls = make_tls_files(dir.path() / "tls");
  // A second CA the daemon trusts, which did not sign the server's certificate; and a
  // certificate from the right CA but for another address.
  const TlsFiles stranger = make_tls_files(dir.path() / "stranger");
  const TlsFiles wrong_name = make_tls_files(dir.path() / "wrong-name", "127.0.0.2");
  for (const auto& [served, trusted] : {std::pair{tls, stranger.ca}, std::pair{wrong_name, wrong_name.ca}}) {
    fs::remove_all(dir.path() / "tsa-work");
    fs::create_directories(dir.path() / "tsa-work");
    OpensslTsaServer tsa(dir.path() / "tsa-work", other / "keys" / "tsa.pem", other / "keys" / "tsa.key", served);
    Daemon d(dir.path() / "data", {"--tsa-url", tsa.url(), "--tsa-ca", (other / "keys" / "tsa-ca.pem").string(),
                                   "--tsa-tls-ca", trusted.string()});
    auto r = http("POST", d.api("/evidence?officer=o&device=c"), d.admin_token(), "no trust");
    INFO(r.body);
    CHECK(r.status == 503);
    CHECK(obj(r)["error"].as_string() == "unavailable");
    CHECK(r.body.find("TLS") != std::string::npos);
    CHECK(tsa.answered() == 0);
    CHECK(obj(http("GET", d.api("/search"), d.admin_token()))["items"].as_array().empty());
    CHECK(d.stop() == 0);
  }
}

TEST_CASE("serve: --tsa-tls-ca with a plain http TSA is a usage error", "[daemon][tsa]") {
  TempDir dir;
  const fs::path other = dir.path() / "other-instance";
  REQUIRE(run_process({EVIDENCED_PATH, "init", "--data", other.string()}).exit_code == 0);
  REQUIRE(run_process({EVIDENCED_PATH, "init", "--data", (dir.path() / "data").string()}).exit_code == 0);
  auto r = run_process({EVIDENCED_PATH, "serve", "--data", (dir.path() / "data").string(), "--listen", "127.0.0.1:0",
                        "--tsa-url", "http://127.0.0.1:1/tsr", "--tsa-ca", (other / "keys" / "tsa-ca.pem").string(),
                        "--tsa-tls-ca", (other / "keys" / "tsa-ca.pem").string()},
                       {}, {}, 30);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--tsa-tls-ca") != std::string::npos);
}
