// Which blob backend an instance uses, and opening it. The default is the local folder
// DIR/blobs/; an instance started with an S3 bucket keeps its blobs there, with Object
// Lock (store/s3/s3_blob_store.h). The non-secret S3 settings are kept in
// DIR/blobs.json (Layout::blob_config()), written durably at the first start with S3,
// so that `evidenced verify --data DIR`, exports and later starts use the same
// backend. Credentials are never stored there: they come from AWS_ACCESS_KEY_ID /
// AWS_SECRET_ACCESS_KEY or a credentials file (load_s3_credentials) on every start.
//
// DIR/blobs.json: {"backend": "s3", "endpoint", "bucket", "region", "lock_mode",
//                  "retention_days", "allow_unlocked"}
//
// Library evidence_store_backends: links the core store and evidence_store_s3.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "store/blob_store.h"
#include "store/layout.h"

namespace evidence {

struct BlobConfig {
  std::string backend = "local";  // "local" or "s3"
  std::string endpoint, bucket, region = "us-east-1";
  std::string lock_mode = "COMPLIANCE";
  unsigned retention_days = 3650;
  bool allow_unlocked = false;
};

// DIR/blobs.json, or nullopt when absent (a local instance). Error(corrupt) naming the
// file when it does not parse or names an unknown backend.
std::optional<BlobConfig> read_blob_config(const Layout& layout);
void write_blob_config(const Layout& layout, const BlobConfig& config);

// What the serving daemon asks for (its --blobs/--s3-* flags); empty means "not given".
struct BlobBackendOptions {
  std::string blobs_url;    // "s3://BUCKET", or empty for the recorded backend
  std::string s3_endpoint;
  std::string s3_region;
  std::string lock_mode;    // "compliance" or "governance", any case
  unsigned retention_days = 0;
  bool allow_unlocked = false;
  std::optional<std::filesystem::path> s3_credentials;  // else the environment
};

// The daemon's backend. Without blobs_url: the one DIR/blobs.json names (local when
// absent). With s3://BUCKET: the bucket (created with Object Lock when missing), and
// DIR/blobs.json written or updated; a different bucket from the one already recorded
// is refused (Error(invalid_argument)): its records name versions in the old bucket.
// Switching an instance that has local blobs to S3 is refused too.
std::unique_ptr<BlobStore> open_serve_blob_store(const Layout& layout, const BlobBackendOptions& options);

// For verify and exports: the backend DIR/blobs.json names (local when absent),
// opened without creating anything. Credentials from `credentials` or the environment.
std::unique_ptr<BlobStore> open_data_blob_store(const Layout& layout,
                                                const std::optional<std::filesystem::path>& credentials = {});

}  // namespace evidence
