// The daemon's blob backend from its command line: ServeOptions' --blobs/--s3-* flags
// become store's plain BlobBackendOptions; everything else (DIR/blobs.json, which
// backend, opening it) is store/s3/open_blob_store.h.
#pragma once

#include <memory>

#include "ingest/options.h"
#include "store/blob_store.h"
#include "store/layout.h"

namespace evidence::ingest {

std::unique_ptr<BlobStore> open_serve_blob_store(const ServeOptions& options, const Layout& layout);

}  // namespace evidence::ingest
