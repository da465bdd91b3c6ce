// The bytes of one partial tus upload under DIR/incoming (path from Layout). The
// store has no API for appending to a partial upload, so this small RAII file lives
// here. Contract: the session's offset in the index only ever counts bytes that
// sync() has made durable; anything past it is discarded by truncate_to() when the
// next PATCH begins.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>

namespace evidence::ingest {

class UploadFile {
 public:
  // Creates an empty file (fails if it exists) and fsyncs it and its folder.
  static void create(const std::filesystem::path& p);
  // Opens an existing upload file for appending at `offset` (truncating any
  // non-durable tail). Throws Error(not_found) when the file is gone.
  UploadFile(const std::filesystem::path& p, std::uint64_t offset);
  ~UploadFile();
  UploadFile(const UploadFile&) = delete;
  UploadFile& operator=(const UploadFile&) = delete;

  void append(std::span<const std::uint8_t> data);
  void truncate_to(std::uint64_t offset);
  void sync();  // fdatasync
  std::uint64_t size() const { return size_; }

 private:
  int fd_ = -1;
  std::filesystem::path path_;
  std::uint64_t size_ = 0;
};

}  // namespace evidence::ingest
