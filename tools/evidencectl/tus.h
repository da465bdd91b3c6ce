// The tus 1.0.0 client (core, creation, checksum): one file to /api/v1/uploads,
// in chunks, each with `Upload-Checksum: sha256`, resuming where the server's HEAD
// says after a dropped connection, a server restart or a killed client.
//
// Resume state lives on disk, one small JSON file per local file (keyed by its
// absolute path) under a state folder: the upload's path on the server and the file's
// identity (size, mtime, sha256). It is written before the first byte is sent, so a
// client killed at any point finds the upload again.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "store/content_id.h"
#include "tools/evidencectl/http.h"
#include "tools/evidencectl/progress.h"

namespace evidencectl {

struct UploadMetadata {
  std::string officer;
  std::string device;
  std::string recorded_at;  // RFC 3339
  std::string filename;
  std::optional<std::string> case_number;
};

struct TusOptions {
  std::size_t chunk_size = 8u << 20;
  int retries = 10;                   // consecutive failed attempts before giving up
  std::int64_t limit_rate = 0;        // bytes per second; 0: no limit
  std::filesystem::path state_dir;    // where resume state is kept
  std::function<bool()> should_stop;  // polled between attempts and during transfers
};

struct TusResult {
  std::string upload_path;  // e.g. /api/v1/uploads/ID
  std::string evidence_id;  // from the completing PATCH (empty if its answer was lost)
  evidence::ContentId sha256;
  std::uint64_t size = 0;
  std::uint64_t bytes_sent = 0;          // PATCH body bytes this run put on the wire
  std::optional<std::uint64_t> resumed_at;  // set when an earlier upload was continued
};

// Uploads `file` completely (or throws Failure(kCannotRun), keeping the resume state
// so that running again continues). Prints "resumed at N bytes" when it continues.
// `known_sha256` spares hashing a file the caller has just hashed.
TusResult tus_upload(Http& http, const std::filesystem::path& file, const UploadMetadata& meta,
                     const TusOptions& options, Progress& progress,
                     const std::optional<evidence::ContentId>& known_sha256 = std::nullopt);

// GET the finished upload: the receipt. Waits (with retries) while the server has
// not yet published a checkpoint that covers the ingest entry.
boost::json::object fetch_receipt(Http& http, const std::string& upload_path, const TusOptions& options);

// Drops the resume state once the receipt is safe (written and verified).
void forget_upload(const TusOptions& options, const std::filesystem::path& file);

// The Upload-Metadata header value: "key base64(value),..." in a fixed order.
std::string encode_upload_metadata(const UploadMetadata& meta, const evidence::ContentId& sha256);

}  // namespace evidencectl
