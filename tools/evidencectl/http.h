// The client's HTTP: one libcurl easy handle per Http object (so requests reuse the
// connection), bearer auth, no proxies (evidence never leaves through an unknown
// hop), no redirects. Not thread-safe: one Http per thread.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "tools/evidencectl/cli.h"

namespace evidencectl {

// The request did not get an HTTP answer (refused, reset, timed out, aborted).
// Worth retrying; an HTTP error status is not this.
class TransportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Response {
  long status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;                             // empty when streamed to a sink
  std::string header(const std::string& lower_name) const;
  boost::json::value json() const;  // throws Failure(kCannotRun) on invalid JSON
  // "STATUS: message" from an error body {"error","message"} (or the raw body).
  std::string describe() const;
};

struct Request {
  std::string method = "GET";
  std::string target;  // a path under the server ("/api/v1/...") or an absolute URL
  std::string body;    // sent when non-empty, or always for POST/PATCH/PUT
  std::vector<std::pair<std::string, std::string>> headers;
  bool auth = true;
  // Streams the response body instead of keeping it; return false to abort.
  std::function<bool(std::span<const char>)> sink;
  // Called as the request body goes out (bytes sent so far); return false to abort.
  std::function<bool(std::uint64_t sent)> on_sent;
  std::int64_t max_send_bytes_per_s = 0;  // 0: no limit
};

class Http {
 public:
  explicit Http(const Globals& g);  // Failure(kCannotRun) when no server is set
  ~Http();
  Http(const Http&) = delete;
  Http& operator=(const Http&) = delete;

  // Throws TransportError when no HTTP answer came back.
  Response send(const Request& req);
  // Bytes of the request body the last send() got onto the wire.
  std::uint64_t last_bytes_sent() const { return last_sent_; }

  // Shorthands that turn a transport error or any non-2xx answer into
  // Failure(kCannotRun). get_ok sends the token only when `auth`.
  Response get_ok(const std::string& path, bool auth = true,
                  std::vector<std::pair<std::string, std::string>> headers = {});
  boost::json::value get_json(const std::string& path);
  boost::json::value post_json(const std::string& path, const boost::json::value& body);
  boost::json::value send_json(const std::string& method, const std::string& path, const boost::json::value& body);

  std::string url(const std::string& target) const;
  const std::string& server() const { return server_; }

 private:
  std::string server_;
  std::string token_;
  std::string cacert_;
  bool insecure_ = false;
  void* curl_ = nullptr;
  std::uint64_t last_sent_ = 0;
};

// Percent-encodes one path segment (case numbers hold '/', spaces, CJK text).
std::string encode_segment(const std::string& s);
// Percent-encodes a query parameter value.
std::string encode_query(const std::string& s);

}  // namespace evidencectl
