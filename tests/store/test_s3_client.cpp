// The S3 client's retry behaviour against a scripted HTTP server on 127.0.0.1 (no
// Ceph needed): 5xx answers and stalls are retried, 4xx answers are not, and every
// request is signed with a payload hash.
#include <catch2/catch.hpp>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "store/s3/s3_client.h"
#include "base/codec.h"
#include "base/error.h"

using namespace evidence;
using namespace evidence::s3;
namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

// Answers each request with the next status of `script` (the last one repeats); a
// status of 0 means "read the request, then say nothing" (a stalled server).
// One connection at a time, like a tiny server; enough for the client's sequential retries.
class ScriptedServer {
 public:
  explicit ScriptedServer(std::vector<unsigned> script)
      : script_(std::move(script)), acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this] { serve(); });
  }
  ~ScriptedServer() {
    stop_ = true;
    boost::system::error_code ec;
    // Wake the accept with a connection of our own.
    asio::ip::tcp::socket s(ioc_);
    s.connect(acceptor_.local_endpoint(), ec);
    thread_.join();
  }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()); }
  int requests() const { return requests_; }
  std::vector<http::request<http::string_body>> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }

 private:
  void serve() {
    while (!stop_) {
      asio::ip::tcp::socket sock(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(sock, ec);
      if (ec || stop_) return;
      boost::beast::flat_buffer buf;
      for (;;) {
        http::request<http::string_body> req;
        http::read(sock, buf, req, ec);
        if (ec) break;
        unsigned status;
        {
          std::lock_guard lock(mu_);
          seen_.push_back(req);
          status = script_[std::min<std::size_t>(requests_, script_.size() - 1)];
        }
        ++requests_;
        if (status == 0) {
          held_.push_back(std::move(sock));  // never answered, closed at the end
          break;
        }
        http::response<http::string_body> res{static_cast<http::status>(status), 11};
        res.body() = status >= 300 ? "<Error><Code>Scripted</Code><Message>status " + std::to_string(status) +
                                         "</Message></Error>"
                                   : "ok";
        res.prepare_payload();
        http::write(sock, res, ec);
        if (ec) break;
      }
    }
  }

  std::vector<unsigned> script_;
  asio::io_context ioc_;
  asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::mutex mu_;
  std::vector<http::request<http::string_body>> seen_;
  std::vector<asio::ip::tcp::socket> held_;
};

s3::ClientOptions options(const std::string& endpoint) {
  s3::ClientOptions o;
  o.endpoint = endpoint;
  o.credentials = {"AKIDEXAMPLE", "secret"};
  o.backoff = std::chrono::milliseconds(10);
  o.timeout = std::chrono::milliseconds(300);
  o.max_attempts = 3;
  return o;
}

}  // namespace

TEST_CASE("s3 client: 5xx answers are retried until one succeeds", "[s3][client]") {
  ScriptedServer server({503, 500, 200});
  s3::Client client(options(server.endpoint()));
  s3::Request r;
  r.method = "PUT";
  r.path = "/bucket/sha256/ab";
  std::string body = "payload";
  r.body = as_bytes(body);
  auto res = client.send(r);
  CHECK(res.status == 200);
  CHECK(res.body == "ok");
  CHECK(server.requests() == 3);
  for (auto& req : server.seen()) {
    CHECK(req.body() == "payload");
    CHECK(std::string(req["x-amz-content-sha256"]) == s3::sha256_hex(as_bytes(body)));
    CHECK(std::string(req[http::field::authorization]).rfind("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/", 0) == 0);
  }
}

TEST_CASE("s3 client: a persistent 5xx is returned after the last attempt", "[s3][client]") {
  ScriptedServer server({503});
  s3::Client client(options(server.endpoint()));
  s3::Request r;
  r.path = "/bucket";
  auto res = client.send(r);
  CHECK(res.status == 503);
  CHECK(server.requests() == 3);
  CHECK(s3::describe_error(res) == "HTTP 503 Scripted: status 503");
}

TEST_CASE("s3 client: 4xx answers are not retried", "[s3][client]") {
  ScriptedServer server({403, 200});
  s3::Client client(options(server.endpoint()));
  s3::Request r;
  r.method = "DELETE";
  r.path = "/bucket/key";
  CHECK(client.send(r).status == 403);
  CHECK(server.requests() == 1);
}

TEST_CASE("s3 client: a stalled server times out, is retried, then reported unavailable", "[s3][client]") {
  ScriptedServer server({0});
  auto o = options(server.endpoint());
  o.max_attempts = 2;
  s3::Client client(o);
  s3::Request r;
  r.path = "/bucket";
  try {
    client.send(r);
    FAIL("a stalled request returned");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::unavailable);
  }
  CHECK(server.requests() == 2);
}

TEST_CASE("s3 client: endpoints must be plain http(s) URLs without a path", "[s3][client]") {
  auto make = [](const std::string& url) {
    s3::ClientOptions o;
    o.endpoint = url;
    o.credentials = {"a", "b"};
    return s3::Client(o);
  };
  CHECK_NOTHROW(make("http://127.0.0.1:7480"));
  CHECK_NOTHROW(make("https://s3.example.org"));
  CHECK_THROWS_AS(make("ftp://127.0.0.1"), Error);
  CHECK_THROWS_AS(make("http://127.0.0.1:7480/bucket"), Error);
  CHECK_THROWS_AS(make("http://user:pw@127.0.0.1"), Error);
}
