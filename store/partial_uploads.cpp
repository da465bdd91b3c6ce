#include "store/partial_uploads.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "base/error.h"

namespace evidence {

PartialUpload::PartialUpload(const std::filesystem::path& p, std::uint64_t offset) : path_(p) {
  fd_ = ::open(p.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd_ < 0) {
    if (errno == ENOENT) throw Error(Errc::not_found, "upload file " + p.string() + " is missing");
    throw system_error(errno, "open " + p.string());
  }
  truncate_to(offset);
}

PartialUpload::~PartialUpload() {
  if (fd_ >= 0) ::close(fd_);
}

void PartialUpload::truncate_to(std::uint64_t offset) {
  if (::ftruncate(fd_, static_cast<off_t>(offset)) != 0) throw system_error(errno, "truncate " + path_.string());
  if (::lseek(fd_, static_cast<off_t>(offset), SEEK_SET) < 0) throw system_error(errno, "seek " + path_.string());
  size_ = offset;
}

void PartialUpload::append(std::span<const std::uint8_t> data) {
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
    // disk works while the body still arrives and the closing fdatasync has little
    // left to do. Durability is unchanged (the offset still waits for sync()).
    if ((before >> 25) != (size_ >> 25)) ::sync_file_range(fd_, 0, 0, SYNC_FILE_RANGE_WRITE);
  }
}

void PartialUpload::sync() {
  if (::fdatasync(fd_) != 0) throw system_error(errno, "fdatasync " + path_.string());
}

void PartialUploads::create(const std::string& upload_id) const {
  const auto p = layout_.upload_path(upload_id);
  const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw system_error(errno, "create " + p.string());
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) throw system_error(err, "fsync " + p.string());
  fsync_path(p.parent_path());
}

std::unique_ptr<PartialUpload> PartialUploads::open_append(const std::string& upload_id, std::uint64_t offset) const {
  return std::unique_ptr<PartialUpload>(new PartialUpload(layout_.upload_path(upload_id), offset));
}

bool PartialUploads::exists(const std::string& upload_id) const {
  std::error_code ec;
  return std::filesystem::exists(layout_.upload_path(upload_id), ec);
}

std::uint64_t PartialUploads::size(const std::string& upload_id) const {
  const auto p = layout_.upload_path(upload_id);
  struct stat st{};
  if (::stat(p.c_str(), &st) != 0) {
    if (errno == ENOENT) throw Error(Errc::not_found, "upload file " + p.string() + " is missing");
    throw system_error(errno, "stat " + p.string());
  }
  return static_cast<std::uint64_t>(st.st_size);
}

ContentId PartialUploads::rehash(const std::string& upload_id) const {
  const auto p = layout_.upload_path(upload_id);
  const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw system_error(errno, "open " + p.string());
  Sha256 h;
  std::vector<std::uint8_t> buf(1 << 20);
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      throw system_error(err, "read " + p.string());
    }
    if (n == 0) break;
    h.update(std::span(buf.data(), static_cast<std::size_t>(n)));
  }
  ::close(fd);
  return h.finish();
}

BlobInfo PartialUploads::adopt_into(BlobStore& blobs, const std::string& upload_id, const ContentId& id,
                                    std::optional<std::chrono::system_clock::time_point> lock_until) const {
  if (lock_until) return blobs.adopt_file_locked(layout_.upload_path(upload_id), id, *lock_until);
  return blobs.adopt_file(layout_.upload_path(upload_id), id);
}

bool PartialUploads::remove(const std::string& upload_id) const {
  const auto p = layout_.upload_path(upload_id);
  if (::unlink(p.c_str()) != 0) return errno == ENOENT;
  try {
    fsync_path(p.parent_path());
  } catch (const Error&) {
    return false;
  }
  return true;
}

}  // namespace evidence
