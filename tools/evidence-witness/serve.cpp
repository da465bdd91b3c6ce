#include "tools/evidence-witness/serve.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <iostream>
#include <list>
#include <mutex>
#include <thread>

#include "base/error.h"
#include "verify/signed_note.h"
#include "verify/witness.h"

namespace evidence::witness {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// A request body is an old-size line, at most 63 hashes and a checkpoint with a few
// signatures: 64 KiB is far more than any honest one.
constexpr std::size_t kMaxBody = 64 * 1024;

struct Witness {
  WitnessDir dir;
  WitnessState state;
  note::Ed25519Key key;
  std::mutex mu;  // check and save are one step (the protocol's atomicity rule)
};

http::response<http::string_body> answer(const http::request<http::string_body>& req, Witness& w) {
  http::response<http::string_body> res;
  res.version(req.version());
  res.keep_alive(req.keep_alive());
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  if (req.target() != "/add-checkpoint") {
    res.result(http::status::not_found);
    res.body() = "not found: this witness answers POST /add-checkpoint\n";
  } else if (req.method() != http::verb::post) {
    res.result(http::status::method_not_allowed);
    res.set(http::field::allow, "POST");
    res.body() = "add-checkpoint is a POST\n";
  } else {
    const auto now = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
    std::lock_guard lock(w.mu);
    WitnessState next = w.state;
    Answer a = add_checkpoint(req.body(), next, w.key, now);
    if (a.status == 200 && a.state_changed) {
      try {
        w.dir.save(next);  // durable before the cosignature leaves
      } catch (const std::exception& e) {
        std::cerr << "evidence-witness: cannot save state: " << e.what() << "\n";
        a = Answer{503, "text/plain; charset=utf-8", "the witness cannot save its state now\n", false};
      }
    }
    if (a.status == 200) w.state = std::move(next);
    res.result(static_cast<http::status>(a.status));
    res.set(http::field::content_type, a.content_type);
    res.body() = std::move(a.body);
  }
  res.prepare_payload();
  return res;
}

void session(tcp::socket sock, Witness& w) {
  // Blocking reads and writes give up after 30 s of silence.
  timeval tv{30, 0};
  ::setsockopt(sock.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(sock.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  beast::flat_buffer buffer;
  beast::error_code ec;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(kMaxBody);
    parser.header_limit(16 * 1024);
    http::read(sock, buffer, parser, ec);
    if (ec == http::error::end_of_stream || ec == asio::error::eof) break;
    if (ec) {
      http::response<http::string_body> res{ec == http::error::body_limit ? http::status::payload_too_large
                                                                          : http::status::bad_request,
                                            11};
      res.set(http::field::content_type, "text/plain; charset=utf-8");
      res.body() = "bad request: " + ec.message() + "\n";
      res.keep_alive(false);
      res.prepare_payload();
      http::write(sock, res, ec);
      break;
    }
    auto res = answer(parser.get(), w);
    http::write(sock, res, ec);
    if (ec || !res.keep_alive()) break;
  }
  sock.shutdown(tcp::socket::shutdown_both, ec);
}

}  // namespace

int serve(const WitnessDir& dir, const std::string& listen) {
  WitnessLock lock(dir);
  Witness w{dir, dir.load(), note::Ed25519Key::load(dir.key_file()), {}};
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) throw Error(Errc::invalid_argument, "--listen must be HOST:PORT: " + listen);
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(host, ec);
  if (ec) throw Error(Errc::invalid_argument, "--listen host must be an IP address: " + host);
  unsigned long port = 0;
  try {
    port = std::stoul(listen.substr(colon + 1));
  } catch (const std::exception&) {
    port = 65536;
  }
  if (port > 65535) throw Error(Errc::invalid_argument, "--listen port must be 0-65535: " + listen);

  asio::io_context ioc;
  tcp::acceptor acceptor(ioc, tcp::endpoint(addr, static_cast<unsigned short>(port)));
  asio::signal_set signals(ioc, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code&, int) {
    acceptor.close();
    ioc.stop();
  });
  std::mutex threads_mu;
  std::list<std::thread> threads;
  std::function<void()> accept_next = [&] {
    acceptor.async_accept([&](boost::system::error_code aec, tcp::socket sock) {
      if (aec) return;
      std::lock_guard g(threads_mu);
      threads.emplace_back([s = std::move(sock), &w]() mutable { session(std::move(s), w); });
      accept_next();
    });
  };
  accept_next();
  const auto bound = acceptor.local_endpoint();
  const std::string shown = bound.address().is_v6() ? "[" + bound.address().to_string() + "]" : bound.address().to_string();
  std::cout << "listening on http://" << shown << ":" << bound.port() << std::endl;
  std::cerr << "evidence-witness " << w.state.name << ": " << w.state.logs.size() << " log(s)" << std::endl;
  ioc.run();
  // Sessions still open finish their request (reads time out after 30 s at most).
  for (auto& t : threads) t.join();
  return 0;
}

}  // namespace evidence::witness
