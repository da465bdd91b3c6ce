#include "ingest/blob_backend.h"

#include "store/s3/open_blob_store.h"

namespace evidence::ingest {

std::unique_ptr<BlobStore> open_serve_blob_store(const ServeOptions& options, const Layout& layout) {
  BlobBackendOptions o;
  o.blobs_url = options.blobs_url;
  o.s3_endpoint = options.s3_endpoint;
  o.s3_region = options.s3_region;
  o.lock_mode = options.lock_mode;
  o.retention_days = options.retention_days;
  o.allow_unlocked = options.allow_unlocked;
  if (!options.s3_credentials.empty()) o.s3_credentials = options.s3_credentials;
  return evidence::open_serve_blob_store(layout, o);
}

}  // namespace evidence::ingest
