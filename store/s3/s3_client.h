// A small S3 client: AWS Signature Version 4 over Beast, path-style addressing, plain
// HTTP (a local endpoint such as Ceph's gateway on 127.0.0.1) or HTTPS, a pool of
// keep-alive connections, and retries with backoff on 5xx answers and network faults.
//
// Why our own: no C++ S3 SDK is packaged in Debian, and the store needs only a dozen
// calls. The signer is split into pure functions so the published AWS test vectors
// pin it down without a network (tests/store/test_s3_sigv4.cpp).
//
// Thread-safety: one S3Client may be used from many threads at once; each request
// takes its own connection from the pool.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace evidence::s3 {

using Params = std::vector<std::pair<std::string, std::string>>;

struct Credentials {
  std::string access_key;
  std::string secret_key;
};

// ---- Signature Version 4 (pure functions) -------------------------------------------

// RFC 3986 percent-encoding as SigV4 wants it: unreserved characters (A-Z a-z 0-9
// - . _ ~) stay, every other byte becomes %XY (upper case). '/' stays when
// keep_slash (object paths) and is encoded otherwise (query keys and values).
std::string uri_encode(std::string_view raw, bool keep_slash);

// "20150830T123600Z" for a time point (UTC).
std::string amz_date(std::chrono::system_clock::time_point t);

// Lowercase hex SHA-256 of bytes (OpenSSL EVP).
std::string sha256_hex(std::span<const std::uint8_t> data);
inline constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct SigningInput {
  std::string method;   // "GET"
  std::string path;     // raw, not yet encoded: "/bucket/sha256/ab..."; each segment is encoded once
  Params query;         // raw names and values; a bare name ("uploads") has an empty value
  Params headers;       // every header to sign, including host and x-amz-date; names any case
  std::string payload_sha256;  // lowercase hex, or "UNSIGNED-PAYLOAD"
};

struct Signature {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signed_headers;  // "host;x-amz-date"
  std::string signature;       // lowercase hex
  std::string authorization;   // the Authorization header's value
};

// Signs at `amz_date` (which must equal the x-amz-date header's value) for the scope
// date/region/service/aws4_request. S3 rules: the path is encoded once and not
// normalized (no "." or ".." removal, no double encoding).
Signature sign_v4(const SigningInput& in, const Credentials& creds, std::string_view region,
                  std::string_view service, std::string_view amz_date);

// The canonical query string alone (sorted, encoded), for tests and for building URLs.
std::string canonical_query(const Params& query);

// ---- HTTP client ----------------------------------------------------------------------

struct ClientOptions {
  std::string endpoint;  // "http://127.0.0.1:7480" or "https://s3.example.org"; no path
  std::string region = "us-east-1";
  Credentials credentials;
  std::string ca_file;   // HTTPS: extra CA bundle (PEM); the system's roots otherwise
  std::size_t max_idle_connections = 8;
  std::chrono::milliseconds timeout{std::chrono::seconds(120)};  // per request, connect to last byte
  int max_attempts = 5;                                         // first try included
  std::chrono::milliseconds backoff{std::chrono::milliseconds(200)};  // doubles each retry, with jitter
};

struct Request {
  std::string method = "GET";
  std::string path;   // raw path after the endpoint: "/bucket" or "/bucket/key"
  Params query;
  Params headers;     // extra headers (Range, Content-MD5, x-amz-object-lock-*, ...)
  std::span<const std::uint8_t> body;  // must stay alive during send()
  std::string body_sha256;  // hex of body; computed when empty
  std::size_t response_limit = 16u << 20;  // largest body accepted
};

struct Response {
  unsigned status = 0;
  std::map<std::string, std::string> headers;  // names lowercase
  std::string body;
  std::string header(const std::string& lowercase_name) const;
  bool ok() const { return status >= 200 && status < 300; }
};

// Error code and message from an S3 XML error body ("<Error><Code>..."), for messages.
std::string describe_error(const Response& r);

class Client {
 public:
  explicit Client(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends a signed request; x-amz-date, x-amz-content-sha256 and host are added and
  // signed. Retries network errors, timeouts and 5xx answers (with backoff) up to
  // max_attempts; returns the last answer, whatever its status (4xx never retried).
  // Throws Error(unavailable) when no answer came at all.
  Response send(const Request& req);

  const ClientOptions& options() const { return options_; }
  std::string host_header() const;

 private:
  struct Pool;
  ClientOptions options_;
  std::unique_ptr<Pool> pool_;
};

}  // namespace evidence::s3
