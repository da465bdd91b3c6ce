// The bytes of partial uploads (tus sessions) under DIR/incoming/upload-<id>; the
// only code that touches those files. Upload ids are ones we generated (Layout checks
// them: [A-Za-z0-9_-]{1,64}, else Error(invalid_argument)).
//
// Contract: the session's offset in the index only ever counts bytes that
// PartialUpload::sync() has made durable; anything past it is discarded by
// truncate_to() when the next append session opens the file.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <memory>
#include <span>
#include <string>

#include "store/blob_store.h"
#include "store/content_id.h"
#include "store/layout.h"

namespace evidence {

// One open partial upload, positioned for appending. Move-only RAII file.
class PartialUpload {
 public:
  ~PartialUpload();
  PartialUpload(const PartialUpload&) = delete;
  PartialUpload& operator=(const PartialUpload&) = delete;

  // Throws Error(no_space|io_error...) naming the file.
  void append(std::span<const std::uint8_t> data);
  void truncate_to(std::uint64_t offset);
  void sync();  // fdatasync: the bytes appended so far survive a crash
  std::uint64_t size() const { return size_; }

 private:
  friend class PartialUploads;
  PartialUpload(const std::filesystem::path& p, std::uint64_t offset);
  int fd_ = -1;
  std::filesystem::path path_;
  std::uint64_t size_ = 0;
};

class PartialUploads {
 public:
  explicit PartialUploads(Layout layout) : layout_(std::move(layout)) {}

  // Creates an empty upload file (Error(already_exists) if present) and fsyncs it and
  // its folder, so the session recorded after it always finds its file.
  void create(const std::string& upload_id) const;
  // Opens the file for appending at `offset`, truncating any non-durable tail.
  // Throws Error(not_found) when the file is gone.
  std::unique_ptr<PartialUpload> open_append(const std::string& upload_id, std::uint64_t offset) const;
  bool exists(const std::string& upload_id) const;
  // The file's size in bytes; Error(not_found) when absent.
  std::uint64_t size(const std::string& upload_id) const;
  // SHA-256 of the file's bytes, read again from disk.
  ContentId rehash(const std::string& upload_id) const;
  // Moves the complete file into `blobs` as content `id` (BlobStore::adopt_file); the
  // upload file is gone afterwards.
  // With `lock_until`, the stored object is locked until then (BlobStore::adopt_file_locked).
  BlobInfo adopt_into(BlobStore& blobs, const std::string& upload_id, const ContentId& id,
                      std::optional<std::chrono::system_clock::time_point> lock_until = std::nullopt) const;
  // Unlinks the file and fsyncs the folder, so an expired or terminated upload does not
  // come back after a crash. An absent file is no error; a failing unlink or fsync is
  // only reported (false): the bytes are garbage either way.
  bool remove(const std::string& upload_id) const;

 private:
  Layout layout_;
};

}  // namespace evidence
