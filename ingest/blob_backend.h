// Which blob backend an instance uses, and opening it. The default is the local folder
// DIR/blobs/; `serve --blobs s3://BUCKET --s3-endpoint URL` moves blobs to an S3 bucket
// with Object Lock (ingest/s3_blob_store.h). The non-secret S3 settings are kept in
// DIR/blobs.json (Layout::blob_config()), written durably at the first start with S3,
// so that `evidenced verify --data DIR`, exports and later starts use the same
// backend. Credentials are never stored there: they come from AWS_ACCESS_KEY_ID /
// AWS_SECRET_ACCESS_KEY or a credentials file (load_s3_credentials) on every start.
//
// DIR/blobs.json: {"backend": "s3", "endpoint", "bucket", "region", "lock_mode",
//                  "retention_days", "allow_unlocked"}
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "ingest/options.h"
#include "store/blob_store.h"
#include "store/layout.h"

namespace evidence::ingest {

struct BlobConfig {
  std::string backend = "local";  // "local" or "s3"
  std::string endpoint, bucket, region = "us-east-1";
  std::string lock_mode = "COMPLIANCE";
  unsigned retention_days = 3650;
  bool allow_unlocked = false;
};

// DIR/blobs.json, or nullopt when absent (a local instance). Error(corrupt) when it
// does not parse or names an unknown backend.
std::optional<BlobConfig> read_blob_config(const Layout& layout);
void write_blob_config(const Layout& layout, const BlobConfig& config);

// The daemon's backend. Without --blobs: the one DIR/blobs.json names (local when
// absent). With --blobs s3://BUCKET: the bucket (created with Object Lock when
// missing), and DIR/blobs.json written or updated; a different bucket from the one
// already recorded is refused (Error(invalid_argument)): its records name versions in
// the old bucket. Switching an instance that has local blobs to S3 is refused too.
std::unique_ptr<BlobStore> open_serve_blob_store(const ServeOptions& options, const Layout& layout);

// For verify and exports: the backend DIR/blobs.json names (local when absent),
// opened without creating anything. Credentials from `credentials` or the environment.
std::unique_ptr<BlobStore> open_data_blob_store(const Layout& layout,
                                                const std::optional<std::filesystem::path>& credentials = {});

// The version a record should name for content already stored under `id` with `size`
// bytes when the writer's answer was lost (a tus completion retried after a crash):
// the oldest non-deleted version of that size, as the S3 backend's own deduplication
// picks. Empty for backends without versions.
std::string stored_version(BlobStore& blobs, const ContentId& id, std::uint64_t size);

}  // namespace evidence::ingest
