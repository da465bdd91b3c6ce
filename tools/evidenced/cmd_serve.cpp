// evidenced serve --data DIR --listen HOST:PORT [...]
#include <exception>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ingest/audit_api.h"
#include "ingest/lifecycle.h"
#include "ingest/options.h"
#include "ingest/server.h"
#include "ingest/witnesses.h"
#include "tools/evidenced/commands.h"

namespace evidence::cli {
namespace {

// Defaults come from ServeOptions, the one place they are written.
const ingest::ServeOptions kDefaults{};

struct ServeArgs {
  std::string data, listen = "127.0.0.1:8443", tls_cert, tls_key, tsa_url, tsa_ca, tsa_tls_ca;
  unsigned threads = kDefaults.io_threads, workers = kDefaults.worker_threads,
           max_connections = kDefaults.max_connections, max_uploads_per_user = kDefaults.max_uploads_per_user,
           max_exports = kDefaults.max_exports;
  std::uint64_t max_upload = kDefaults.max_upload_bytes;
  long upload_expiry_s = kDefaults.upload_expiry.count(), header_timeout_s = kDefaults.header_timeout.count(),
       body_timeout_s = kDefaults.body_timeout.count(), shutdown_s = kDefaults.shutdown_deadline.count();
  std::string verify_every;
  unsigned min_retention_days = kDefaults.min_retention_days;
  std::string upload_deadline = "24h";
  BlobBackendOptions blobs;  // --blobs and the --s3-* flags, as store/ takes them
  std::string s3_credentials;
  bool no_media_scan = false;
  bool allow_plain_http = false;
  std::vector<std::string> witnesses;
  unsigned witness_quorum = 0;
  std::string witness_timeout = "5s";
};

// "5s", "500ms", or plain seconds; above zero, at most a minute.
std::optional<std::chrono::milliseconds> parse_witness_timeout(const std::string& s) {
  std::size_t digits = 0;
  while (digits < s.size() && digits < 9 && s[digits] >= '0' && s[digits] <= '9') ++digits;
  if (digits == 0) return std::nullopt;
  const long n = std::stol(s.substr(0, digits));
  const std::string unit = s.substr(digits);
  std::chrono::milliseconds ms;
  if (unit.empty() || unit == "s") {
    ms = std::chrono::seconds(n);
  } else if (unit == "ms") {
    ms = std::chrono::milliseconds(n);
  } else {
    return std::nullopt;
  }
  if (ms.count() <= 0 || ms > std::chrono::minutes(1)) return std::nullopt;
  return ms;
}

bool split_listen(const std::string& s, std::string& host, std::uint16_t& port) {
  const auto colon = s.rfind(':');
  if (colon == std::string::npos) return false;
  host = s.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  try {
    const unsigned long p = std::stoul(s.substr(colon + 1));
    if (p > 65535) return false;
    port = static_cast<std::uint16_t>(p);
  } catch (const std::exception&) {
    return false;
  }
  return !host.empty();
}

}  // namespace

std::function<int()> add_serve(CLI::App& app) {
  auto a = std::make_shared<ServeArgs>();
  auto* cmd = app.add_subcommand("serve", "serve the HTTP(S) API");
  cmd->set_config("--config", "", "read options from a TOML/INI file");
  cmd->add_option("--data", a->data, "data folder made by init")->required();
  cmd->add_option("--listen", a->listen, "HOST:PORT (port 0 picks a free one)")->capture_default_str();
  cmd->add_option("--tls-cert", a->tls_cert, "PEM certificate chain (enables HTTPS, TLS 1.2+)");
  cmd->add_option("--tls-key", a->tls_key, "PEM private key");
  cmd->add_option("--threads", a->threads, "I/O threads (0: one per core)");
  cmd->add_option("--workers", a->workers, "threads for blocking work (fsync, commits, signing)")->capture_default_str();
  cmd->add_option("--max-upload-bytes", a->max_upload, "largest accepted upload")->capture_default_str();
  cmd->add_option("--max-connections", a->max_connections, "connection cap")->capture_default_str();
  cmd->add_option("--max-exports", a->max_exports, "case exports at once (429 beyond)")
      ->capture_default_str()
      ->check(CLI::Range(1u, 64u));
  cmd->add_option("--max-uploads-per-user", a->max_uploads_per_user, "concurrent uploads per user (0: no cap)")
      ->capture_default_str();
  cmd->add_option("--tsa-url", a->tsa_url, "outside RFC 3161 TSA (http:// or https://) instead of the embedded one; needs --tsa-ca");
  cmd->add_option("--tsa-tls-ca", a->tsa_tls_ca, "CA bundle (PEM) the https TSA's server certificate must chain to (default: the system's roots)");
  cmd->add_option("--tsa-ca", a->tsa_ca, "CA certificate (PEM) of the outside TSA: its tokens are checked against it before anything is stored");
  cmd->add_option("--upload-expiry", a->upload_expiry_s, "seconds a partial tus upload is kept")->capture_default_str();
  cmd->add_option("--header-timeout", a->header_timeout_s, "seconds to receive a request header (and keep-alive idle)")
      ->capture_default_str();
  cmd->add_option("--body-timeout", a->body_timeout_s, "seconds without body progress before a sender is cut off")
      ->capture_default_str();
  cmd->add_option("--shutdown-deadline", a->shutdown_s, "seconds requests in flight get at shutdown")
      ->capture_default_str();
  cmd->add_option("--verify-every", a->verify_every,
                  "re-verify the whole store in the background this often (30s, 10m, 1h, 1d)");
  cmd->add_option("--min-retention-days", a->min_retention_days, "shortest retention a category may be given")
      ->capture_default_str();
  cmd->add_option("--upload-deadline", a->upload_deadline,
                  "items received later than this after recorded_at are flagged late (24h, 90m, 0s)")
      ->capture_default_str();
  cmd->add_option("--blobs", a->blobs.blobs_url, "blob backend: s3://BUCKET (default: the data folder's blobs/)");
  cmd->add_option("--s3-endpoint", a->blobs.s3_endpoint, "S3 endpoint URL (http://127.0.0.1:7480, https://...)");
  cmd->add_option("--s3-region", a->blobs.s3_region, "S3 region (default us-east-1)");
  cmd->add_option("--lock-mode", a->blobs.lock_mode, "Object Lock mode: compliance (default) or governance");
  cmd->add_option("--retention-days", a->blobs.retention_days, "Object Lock retention of new objects (default 3650)");
  cmd->add_flag("--no-media-scan", a->no_media_scan,
                "do not look for unfinished media work at start (new uploads still get it)");
  cmd->add_flag("--allow-plain-http", a->allow_plain_http,
                "serve plain HTTP on a non-loopback address (only behind a TLS-terminating proxy)");
  cmd->add_flag("--allow-unlocked", a->blobs.allow_unlocked, "accept a bucket without Object Lock (erasable storage)");
  cmd->add_option("--s3-credentials", a->s3_credentials,
                  "file with the S3 keys (default: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)");
  cmd->add_option("--witness", a->witnesses,
                  "a witness to submit checkpoints to, as VKEY@URL (its cosignature/v1 verifier key, then its "
                  "submission prefix http://HOST:PORT[/PATH]); repeatable");
  cmd->add_option("--witness-quorum", a->witness_quorum,
                  "cosignatures a checkpoint needs to be served as witnessed (default: every --witness)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--witness-timeout", a->witness_timeout,
                  "how long a receipt waits for the quorum, and each witness exchange may take (5s, 500ms)")
      ->capture_default_str();
  return [a]() {
    ingest::ServeOptions o;
    o.data_dir = a->data;
    if (!split_listen(a->listen, o.host, o.port)) {
      std::cerr << "evidenced serve: --listen must be HOST:PORT\n";
      return 2;
    }
    o.tls_cert = a->tls_cert;
    o.tls_key = a->tls_key;
    o.allow_plain_http = a->allow_plain_http;
    o.io_threads = a->threads;
    o.worker_threads = a->workers;
    o.max_upload_bytes = a->max_upload;
    o.max_connections = a->max_connections;
    o.max_uploads_per_user = a->max_uploads_per_user;
    o.max_exports = a->max_exports;
    if (!a->tsa_url.empty() && a->tsa_ca.empty()) {
      std::cerr << "evidenced serve: --tsa-url needs --tsa-ca, the CA certificate (PEM) its tokens must chain to\n";
      return 2;
    }
    o.tsa_url = a->tsa_url;
    o.tsa_ca_file = a->tsa_ca;
    o.tsa_tls_ca_file = a->tsa_tls_ca;
    o.upload_expiry = std::chrono::seconds(a->upload_expiry_s);
    o.header_timeout = std::chrono::seconds(a->header_timeout_s);
    o.body_timeout = std::chrono::seconds(a->body_timeout_s);
    o.shutdown_deadline = std::chrono::seconds(a->shutdown_s);
    if (!a->verify_every.empty()) {
      const auto every = ingest::parse_duration(a->verify_every);
      if (!every) {
        std::cerr << "evidenced serve: --verify-every must be a duration such as 30s, 10m, 1h or 1d\n";
        return 2;
      }
      o.verify_every = *every;
    }
    o.min_retention_days = a->min_retention_days;
    const auto deadline = ingest::parse_deadline(a->upload_deadline);
    if (!deadline) {
      std::cerr << "evidenced serve: --upload-deadline must be a duration such as 24h, 90m, 30s or 0s\n";
      return 2;
    }
    o.upload_deadline = *deadline;
    o.blobs = a->blobs;
    if (!a->s3_credentials.empty()) o.blobs.s3_credentials = a->s3_credentials;
    o.media_scan = !a->no_media_scan;
    if (a->witness_quorum > a->witnesses.size() || (a->witness_quorum && a->witnesses.empty())) {
      std::cerr << "evidenced serve: --witness-quorum " << a->witness_quorum << " is more than the "
                << a->witnesses.size() << " --witness given\n";
      return 2;
    }
    for (const auto& w : a->witnesses) {
      try {
        (void)ingest::WitnessEndpoint::parse(w);
      } catch (const std::exception& e) {
        std::cerr << "evidenced serve: " << e.what() << "\n";
        return 2;
      }
    }
    const auto witness_timeout = parse_witness_timeout(a->witness_timeout);
    if (!witness_timeout) {
      std::cerr << "evidenced serve: --witness-timeout must be a duration above zero and at most 60s, "
                   "such as 5s or 500ms\n";
      return 2;
    }
    o.witnesses = a->witnesses;
    o.witness_quorum = a->witness_quorum;
    o.witness_timeout = *witness_timeout;
    if (o.upload_expiry.count() < 3600) o.sweep_interval = std::chrono::seconds(1);
    // Exit 2: the daemon could not run (a usage error, a folder that is not a data
    // directory, one already served, a port taken, keys that do not load).
    try {
      return ingest::serve(o);
    } catch (const std::exception& e) {
      std::cerr << "evidenced serve: " << e.what() << "\n";
      return 2;
    }
  };
}

}  // namespace evidence::cli
