// Everything `evidenced serve` can be told, with the defaults the daemon runs with.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "store/s3/open_blob_store.h"

namespace evidence::ingest {

struct ServeOptions {
  std::filesystem::path data_dir;
  std::string host = "127.0.0.1";
  std::uint16_t port = 8443;
  std::filesystem::path tls_cert;  // both set: HTTPS (TLS 1.2+ only)
  std::filesystem::path tls_key;
  // Plain HTTP on an address other hosts can reach sends tokens and footage in the
  // clear: refused unless this is set (DESIGN.md "Hardening").
  bool allow_plain_http = false;
  unsigned io_threads = 0;         // 0: hardware concurrency
  // Blocking work: fsync, LMDB commits, signing. Mostly waiting (on the disk, or in a
  // group commit for the batch leader), so many more than the cores: concurrent
  // uploads can only share a commit when each has a thread to wait on.
  unsigned worker_threads = 32;
  std::uint64_t max_upload_bytes = 64ull << 30;
  std::uint64_t max_json_bytes = 1 << 20;
  std::size_t max_header_bytes = 16 * 1024;
  unsigned max_connections = 1024;
  unsigned max_exports = 2;           // case exports at once (429 beyond)
  unsigned max_uploads_per_user = 8;  // concurrent upload requests per user (429 beyond)
  std::string tsa_url;                // empty: the embedded TSA
  std::filesystem::path tsa_ca_file;  // outside TSA's CA (PEM) for receipts and /keys
  std::filesystem::path tsa_tls_ca_file;  // https TSA: CA bundle for its TLS certificate; empty: system roots
  std::chrono::seconds header_timeout{30};   // whole request header, also keep-alive idle
  std::chrono::seconds body_timeout{60};     // per body chunk: cuts off slow senders
  std::chrono::seconds write_timeout{60};
  std::chrono::seconds upload_expiry{24 * 3600};  // tus partial uploads
  std::chrono::seconds sweep_interval{60};
  std::chrono::seconds shutdown_deadline{20};
  std::chrono::milliseconds checkpoint_interval{1000};
  std::chrono::seconds verify_every{0};  // background whole-store audit; 0: never
  // Witnesses (ingest/witnesses.h): "VKEY@URL" each; quorum 0: every one of them.
  std::vector<std::string> witnesses;
  unsigned witness_quorum = 0;
  std::chrono::milliseconds witness_timeout{5000};  // a receipt waits at most this for the quorum
  // Lifecycle (ingest/lifecycle.h): the shortest retention a category may have, and
  // how long after recorded_at an item may arrive before it is flagged late.
  unsigned min_retention_days = 180;
  std::chrono::seconds upload_deadline{24 * 3600};
  // At start, look for items whose media work (probe, poster frame, segments) is
  // unfinished and do it. Off: only new uploads get media work.
  bool media_scan = true;
  // Blob backend, passed as it is to store/s3/open_blob_store.h. Empty blobs_url: the
  // one DIR/blobs.json records (the local folder when there is none).
  BlobBackendOptions blobs;
};

}  // namespace evidence::ingest
