// The daemon's HTTP vocabulary, shared by the server (server.cpp) and the route
// handlers (api_*.cpp, tus.cpp). Internal to ingest/: Beast and Asio stay here.
//
// Handlers are C++20 coroutines running on the connection's strand. They read the
// request body through BodySource in fixed-size pieces (never the whole body in
// memory) and move blocking work (fsync, LMDB commits, signing) to the worker pool
// with blocking().
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <boost/url/url_view.hpp>
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "base/error.h"
#include "store/records.h"

namespace evidence::ingest {

namespace asio = boost::asio;
namespace http = boost::beast::http;
namespace json = boost::json;

template <class T>
using Task = asio::awaitable<T>;

// A handler's way to answer with an error: {"error": code, "message": message}.
struct HttpError {
  http::status status;
  std::string code;
  std::string message;
  std::vector<std::pair<std::string, std::string>> headers = {};
};

// The request body, read in pieces. read() returns 0 at the end of the body.
// Throws HttpError (413 over the route's limit) or ClientGone (connection broke or
// the sender was too slow).
class BodySource {
 public:
  virtual ~BodySource() = default;
  virtual Task<std::size_t> read(std::span<std::uint8_t> out) = 0;
  virtual bool done() const = 0;
  virtual void set_limit(std::uint64_t bytes) = 0;
};

struct ClientGone {
  std::string why;
};

struct AuthUser {
  std::string name;
  Role role = Role::officer;
};

struct Request {
  http::verb method = http::verb::unknown;
  std::string target;
  boost::urls::url_view url;            // parsed origin-form target
  std::vector<std::string> params;      // decoded path captures, in order
  const http::fields* headers = nullptr;
  std::optional<std::uint64_t> content_length;
  BodySource* body = nullptr;
  std::optional<AuthUser> user;         // set when the route needs auth

  std::string header(http::field f) const;
  std::string header(std::string_view name) const;
  bool has_header(std::string_view name) const;
  // Decoded query parameter, nullopt when absent.
  std::optional<std::string> query(std::string_view key) const;
  const AuthUser& who() const { return *user; }
};

struct Response {
  http::status status = http::status::ok;
  http::fields headers;
  std::string body;
  // Streaming body: when set, `stream_size` bytes are pulled through `stream`
  // (returns bytes written into the buffer; 0 only at the end).
  std::function<std::size_t(std::span<std::uint8_t>)> stream;
  std::uint64_t stream_size = 0;

  static Response json(http::status s, const json::value& v);
  static Response text(http::status s, std::string body, std::string content_type = "text/plain; charset=utf-8");
  static Response empty(http::status s);
};

Response error_response(const HttpError& e);
// The one mapping from the store's and verify's errors (base/error.h) to HTTP
// answers, used wherever a handler lets an Error escape.
HttpError http_error_from(const Error& e);

// Runs `fn` on the worker pool and resumes the caller on its own strand with the
// result (or its exception). Counts in-flight work so shutdown can wait for it.
struct Workers {
  asio::thread_pool pool;
  std::atomic<int> in_flight{0};
  explicit Workers(unsigned n) : pool(n) {}
};

namespace detail {
// The function travels as a coroutine parameter (copied into the frame); lambda
// coroutines with captures would leave it in a temporary that dies too early.
template <class F>
Task<std::invoke_result_t<F>> call_in_frame(F fn) {
  if constexpr (std::is_void_v<std::invoke_result_t<F>>) {
    fn();
    co_return;
  } else {
    co_return fn();
  }
}
}  // namespace detail

template <class F>
auto blocking(Workers& w, F fn) -> Task<std::invoke_result_t<F>> {
  ++w.in_flight;
  struct Done {
    Workers& w;
    ~Done() { --w.in_flight; }
  } done{w};
  co_return co_await asio::co_spawn(w.pool, detail::call_in_frame(std::move(fn)), asio::use_awaitable);
}

}  // namespace evidence::ingest
