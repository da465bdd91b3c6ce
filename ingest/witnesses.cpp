#include "ingest/witnesses.h"

#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <boost/asio/as_tuple.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <charconv>
#include <exception>

#include "base/codec.h"
#include "base/error.h"
#include "ingest/logging.h"
#include "verify/cosignature.h"

namespace evidence::ingest {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;

namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kFirstBackoff = std::chrono::milliseconds(250);
constexpr auto kMaxBackoff = std::chrono::seconds(60);
constexpr std::size_t kMaxPending = 16;  // checkpoints still short of their quorum

struct Answer {
  unsigned status = 0;
  std::string content_type;
  std::string body;
};

// The witness's addresses, by `deadline`. An IP address is used as is; a host name is
// looked up on a thread of its own (getaddrinfo cannot be cancelled, and asio's
// resolver would make the io_context's destructor wait for it), which is left behind
// to finish by itself when the deadline passes or the daemon stops first.
std::vector<asio::ip::tcp::endpoint> lookup(const std::string& host, const std::string& port,
                                            Clock::time_point deadline, const std::atomic<bool>& halted) {
  std::uint16_t number = 0;
  const auto [end, perr] = std::from_chars(port.data(), port.data() + port.size(), number);
  if (perr != std::errc{} || end != port.data() + port.size()) throw Error(Errc::unavailable, "bad port " + port);
  beast::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (!ec) return {asio::ip::tcp::endpoint(address, number)};
  struct Lookup {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    beast::error_code ec;
    std::vector<asio::ip::tcp::endpoint> found;
  };
  auto state = std::make_shared<Lookup>();
  std::thread([state, host, port] {
    asio::io_context io;
    asio::ip::tcp::resolver resolver(io);
    beast::error_code e;
    const auto results = resolver.resolve(host, port, e);
    std::lock_guard lock(state->mu);
    state->ec = e;
    if (!e) {
      for (const auto& r : results) state->found.push_back(r.endpoint());
    }
    state->done = true;
    state->cv.notify_all();
  }).detach();
  std::unique_lock lock(state->mu);
  while (!state->done) {
    if (halted) throw Error(Errc::unavailable, "the daemon is stopping");
    if (Clock::now() >= deadline) throw Error(Errc::unavailable, "looking up " + host + " took too long");
    state->cv.wait_until(lock, std::min(deadline, Clock::now() + std::chrono::milliseconds(50)));
  }
  if (state->ec) throw Error(Errc::unavailable, "looking up " + host + ": " + state->ec.message());
  if (state->found.empty()) throw Error(Errc::unavailable, "no address for " + host);
  return state->found;
}

// One POST over plain HTTP on its own io_context, which `enter` registers while it
// runs (so that halt() can stop it); `deadline` bounds connect, write and read.
Answer post(const std::vector<asio::ip::tcp::endpoint>& endpoints, const std::string& host_header,
            const std::string& target, const std::string& body, Clock::time_point deadline,
            const std::function<bool(asio::io_context*)>& enter) {
  bhttp::request<bhttp::string_body> req{bhttp::verb::post, target, 11};
  req.set(bhttp::field::host, host_header);
  req.set(bhttp::field::content_type, "text/plain; charset=utf-8");
  req.body() = body;
  req.prepare_payload();
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 * 1024);

  asio::io_context ioc;
  beast::error_code ec;
  bool finished = false;
  beast::tcp_stream tcp(ioc);
  beast::flat_buffer buffer;
  // One chain of handlers under one expiry: connect, write, read.
  tcp.expires_at(deadline);
  tcp.async_connect(endpoints, [&](beast::error_code e1, const auto&) {
    if ((ec = e1)) {
      finished = true;
      return;
    }
    bhttp::async_write(tcp, req, [&](beast::error_code e2, std::size_t) {
      if ((ec = e2)) {
        finished = true;
        return;
      }
      bhttp::async_read(tcp, buffer, parser, [&](beast::error_code e3, std::size_t) {
        ec = e3;
        finished = true;
      });
    });
  });
  if (!enter(&ioc)) throw Error(Errc::unavailable, "the daemon is stopping");
  ioc.run();
  enter(nullptr);
  if (!finished) throw Error(Errc::unavailable, "the daemon is stopping");
  if (ec) throw Error(Errc::unavailable, ec.message());
  const auto& res = parser.get();
  return {res.result_int(), std::string(res[bhttp::field::content_type]), res.body()};
}

std::string one_line(std::string_view s) {
  std::string out(s.substr(0, std::min<std::size_t>(s.size(), 200)));
  std::replace_if(out.begin(), out.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return out;
}

// Prometheus label value: backslash, double quote and newline escaped.
std::string label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace

struct Witnesses::Witness {
  WitnessEndpoint endpoint;
  std::string host, port, host_header, target;
  std::size_t slot = 0;
  std::thread thread;
  // The witness thread's own: the size the witness holds for our log, as far as we know.
  std::uint64_t known_size = 0;
  // Under mu_: the note it last cosigned for us, the last round it answered (or
  // failed), and when to try again after a failure.
  std::string last_note;
  std::uint64_t tried_round = 0;
  Clock::time_point retry_at{};
  std::chrono::milliseconds backoff{0};
  // Read by the metrics at any time.
  std::atomic<std::uint64_t> cosigned_total{0}, failures_total{0}, size{0};
  std::atomic<int> up{-1};  // -1: not tried yet
  // The exchange in flight, for halt().
  std::mutex ioc_mu;
  asio::io_context* active = nullptr;
};

WitnessEndpoint WitnessEndpoint::parse(std::string_view arg) {
  const auto at = arg.find('@');
  if (at == std::string_view::npos) {
    throw Error(Errc::invalid_argument, "--witness must be VKEY@URL (the witness's verifier key, then its URL): " +
                                            std::string(arg));
  }
  auto key = note::Verifier::parse(arg.substr(0, at));
  if (!key || key->type != note::kTypeCosignatureV1) {
    throw Error(Errc::invalid_argument,
                "--witness: not a cosignature/v1 verifier key (name+hash+base64): " + std::string(arg.substr(0, at)));
  }
  const std::string url(arg.substr(at + 1));
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed || parsed->scheme() != "http" || parsed->host().empty() || parsed->has_userinfo() ||
      parsed->has_query() || parsed->has_fragment()) {
    throw Error(Errc::invalid_argument, "--witness: the URL must be http://HOST[:PORT][/PATH]: " + url);
  }
  return {*key, url};
}

Witnesses::Witnesses(const Index& index, std::vector<WitnessEndpoint> endpoints, unsigned quorum,
                     std::chrono::milliseconds timeout)
    : index_(index), quorum_(quorum), timeout_(timeout) {
  if (quorum == 0 || quorum > endpoints.size()) {
    throw Error(Errc::invalid_argument, "--witness-quorum must be between 1 and the number of --witness (" +
                                            std::to_string(endpoints.size()) + ")");
  }
  std::vector<note::Verifier> keys;
  for (const auto& e : endpoints) keys.push_back(e.key);
  if (const auto* twice = note::repeated_witness(keys)) {
    throw Error(Errc::invalid_argument, "--witness: the witness " + twice->name +
                                            " is named twice (one witness counts once toward the quorum)");
  }
  for (auto& e : endpoints) {
    auto w = std::make_unique<Witness>();
    auto u = boost::urls::parse_uri(e.url);
    if (!u) throw Error(Errc::invalid_argument, "--witness: bad URL " + e.url);
    w->host = u->host_address();
    w->port = u->has_port() ? std::string(u->port()) : "80";
    w->host_header = u->encoded_host_and_port();
    std::string path(u->encoded_path());
    while (!path.empty() && path.back() == '/') path.pop_back();
    w->target = path + "/add-checkpoint";
    w->slot = witnesses_.size();
    w->endpoint = std::move(e);
    witnesses_.push_back(std::move(w));
  }
}

Witnesses::~Witnesses() { stop(); }

void Witnesses::start() {
  for (auto& w : witnesses_) {
    Witness& ref = *w;
    w->thread = std::thread([this, &ref] { run(ref); });
  }
}

void Witnesses::halt() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    halted_ = true;
    wake_ready();
  }
  cv_.notify_all();
  for (auto& w : witnesses_) {
    std::lock_guard lock(w->ioc_mu);
    if (w->active) w->active->stop();
  }
}

void Witnesses::stop() {
  halt();
  for (auto& w : witnesses_) {
    if (w->thread.joinable()) w->thread.join();
  }
}

void Witnesses::submit(const StoredCheckpoint& cp) {
  std::lock_guard lock(mu_);
  if (latest_ && latest_->size >= cp.size) return;
  latest_ = cp;
  advance_round();
}

std::optional<WitnessedCheckpoint> Witnesses::newest() const {
  std::lock_guard lock(mu_);
  return witnessed_;
}

bool Witnesses::quorum_unreachable() const {
  // A witness that is down answers nothing within the timeout: do not wait for it.
  const auto failing = std::count_if(witnesses_.begin(), witnesses_.end(), [](const auto& w) { return w->up == 0; });
  return witnesses_.size() - static_cast<std::size_t>(failing) < quorum_;
}

bool Witnesses::ready(std::uint64_t min_size) const {
  return stopping_ || (witnessed_ && witnessed_->size >= min_size) || quorum_unreachable();
}

void Witnesses::wake_ready() {
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    if (ready(it->second.first)) {
      it->second.second();
      it = waiters_.erase(it);
    } else {
      ++it;
    }
  }
}

Task<void> Witnesses::wait(std::uint64_t min_size) {
  // The coroutine runs on its connection's strand: a wake posted there runs only once
  // this coroutine is suspended in async_wait, so none is lost.
  auto timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor, timeout_);
  std::uint64_t id = 0;
  {
    std::lock_guard lock(mu_);
    if (ready(min_size)) co_return;
    id = next_waiter_++;
    waiters_.emplace(id, std::make_pair(min_size, std::function<void()>([timer] {
                                          asio::post(timer->get_executor(), [timer] { timer->cancel(); });
                                        })));
  }
  // Also when the frame is destroyed unresumed (the daemon's io_context going away).
  struct Forget {
    Witnesses& self;
    std::uint64_t id;
    ~Forget() {
      std::lock_guard lock(self.mu_);
      self.waiters_.erase(id);
    }
  } forget{*this, id};
  co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
}

void Witnesses::advance_round() {
  if (!latest_ || (round_ && round_->size >= latest_->size)) return;
  if (round_) {
    const bool quorum = witnessed_ && witnessed_->size >= round_->size;
    const bool all_answered = std::all_of(witnesses_.begin(), witnesses_.end(), [&](const auto& w) {
      return w->tried_round == round_no_ || w->up == 0;
    });
    if (!quorum && !all_answered) return;
  }
  round_ = latest_;
  ++round_no_;
  cv_.notify_all();
}

void Witnesses::run(Witness& w) {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (!round_ || round_->note == w.last_note) {
      cv_.wait(lock);
      continue;
    }
    if (Clock::now() < w.retry_at) {
      cv_.wait_until(lock, w.retry_at);
      continue;
    }
    const StoredCheckpoint cp = *round_;
    const std::uint64_t round = round_no_;
    lock.unlock();
    std::string line, error;
    try {
      line = exchange(w, cp);
    } catch (const std::exception& e) {
      error = e.what();
    }
    lock.lock();
    w.tried_round = round;
    if (error.empty()) {
      w.last_note = cp.note;
      w.backoff = std::chrono::milliseconds(0);
      w.retry_at = {};
      w.up = 1;
      ++w.cosigned_total;
      w.size = cp.size;
      cosigned(w.slot, cp, line);
    } else {
      w.backoff = std::min<std::chrono::milliseconds>(
          w.backoff.count() ? w.backoff * 2 : std::chrono::milliseconds(kFirstBackoff), kMaxBackoff);
      w.retry_at = Clock::now() + w.backoff;
      w.up = 0;
      ++w.failures_total;
      wake_ready();  // a receipt waiting for a quorum that can no longer come
      if (!stopping_) {
        log_line("warn", "witness_failed",
                 {{"witness", w.endpoint.key.name}, {"size", std::to_string(cp.size)}, {"error", error},
                  {"retry_ms", std::to_string(w.backoff.count())}});
      }
    }
    advance_round();
  }
}

std::string Witnesses::exchange(Witness& w, const StoredCheckpoint& cp) {
  const auto deadline = Clock::now() + timeout_;
  const auto enter = [this, &w](asio::io_context* ioc) {
    std::lock_guard lock(w.ioc_mu);
    if (ioc && halted_) return false;
    w.active = ioc;
    return true;
  };
  for (int round = 0; round < 2; ++round) {
    const std::uint64_t old = w.known_size;
    if (old > cp.size) {
      w.known_size = 0;  // asked again next time: a 409 tells the witness's size afresh
      throw Error(Errc::unavailable, "the witness holds size " + std::to_string(old) + ", beyond this log's " +
                                         std::to_string(cp.size) + " (another history?)");
    }
    std::string body = "old " + std::to_string(old) + "\n";
    if (old > 0 && old < cp.size) {
      for (const auto& h : index_.consistency_proof(old, cp.size)) body += to_base64(h) + "\n";
    }
    body += "\n" + cp.note;
    const Answer a = post(lookup(w.host, w.port, deadline, halted_), w.host_header, w.target, body, deadline, enter);
    if (a.status == 200) {
      // Keep only a line that verifies with this witness's key over this checkpoint.
      std::string_view rest = a.body;
      while (!rest.empty()) {
        const auto nl = rest.find('\n');
        const std::string line(rest.substr(0, nl == std::string_view::npos ? rest.size() : nl));
        rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
        if (line.empty()) continue;
        if (note::verify_cosignature(cp.note + line + "\n", w.endpoint.key)) {
          w.known_size = cp.size;
          return line + "\n";
        }
      }
      throw Error(Errc::unavailable, "the witness's answer has no cosignature that verifies with its key");
    }
    if (a.status == 409 && round == 0 && a.content_type.starts_with("text/x.tlog.size")) {
      std::uint64_t size = 0;
      const std::string_view digits(a.body.data(), a.body.find_first_of("\r\n") == std::string::npos
                                                       ? a.body.size()
                                                       : a.body.find_first_of("\r\n"));
      const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), size);
      if (ec != std::errc{} || end != digits.data() + digits.size() || digits.empty()) {
        throw Error(Errc::unavailable, "the witness's 409 answer is not a size: " + one_line(a.body));
      }
      w.known_size = size;
      continue;
    }
    throw Error(Errc::unavailable, "the witness answered HTTP " + std::to_string(a.status) + ": " + one_line(a.body));
  }
  throw Error(Errc::unavailable, "the witness refused the checkpoint again after its 409 (a fork?)");
}

void Witnesses::cosigned(std::size_t i, const StoredCheckpoint& cp, const std::string& line) {
  if (witnessed_ && witnessed_->size >= cp.size) {
    // Already has its quorum: a later cosignature of it is appended all the same.
    if (witnessed_->size == cp.size && witnessed_->note.starts_with(cp.note) &&
        witnessed_->note.find(line) == std::string::npos) {
      witnessed_->note += line;
    }
    return;
  }
  auto& p = pending_[cp.size];
  if (p.note != cp.note) p = Pending{cp.note, std::vector<std::string>(witnesses_.size())};
  p.lines[i] = line;
  const auto count = std::count_if(p.lines.begin(), p.lines.end(), [](const auto& l) { return !l.empty(); });
  if (count >= static_cast<long>(quorum_) && (!witnessed_ || witnessed_->size < cp.size)) {
    WitnessedCheckpoint w{cp.size, cp.note};
    for (const auto& l : p.lines) w.note += l;
    witnessed_ = std::move(w);
    pending_.erase(pending_.begin(), pending_.upper_bound(cp.size));
    wake_ready();
  }
  while (pending_.size() > kMaxPending) pending_.erase(pending_.begin());
}

std::string Witnesses::render_metrics() const {
  std::string out;
  auto family = [&](const char* name, const char* type, const char* help, auto value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    for (const auto& w : witnesses_) {
      out += std::string(name) + "{witness=\"" + label(w->endpoint.key.name) + "\"} " + std::to_string(value(*w)) + "\n";
    }
  };
  family("evidence_witness_cosigned_total", "counter", "Checkpoints the witness cosigned (cosignature verified).",
         [](const Witness& w) { return w.cosigned_total.load(); });
  family("evidence_witness_failures_total", "counter", "Submissions to the witness that failed (down, slow, refused).",
         [](const Witness& w) { return w.failures_total.load(); });
  family("evidence_witness_size", "gauge", "Size of the newest checkpoint the witness cosigned.",
         [](const Witness& w) { return w.size.load(); });
  family("evidence_witness_up", "gauge", "1 when the last submission succeeded, 0 when it failed, -1 before any.",
         [](const Witness& w) { return w.up.load(); });
  {
    std::lock_guard lock(mu_);
    out += "# HELP evidence_witnessed_size Size of the newest checkpoint with its quorum of cosignatures.\n"
           "# TYPE evidence_witnessed_size gauge\nevidence_witnessed_size " +
           std::to_string(witnessed_ ? witnessed_->size : 0) + "\n";
  }
  return out;
}

}  // namespace evidence::ingest
