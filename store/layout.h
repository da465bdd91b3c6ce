// Every path under the data directory is computed here and nowhere else
// (leveldb's filename.cc habit). Case numbers and file names never become paths.
//
//   DIR/index/                     LMDB environment
//   DIR/blobs/sha256/ab/abcdef...  one file per distinct content, mode 0444
//   DIR/incoming/                  partial uploads and blob temp files
//   DIR/keys/                      private keys (0600) and public certificates
//   DIR/admin.token                first admin token (0600)
//   DIR/serve.lock                 held (flock) by the one serving daemon
#pragma once

#include <filesystem>
#include <string>

#include "store/content_id.h"

namespace evidence {

class Layout {
 public:
  explicit Layout(std::filesystem::path root) : root_(std::move(root)) {}

  const std::filesystem::path& root() const { return root_; }
  // True when root() holds an index folder: a data directory, not some other folder.
  bool has_index() const {
    std::error_code ec;
    return std::filesystem::is_directory(index_dir(), ec);
  }
  std::filesystem::path index_dir() const { return root_ / "index"; }
  std::filesystem::path blobs_dir() const { return root_ / "blobs" / "sha256"; }
  std::filesystem::path blob_folder(const ContentId& id) const;
  std::filesystem::path blob_path(const ContentId& id) const;
  // Where a damaged copy of a blob is kept when a good one replaces it.
  std::filesystem::path damaged_blob_path(const ContentId& id, const std::string& stamp) const {
    return blob_folder(id) / (id.hex() + ".damaged-" + stamp);
  }
  std::filesystem::path incoming_dir() const { return root_ / "incoming"; }
  // A partial tus upload's bytes. `upload_id` must be an id we generated
  // (checked: [A-Za-z0-9_-]{1,64}); anything else throws Error(invalid_argument).
  std::filesystem::path upload_path(const std::string& upload_id) const;
  std::filesystem::path keys_dir() const { return root_ / "keys"; }
  std::filesystem::path admin_token_path() const { return root_ / "admin.token"; }
  std::filesystem::path serve_lock() const { return root_ / "serve.lock"; }  // store/instance_lock.h
  std::filesystem::path blob_config() const { return root_ / "blobs.json"; }  // store/s3/open_blob_store.h

  // Key and certificate files, all under keys/.
  std::filesystem::path log_private_key() const { return keys_dir() / "log-ed25519.key"; }
  std::filesystem::path log_public_key() const { return keys_dir() / "log-ed25519.pub"; }
  std::filesystem::path log_name_file() const { return keys_dir() / "log-name"; }
  std::filesystem::path tsa_ca_key() const { return keys_dir() / "tsa-ca.key"; }
  std::filesystem::path tsa_ca_cert() const { return keys_dir() / "tsa-ca.pem"; }
  std::filesystem::path tsa_key() const { return keys_dir() / "tsa.key"; }
  std::filesystem::path tsa_cert() const { return keys_dir() / "tsa.pem"; }

 private:
  std::filesystem::path root_;
};

}  // namespace evidence
