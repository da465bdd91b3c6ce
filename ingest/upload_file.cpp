#include "ingest/upload_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "store/blob_store.h"
#include "store/error.h"

namespace evidence::ingest {

void UploadFile::create(const std::filesystem::path& p) {
  const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw system_error(errno, "create " + p.string());
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) throw system_error(err, "fsync " + p.string());
  fsync_path(p.parent_path());
}

UploadFile::UploadFile(const std::filesystem::path& p, std::uint64_t offset) : path_(p) {
  fd_ = ::open(p.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd_ < 0) {
    if (errno == ENOENT) throw Error(Errc::not_found, "upload file " + p.string() + " is missing");
    throw system_error(errno, "open " + p.string());
  }
  truncate_to(offset);
}

UploadFile::~UploadFile() {
  if (fd_ >= 0) ::close(fd_);
}

void UploadFile::truncate_to(std::uint64_t offset) {
  if (::ftruncate(fd_, static_cast<off_t>(offset)) != 0) throw system_error(errno, "truncate " + path_.string());
  if (::lseek(fd_, static_cast<off_t>(offset), SEEK_SET) < 0) throw system_error(errno, "seek " + path_.string());
  size_ = offset;
}

void UploadFile::append(std::span<const std::uint8_t> data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw system_error(errno, "write " + path_.string());
    }
    data = data.subspan(static_cast<std::size_t>(n));
    const std::uint64_t before = size_;
    size_ += static_cast<std::uint64_t>(n);
    // Write-behind, as the blob writer does: start writeback every 32 MiB so the
    // disk works while the body still arrives and the PATCH's closing fdatasync has
    // little left to do. Durability is unchanged (the offset still waits for sync()).
    if ((before >> 25) != (size_ >> 25)) ::sync_file_range(fd_, 0, 0, SYNC_FILE_RANGE_WRITE);
  }
}

void UploadFile::sync() {
  if (::fdatasync(fd_) != 0) throw system_error(errno, "fdatasync " + path_.string());
}

}  // namespace evidence::ingest
