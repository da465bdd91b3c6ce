// Temporary files in the data directory (DIR/incoming): export spools, media worker
// output, local copies of remote blobs. The only code that creates or removes them.
// Every ScratchFile removes itself when it dies; named ones that a crash leaves behind
// are removed by Scratch::sweep() at the next start.
//
// A named scratch file's path is handed out as an opaque value for a child process
// (the media worker) that must open it; callers above store/ never build one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "store/blob_store.h"
#include "store/content_id.h"
#include "store/layout.h"

namespace evidence {

class ScratchFile {
 public:
  ScratchFile() = default;
  ScratchFile(ScratchFile&& o) noexcept;
  ScratchFile& operator=(ScratchFile&& o) noexcept;
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;
  ~ScratchFile();  // closes the descriptor and removes the name, if any

  // Empty for an anonymous file (no name on disk at all).
  const std::filesystem::path& path() const { return path_; }
  int fd() const { return fd_; }
  std::uint64_t size() const { return size_; }

  // Appends at the end. Error(no_space) on ENOSPC/EDQUOT, else Error(io_error...).
  // Needs an open descriptor (anonymous() or create()).
  void write(std::span<const std::uint8_t> data);
  // Up to out.size() bytes at offset; 0 at the end.
  std::size_t read_at(std::uint64_t offset, std::span<std::uint8_t> out) const;
  // The whole file (opened by name when this object has no descriptor: a reserved path
  // a child process wrote). Error(invalid_argument) when larger than `cap` bytes.
  std::vector<std::uint8_t> read_all(std::size_t cap) const;
  // SHA-256 and length of the whole file (by name when it has no descriptor).
  // Error(io_error) when it cannot be read.
  std::pair<ContentId, std::uint64_t> digest() const;
  // Hands a named file whose bytes hash to `id` to the blob store
  // (BlobStore::adopt_file: the local folder renames it); the name is gone afterwards.
  BlobInfo adopt_into(BlobStore& blobs, const ContentId& id);
  // Closes the descriptor, keeping the name (and its removal at destruction).
  void close();

 private:
  friend class Scratch;
  std::filesystem::path path_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

class Scratch {
 public:
  explicit Scratch(Layout layout) : layout_(std::move(layout)) {}

  // An anonymous read-write file (O_TMPFILE; where the file system lacks it, a named
  // file "<prefix>-..." unlinked at once): a crash leaves nothing behind.
  ScratchFile anonymous(const std::string& prefix) const;
  // A new empty named file "media-<random><suffix>", open for writing (O_EXCL).
  ScratchFile create(const std::string& suffix) const;
  // A fresh unique name "media-<random><suffix>" that nothing has created yet, for a
  // child process to create; removed (if created) when the ScratchFile dies.
  ScratchFile reserve(const std::string& suffix) const;
  // Bytes free for scratch files (and uploads: the same disk); nullopt when unknown.
  std::optional<std::uint64_t> available_bytes() const;
  // Removes named scratch files a previous run left (a crash mid-job). Only call
  // while no scratch file of this instance is in use. Returns how many it removed.
  std::size_t sweep() const;

 private:
  Layout layout_;
};

// Reads the first out.size() bytes (or fewer) of a file the store handed out by path
// (a blob's local path, a scratch file); nullopt when it cannot be opened.
std::optional<std::size_t> read_file_head(const std::filesystem::path& file, std::span<std::uint8_t> out);

}  // namespace evidence
