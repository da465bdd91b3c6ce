// Connection handling (learned from Beast's advanced server-flex and clean-shutdown
// examples, written as C++20 coroutines): one strand per connection, a timeout on
// every read and write, keep-alive, a connection cap, and routes matched against a
// table with per-route body limits. TLS (1.2+) when a certificate is configured.
#include "ingest/server.h"

#include <openssl/ssl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>
#include <iostream>
#include <limits>
#include <map>
#include <mutex>
#include <thread>

#include "ingest/audit_api.h"
#include "ingest/connection_table.h"
#include "ingest/headers.h"
#include "ingest/logging.h"
#include "ingest/parser_body.h"
#include "ingest/request_limits.h"
#include "ingest/service.h"
#include "ingest/web_assets.h"
#include "base/error.h"

namespace evidence::ingest {
namespace beast = boost::beast;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

// ---------------------------------------------------------------------------------
// Routing

struct Match {
  const Route* route = nullptr;
  std::vector<std::string> params;
  std::string allow;  // methods for this path when none matched the request's
};

Match find_route(const Routes& routes, http::verb method, std::string_view api_path) {
  Match m;
  const auto segs = split_path(api_path);
  std::vector<std::string> params;
  for (const auto& r : routes) {
    const auto pat = split_path(r.pattern);
    if (!match_pattern(pat, segs, params)) continue;
    if (r.method == method) {
      m.route = &r;
      m.params = std::move(params);
      return m;
    }
    if (!m.allow.empty()) m.allow += ", ";
    m.allow += std::string(http::to_string(r.method));
  }
  return m;
}

// ---------------------------------------------------------------------------------
// Server state

// What connection handling depends on: the routes, who a token is, the request
// metrics, the limits and timeouts; and the sweeper's round. Not the daemon itself.
struct Server {
  Server(const Routes& r, std::function<std::optional<AuthUser>(std::string_view)> auth, Metrics& m,
         const ServeOptions& o, Workers& w, std::function<void()> sw)
      : routes(r), authenticate(std::move(auth)), metrics(m), opts(o), sweep_workers(w), sweep(std::move(sw)) {}
  const Routes& routes;
  std::function<std::optional<AuthUser>(std::string_view token)> authenticate;
  Metrics& metrics;
  const ServeOptions& opts;
  Workers& sweep_workers;
  std::function<void()> sweep;  // blocks: run on sweep_workers
  asio::io_context* ioc = nullptr;
  ssl::context* tls = nullptr;
  std::atomic<unsigned> connections{0};
  std::atomic<int> active_requests{0};
  std::atomic<bool> stopping{false};
  ConnectionTable table;
};

// Beast knows the reason phrases of the registered statuses only; the others we send
// get theirs here (an empty one would still be valid HTTP, but says nothing to a person).
template <class Message>
void set_reason(Message& m) {
  if (m.result_int() == 460) m.reason("Checksum Mismatch");  // tus 1.0 checksum extension
  else if (m.reason().empty() || m.reason() == "<unknown-status>") m.reason("Unknown");
}

template <class Stream>
Task<void> write_response(Stream& s, Response& r, bool keep_alive, const ServeOptions& o) {
  r.headers.set(http::field::server, "evidenced");
  if (!r.stream) {
    http::response<http::string_body> m{r.status, 11};
    set_reason(m);
    for (const auto& f : r.headers) m.set(f.name_string(), f.value());
    m.keep_alive(keep_alive);
    m.body() = std::move(r.body);
    m.prepare_payload();
    lowest(s).expires_after(o.write_timeout);
    auto [ec, n] = co_await http::async_write(s, m, use_tuple);
    if (ec) throw ClientGone{"writing response: " + ec.message()};
    co_return;
  }
  http::response<http::buffer_body> m{r.status, 11};
  set_reason(m);
  for (const auto& f : r.headers) m.set(f.name_string(), f.value());
  m.keep_alive(keep_alive);
  m.content_length(r.stream_size);
  m.body().data = nullptr;
  m.body().more = true;
  http::response_serializer<http::buffer_body> sr{m};
  lowest(s).expires_after(o.write_timeout);
  {
    auto [ec, n] = co_await http::async_write_header(s, sr, use_tuple);
    if (ec) throw ClientGone{"writing header: " + ec.message()};
  }
  std::vector<std::uint8_t> buf(256 * 1024);
  std::uint64_t remaining = r.stream_size;
  if (remaining == 0) {
    m.body().more = false;
    auto [ec, n] = co_await http::async_write(s, sr, use_tuple);
    if (ec && ec != http::error::need_buffer) throw ClientGone{ec.message()};
  }
  while (remaining > 0) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, buf.size()));
    const std::size_t n = r.stream(std::span(buf.data(), want));
    if (n == 0) throw ClientGone{"content ended early"};
    remaining -= n;
    m.body().data = buf.data();
    m.body().size = n;
    m.body().more = remaining > 0;
    lowest(s).expires_after(o.write_timeout);
    auto [ec, w] = co_await http::async_write(s, sr, use_tuple);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) throw ClientGone{"writing body: " + ec.message()};
  }
}

// The web console's files (docs/console.md): public, so no auth; everything they show
// comes from the API with the user's token. blob: is allowed for images and media
// because poster frames (and footage without the service worker) are blob URLs.
Response web_asset_response(const WebAsset& asset) {
  Response r;
  r.headers.set(http::field::content_type, asset.content_type);
  r.headers.set("Content-Security-Policy",
                "default-src 'self'; img-src 'self' blob:; media-src 'self' blob:; object-src 'none'; "
                "base-uri 'none'; frame-ancestors 'none'; form-action 'self'");
  r.headers.set("X-Content-Type-Options", "nosniff");
  r.headers.set("Referrer-Policy", "no-referrer");
  r.headers.set(http::field::cache_control, "no-cache");
  r.body = std::string(asset.body);
  return r;
}

// Authenticates, checks the role, runs the handler; every failure becomes a JSON error.
template <class Stream>
Task<Response> dispatch(Server& srv, http::request_parser<http::buffer_body>& parser, ParserBody<Stream>& body,
                        bool& authenticated) {
  const auto& opts = srv.opts;
  auto& msg = parser.get();
  Request req;
  req.method = msg.method();
  req.target = std::string(msg.target());
  req.headers = &msg.base();
  if (auto cl = parser.content_length()) req.content_length = *cl;
  body.expect_continue(beast::iequals(msg[http::field::expect], "100-continue"));
  req.body = &body;

  std::optional<HttpError> err;
  Response res;
  try {
    auto parsed = boost::urls::parse_origin_form(req.target);
    if (!parsed) throw HttpError{http::status::bad_request, "bad_target", "the request target is not a valid path"};
    req.url = *parsed;
    std::string_view path = req.url.encoded_path();
    if (req.method == http::verb::get && !path.starts_with("/api/")) {
      if (const WebAsset* asset = find_web_asset(path)) co_return web_asset_response(*asset);
    }
    constexpr std::string_view prefix = "/api/v1";
    if (path.substr(0, prefix.size()) != prefix || (path.size() > prefix.size() && path[prefix.size()] != '/')) {
      throw HttpError{http::status::not_found, "not_found", "no such route"};
    }
    path.remove_prefix(prefix.size());
    Match m = find_route(srv.routes, req.method, path);
    if (!m.route) {
      if (!m.allow.empty()) {
        throw HttpError{http::status::method_not_allowed, "method_not_allowed",
                        std::string(msg.method_string()) + " is not allowed here",
                        {{"Allow", m.allow}}};
      }
      throw HttpError{http::status::not_found, "not_found", "no such route"};
    }
    req.params = std::move(m.params);
    const std::uint64_t limit = m.route->body_limit ? m.route->body_limit : opts.max_json_bytes;
    parser.body_limit(limit);
    if (req.content_length && *req.content_length > limit) {
      throw HttpError{http::status::payload_too_large, "body_too_large",
                      "the body (" + std::to_string(*req.content_length) + " bytes) exceeds this route's limit of " +
                          std::to_string(limit)};
    }
    if (m.route->auth) {
      const std::string authz = req.header(http::field::authorization);
      constexpr std::string_view bearer = "Bearer ";
      std::optional<AuthUser> user;
      if (authz.size() > bearer.size() && beast::iequals(std::string_view(authz).substr(0, bearer.size()), bearer)) {
        user = srv.authenticate(std::string_view(authz).substr(bearer.size()));
      }
      if (!user) {
        throw HttpError{http::status::unauthorized, "unauthorized", "a valid bearer token is required",
                        {{"WWW-Authenticate", "Bearer"}}};
      }
      if (!m.route->roles.empty() &&
          std::find(m.route->roles.begin(), m.route->roles.end(), user->role) == m.route->roles.end()) {
        throw HttpError{http::status::forbidden, "forbidden",
                        std::string("the role ") + role_name(user->role) + " may not do this"};
      }
      req.user = std::move(user);
      authenticated = true;
    }
    res = co_await m.route->handler(req);
  } catch (const HttpError& e) {
    err = e;
  } catch (const Error& e) {
    err = http_error_from(e);
  } catch (const ClientGone&) {
    throw;
  } catch (const std::exception& e) {
    err = HttpError{http::status::internal_server_error, "internal", e.what()};
  }
  if (err) {
    if (static_cast<unsigned>(err->status) >= 500) {
      log_line("error", "request_failed", {{"target", req.target}, {"error", err->message}});
    }
    res = error_response(*err);
    if (req.url.encoded_path().find("/api/v1/uploads") == 0) res.headers.set("Tus-Resumable", "1.0.0");
  }
  co_return res;
}

bool is_disconnect(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof || ec == beast::error::timeout ||
         ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
         ec == asio::error::broken_pipe || ec == ssl::error::stream_truncated;
}

// A lingering close (as nginx's lingering_close): closing a socket whose receive
// queue still holds client bytes makes the kernel send a reset, which can reach the
// client before it has read our answer (a 413 for a body it is still sending), so
// it sees "connection reset" instead of the error. After our FIN, read and discard
// what still comes, for at most two seconds and 16 MiB, then close.
Task<void> linger(beast::tcp_stream& sock) {
  constexpr std::size_t max_bytes = 16 << 20;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  std::array<char, 16 * 1024> scratch;
  for (std::size_t total = 0; total < max_bytes;) {
    sock.expires_at(until);
    auto [ec, n] = co_await sock.async_read_some(asio::buffer(scratch), use_tuple);
    if (ec) break;
    total += n;
  }
}

template <class Stream>
Task<void> run_session(Server& srv, Stream stream) {
  struct Count {
    Server& srv;
    ~Count() { --srv.connections; }
  } count{srv};
  // Declared after `stream` (a parameter), so it leaves the table before the socket closes.
  struct Registered {
    Server& srv;
    ConnectionTable::Id id;
    ~Registered() { srv.table.remove(id); }
  } registered{srv, [&] {
                 beast::error_code ec;
                 auto& sock = lowest(stream).socket();
                 const auto peer = sock.remote_endpoint(ec);
                 return srv.table.add(ec ? asio::ip::address() : peer.address(), sock.native_handle());
               }()};
  const auto& opts = srv.opts;
  // Capped (ingest/request_limits.h): this bounds a chunked body's trailer.
  beast::flat_buffer buffer(connection_buffer_limit(opts));
  // Set when the connection closes with client bytes still coming (an early error
  // answered before the body, or a header too large): see the lingering close below.
  bool unread = false;
  try {
    if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
      lowest(stream).expires_after(opts.header_timeout);
      auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, use_tuple);
      if (ec) co_return;
    }
    for (;;) {
      http::request_parser<http::buffer_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(header_limit(opts)));
      // Beast checks Content-Length against the limit while parsing the header; the
      // route's own limit is applied once the route is known (dispatch).
      parser.body_limit(std::numeric_limits<std::uint64_t>::max());
      lowest(stream).expires_after(opts.header_timeout);
      auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
      if (ec) {
        if (is_disconnect(ec)) break;
        HttpError e = ec == http::error::header_limit || ec == http::error::buffer_overflow
                          ? HttpError{http::status::request_header_fields_too_large, "headers_too_large",
                                      "the request headers are too large"}
                          : HttpError{http::status::bad_request, "bad_request", "malformed request: " + ec.message()};
        Response r = error_response(e);
        co_await write_response(stream, r, false, opts);
        srv.metrics.request_done(static_cast<unsigned>(e.status), 0);
        unread = true;
        break;
      }
      ++srv.active_requests;
      srv.table.set_idle(registered.id, false);
      struct Active {
        Server& srv;
        ConnectionTable::Id id;
        ~Active() {
          --srv.active_requests;
          srv.table.set_idle(id, true);
        }
      } active{srv, registered.id};
      const auto started = std::chrono::steady_clock::now();
      const std::string method(parser.get().method_string());
      const std::string target(parser.get().target());
      ParserBody<Stream> body(stream, buffer, parser, opts);
      bool authenticated = false;
      Response res = co_await dispatch(srv, parser, body, authenticated);
      if (authenticated) srv.table.set_authenticated(registered.id);
      // A body left unread (an early error) would be parsed as the next request.
      const bool keep = parser.get().keep_alive() && body.done() && !srv.stopping;
      const unsigned status = static_cast<unsigned>(res.status);
      co_await write_response(stream, res, keep, opts);
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      srv.metrics.request_done(status, secs);
      log_line("info", "request",
               {{"method", method}, {"target", target}, {"status", std::to_string(status)},
                {"ms", std::to_string(static_cast<long>(secs * 1000))}});
      if (!keep) {
        unread = !body.done();
        break;
      }
    }
  } catch (const ClientGone& g) {
    log_line("info", "connection_dropped", {{"why", g.why}});
  } catch (const std::exception& e) {
    log_line("error", "session_failed", {{"error", e.what()}});
  }
  beast::error_code ignored;
  if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  } else {
    lowest(stream).expires_after(std::chrono::seconds(2));
    co_await stream.async_shutdown(use_tuple);
  }
  if (unread) co_await linger(lowest(stream));
}

Task<void> accept_loop(Server& srv, tcp::acceptor& acceptor) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(*srv.ioc), use_tuple);
    if (ec) {
      if (srv.stopping || ec == asio::error::operation_aborted) co_return;
      log_line("warn", "accept_failed", {{"error", ec.message()}});
      continue;
    }
    // At the cap, make room by closing an idle connection (ConnectionTable::evict
    // says which), else refuse this one. An address is never refused for holding
    // many connections by itself: behind a NAT or a load balancer, all clients are one.
    const auto& opts = srv.opts;
    bool room = true;
    if (srv.connections >= opts.max_connections) room = srv.table.evict();
    // Evicted sessions leave as their reads fail; allow that much overshoot meanwhile.
    if (!room || srv.connections >= opts.max_connections + 64) {
      beast::error_code ignored;
      socket.close(ignored);
      log_line("warn", "connection_refused", {{"why", room ? "connection cap reached" : "no idle connection to close"}});
      continue;
    }
    ++srv.connections;
    auto ex = socket.get_executor();
    if (srv.tls) {
      asio::co_spawn(ex, run_session(srv, beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(socket)), *srv.tls)),
                     asio::detached);
    } else {
      asio::co_spawn(ex, run_session(srv, beast::tcp_stream(std::move(socket))), asio::detached);
    }
  }
}

Task<void> sweeper(Server& srv, asio::steady_timer& timer) {
  for (;;) {
    try {
      co_await blocking(srv.sweep_workers, [&srv] { srv.sweep(); });
    } catch (const std::exception& e) {
      log_line("error", "sweep_failed", {{"error", e.what()}});
    }
    timer.expires_after(srv.opts.sweep_interval);
    auto [ec] = co_await timer.async_wait(use_tuple);
    if (ec || srv.stopping) co_return;
  }
}

}  // namespace

int serve(const ServeOptions& options) {
  const bool want_tls = !options.tls_cert.empty() || !options.tls_key.empty();
  {
    beast::error_code ec;
    const auto address = asio::ip::make_address(options.host, ec);
    if (ec) throw Error(Errc::invalid_argument, "--listen host must be an IP address: " + options.host);
    if (!want_tls && !address.is_loopback() && !options.allow_plain_http) {
      throw Error(Errc::invalid_argument,
                  "refusing to serve plain HTTP on " + options.host +
                      ", which other hosts can reach: give --tls-cert and --tls-key, or --allow-plain-http "
                      "behind a TLS proxy");
    }
  }
  // Each connection is a descriptor: let the cap, not a soft default of 1024, decide.
  if (rlimit nofile{}; ::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &nofile);
  }
  Service svc(options);
  std::optional<ssl::context> tls;
  if (want_tls) {
    if (options.tls_cert.empty() || options.tls_key.empty()) {
      throw Error(Errc::invalid_argument, "--tls-cert and --tls-key go together");
    }
    struct stat st{};
    if (::stat(options.tls_key.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
      log_line("warn", "tls_key_readable",
               {{"file", options.tls_key.string()}, {"why", "the TLS private key can be read by other users (chmod 600)"}});
    }
    tls.emplace(ssl::context::tls_server);
    tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                     ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
    SSL_CTX_set_min_proto_version(tls->native_handle(), TLS1_2_VERSION);
    tls->use_certificate_chain_file(options.tls_cert.string());
    tls->use_private_key_file(options.tls_key.string(), ssl::context::pem);
  }

  const unsigned threads = options.io_threads ? options.io_threads : std::max(1u, std::thread::hardware_concurrency());
  // Declared after srv so that coroutine frames still pending at shutdown are
  // destroyed (with the io_context) while the server state they point at lives.
  Server srv(
      svc.routes(), [&svc](std::string_view token) { return svc.authenticate(token); }, svc.metrics(), svc.options(),
      svc.workers(), [&svc] { svc.sweep(); });
  srv.tls = tls ? &*tls : nullptr;
  std::optional<asio::io_context> ioc_holder(std::in_place, static_cast<int>(threads));
  asio::io_context& ioc = *ioc_holder;
  srv.ioc = &ioc;

  beast::error_code ec;
  const auto address = asio::ip::make_address(options.host, ec);
  if (ec) throw Error(Errc::invalid_argument, "--listen host must be an IP address: " + options.host);
  tcp::acceptor acceptor(ioc);
  const tcp::endpoint endpoint(address, options.port);
  acceptor.open(endpoint.protocol());
  acceptor.set_option(asio::socket_base::reuse_address(true));
  acceptor.bind(endpoint, ec);
  if (ec) throw Error(Errc::unavailable, "bind " + options.host + ":" + std::to_string(options.port) + ": " + ec.message());
  acceptor.listen(asio::socket_base::max_listen_connections);
  const auto bound = acceptor.local_endpoint();
  const std::string host = address.is_v6() ? "[" + options.host + "]" : options.host;
  const std::string url = std::string(tls ? "https" : "http") + "://" + host + ":" + std::to_string(bound.port());

  svc.checkpointer().start(options.checkpoint_interval);
  std::optional<BackgroundVerifier> verifier;  // serve --verify-every
  if (options.verify_every.count() > 0) verifier.emplace(svc.audit_api(), options.verify_every).start();
  asio::co_spawn(ioc, accept_loop(srv, acceptor), asio::detached);
  asio::steady_timer sweep_timer(ioc);
  asio::co_spawn(ioc, sweeper(srv, sweep_timer), asio::detached);

  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stop_requested = false;
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](beast::error_code, int sig) {
    log_line("info", "shutdown", {{"signal", std::to_string(sig)}});
    srv.stopping = true;
    beast::error_code ignored;
    acceptor.close(ignored);
    sweep_timer.cancel();
    std::lock_guard lock(stop_mu);
    stop_requested = true;
    stop_cv.notify_all();
  });

  std::vector<std::thread> pool;
  // An exception escaping a handler would otherwise end the process and every upload
  // in flight with it; the request it came from is lost, the rest keep running.
  for (unsigned i = 0; i < threads; ++i) {
    pool.emplace_back([&ioc] {
      for (;;) {
        try {
          ioc.run();
          return;
        } catch (const std::exception& e) {
          log_line("error", "handler_exception", {{"error", e.what()}});
        }
      }
    });
  }

  log_line("info", "listening", {{"url", url}, {"data", options.data_dir.string()},
                                 {"tsa", options.tsa_url.empty() ? "embedded" : options.tsa_url},
                                 {"log", svc.log_name()}});
  std::cout << "listening on " << url << std::endl;

  {
    std::unique_lock lock(stop_mu);
    stop_cv.wait(lock, [&] { return stop_requested; });
  }
  if (verifier) verifier->stop();  // cancels a run in progress
  // Receipts waiting for a witness quorum answer now (with the log's own checkpoint),
  // and exchanges in flight end, so that neither holds the shutdown up.
  Witnesses* witnesses = svc.checkpointer().witnesses();
  if (witnesses) witnesses->halt();
  // Requests in flight (commits included) get until the deadline; partial tus
  // uploads stay resumable at their durable offset either way.
  const auto deadline = std::chrono::steady_clock::now() + options.shutdown_deadline;
  while ((srv.active_requests > 0 || svc.workers().in_flight > 0 || svc.stream_workers().in_flight > 0) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (srv.active_requests > 0) {
    log_line("warn", "shutdown_deadline", {{"abandoned_requests", std::to_string(srv.active_requests.load())}});
  }
  ioc.stop();
  for (auto& t : pool) t.join();
  if (witnesses) witnesses->stop();  // no witness thread posts to `ioc` once it is gone
  svc.workers().pool.join();
  svc.stream_workers().pool.join();
  svc.checkpointer().stop();
  try {
    svc.save_last_seen();
  } catch (const std::exception& e) {
    log_line("warn", "last_seen_not_saved", {{"error", e.what()}});
  }
  log_line("info", "stopped", {{"log_size", std::to_string(svc.log_size())}});
  return 0;
}

}  // namespace evidence::ingest
