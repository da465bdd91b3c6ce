#include "base/files.h"
#include "store/blob_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "base/error.h"
#include "base/timefmt.h"

namespace evidence {

namespace fs = std::filesystem;

namespace {

// Owns a file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = o.release();
    }
    return *this;
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  // close() reports deferred write errors on some file systems; check it.
  void close_checked(const std::string& what) {
    int fd = release();
    if (fd >= 0 && ::close(fd) != 0) throw system_error(errno, "close " + what);
  }

 private:
  int fd_ = -1;
};

void fsync_fd(int fd, const std::string& what) {
  if (::fsync(fd) != 0) throw system_error(errno, "fsync " + what);
}

// Creates a folder (and its parents) if absent; fsyncs the parent of each folder it
// creates so the new entry itself is durable.
void ensure_dir(const fs::path& dir) {
  if (fs::is_directory(dir)) return;
  ensure_dir(dir.parent_path());
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) throw system_error(errno, "mkdir " + dir.string());
  fsync_path(dir.parent_path());
}

bool same_size(const fs::path& p, std::uint64_t size) {
  struct stat st{};
  if (::stat(p.c_str(), &st) != 0) throw system_error(errno, "stat " + p.string());
  return static_cast<std::uint64_t>(st.st_size) == size;
}

// Publishes `tmp` at `target` without ever replacing an existing file: link(2) is
// create-once. Returns false when the target already existed (tmp is left alone).
bool link_once(const fs::path& tmp, const fs::path& target) {
  if (::link(tmp.c_str(), target.c_str()) == 0) return true;
  if (errno == EEXIST) return false;
  throw system_error(errno, "link " + target.string());
}

class LocalBlobWriter final : public BlobWriter {
 public:
  LocalBlobWriter(const Layout& layout, std::size_t buffer_size) : layout_(layout) {
    ensure_dir(layout_.incoming_dir());
    std::string tmpl = (layout_.incoming_dir() / "blob-XXXXXX").string();
    int fd = ::mkstemp(tmpl.data());
    if (fd < 0) throw system_error(errno, "create temp blob in " + layout_.incoming_dir().string());
    fd_ = Fd(fd);
    tmp_ = tmpl;
    buffer_.reserve(buffer_size);
  }

  ~LocalBlobWriter() override {
    if (!tmp_.empty()) ::unlink(tmp_.c_str());  // not committed: leave no trace
  }

  void write(std::span<const std::uint8_t> data) override {
    hash_.update(data);
    size_ += data.size();
    // Large writes go straight through; small ones are gathered into the buffer.
    if (buffer_.size() + data.size() > buffer_.capacity()) flush();
    if (data.size() >= buffer_.capacity()) {
      write_all(fd_.get(), data.data(), data.size(), tmp_.string());
      write_behind();
    } else {
      buffer_.insert(buffer_.end(), data.begin(), data.end());
    }
  }

  std::uint64_t size() const override { return size_; }
  BlobDigest digest() const override { return {hash_.current(), size_}; }

  BlobInfo commit(const std::optional<ContentId>& expected) override {
    flush();
    fsync_fd(fd_.get(), tmp_.string());
    if (::fchmod(fd_.get(), 0444) != 0) throw system_error(errno, "chmod " + tmp_.string());
    fd_.close_checked(tmp_.string());
    BlobInfo info{hash_.finish(), size_, {}, false};
    if (expected && *expected != info.id) {
      throw Error(Errc::digest_mismatch, "content hashes to " + info.id.hex() + " but " +
                                             expected->hex() + " was declared");
    }
    auto folder = layout_.blob_folder(info.id);
    ensure_dir(folder);
    const auto target = layout_.blob_path(info.id);
    info.existed = !link_once(tmp_, target);
    if (info.existed && !same_size(target, size_)) {
      // The stored copy of this content has lost or gained bytes (the audit reports it
      // as content_mismatch). These bytes hash right: they take its place, and the
      // damaged file is kept beside it for whoever investigates, never deleted.
      const auto aside = layout_.damaged_blob_path(info.id, std::to_string(to_unix_us(now_us())));
      if (::rename(target.c_str(), aside.c_str()) != 0) throw system_error(errno, "move aside " + target.string());
      if (!link_once(tmp_, target)) throw Error(Errc::conflict, target.string() + " reappeared while it was repaired");
      info.existed = false;
    }
    if (!info.existed) fsync_path(folder);
    ::unlink(tmp_.c_str());
    tmp_.clear();
    return info;
  }

 private:
  void flush() {
    if (buffer_.empty()) return;
    write_all(fd_.get(), buffer_.data(), buffer_.size(), tmp_.string());
    buffer_.clear();
    write_behind();
  }

  // Starts writeback of what has been written so far, every kWriteBehind bytes, so
  // the disk works while we go on hashing and the final fsync has little left to do.
  // It also keeps the page cache's dirty pages bounded for multi-GiB uploads.
  void write_behind() {
    static constexpr std::uint64_t kWriteBehind = 32 << 20;
    auto written = size_ - buffer_.size();
    if (written - synced_ < kWriteBehind) return;
    ::sync_file_range(fd_.get(), static_cast<off_t>(synced_), static_cast<off_t>(written - synced_),
                      SYNC_FILE_RANGE_WRITE);
    synced_ = written;
  }

  Layout layout_;
  Fd fd_;
  fs::path tmp_;
  std::vector<std::uint8_t> buffer_;
  Sha256 hash_;
  std::uint64_t size_ = 0;
  std::uint64_t synced_ = 0;  // bytes whose writeback has been started
};

class LocalBlobReader final : public BlobReader {
 public:
  LocalBlobReader(Fd fd, std::uint64_t size, std::string name) : fd_(std::move(fd)), size_(size), name_(std::move(name)) {}
  std::uint64_t size() const override { return size_; }
  std::size_t read_at(std::uint64_t offset, std::span<std::uint8_t> out) override {
    for (;;) {
      ssize_t n = ::pread(fd_.get(), out.data(), out.size(), static_cast<off_t>(offset));
      if (n >= 0) return static_cast<std::size_t>(n);
      if (errno != EINTR) throw system_error(errno, "read " + name_);
    }
  }

 private:
  Fd fd_;
  std::uint64_t size_;
  std::string name_;
};

bool is_lower_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

void fsync_path(const fs::path& p) {
  Fd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw system_error(errno, "open " + p.string());
  fsync_fd(fd.get(), p.string());
}

void write_file_durably(const fs::path& target, std::span<const std::uint8_t> data, unsigned mode,
                        bool exclusive) {
  auto dir = target.parent_path();
  if (dir.empty()) dir = ".";
  std::string tmpl = (dir / ".tmp-XXXXXX").string();
  Fd fd(::mkstemp(tmpl.data()));
  if (fd.get() < 0) throw system_error(errno, "create temp file in " + dir.string());
  fs::path tmp = tmpl;
  try {
    if (::fchmod(fd.get(), mode) != 0) throw system_error(errno, "chmod " + tmp.string());
    write_all(fd.get(), data.data(), data.size(), tmp.string());
    fsync_fd(fd.get(), tmp.string());
    fd.close_checked(tmp.string());
    if (exclusive) {
      if (!link_once(tmp, target)) throw Error(Errc::already_exists, target.string() + " already exists");
      ::unlink(tmp.c_str());
    } else if (::rename(tmp.c_str(), target.c_str()) != 0) {
      throw system_error(errno, "rename to " + target.string());
    }
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  fsync_path(dir);
}

LocalBlobStore::LocalBlobStore(Layout layout, std::size_t buffer_size)
    : layout_(std::move(layout)), buffer_size_(buffer_size) {}

std::unique_ptr<BlobWriter> LocalBlobStore::begin_write() {
  return std::make_unique<LocalBlobWriter>(layout_, buffer_size_);
}

BlobInfo LocalBlobStore::adopt_file(const fs::path& file, const ContentId& id) {
  struct stat st{};
  {
    Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) throw system_error(errno, "open " + file.string());
    fsync_fd(fd.get(), file.string());
    if (::fstat(fd.get(), &st) != 0) throw system_error(errno, "stat " + file.string());
    if (::fchmod(fd.get(), 0444) != 0) throw system_error(errno, "chmod " + file.string());
  }
  BlobInfo info{id, static_cast<std::uint64_t>(st.st_size), {}, false};
  auto folder = layout_.blob_folder(id);
  ensure_dir(folder);
  info.existed = !link_once(file, layout_.blob_path(id));
  if (!info.existed) fsync_path(folder);
  if (::unlink(file.c_str()) != 0) throw system_error(errno, "unlink " + file.string());
  fsync_path(file.parent_path());
  return info;
}

bool LocalBlobStore::exists(const ContentId& id) {
  struct stat st{};
  return ::stat(layout_.blob_path(id).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::unique_ptr<BlobReader> LocalBlobStore::open(const ContentId& id, const std::string&) {
  auto path = layout_.blob_path(id);
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) throw Error(Errc::not_found, "blob " + id.hex() + " is missing");
    throw system_error(errno, "open " + path.string());
  }
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0) throw system_error(errno, "stat " + path.string());
  // Tell the kernel we read front to back (verify and downloads), for larger read-ahead.
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  return std::make_unique<LocalBlobReader>(std::move(fd), static_cast<std::uint64_t>(st.st_size), path.string());
}

void LocalBlobStore::for_each(const std::function<void(const ContentId&, std::uint64_t)>& fn) {
  std::error_code ec;
  if (!fs::is_directory(layout_.blobs_dir(), ec)) return;
  for (auto& folder : fs::directory_iterator(layout_.blobs_dir())) {
    if (!folder.is_directory()) continue;
    auto prefix = folder.path().filename().string();
    for (auto& f : fs::directory_iterator(folder.path())) {
      auto name = f.path().filename().string();
      if (!f.is_regular_file() || name.size() != 64 || !is_lower_hex(name) || name.compare(0, 2, prefix) != 0)
        continue;
      fn(*ContentId::from_hex(name), f.file_size());
    }
  }
}

std::vector<std::string> LocalBlobStore::stray_names() {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::is_directory(layout_.blobs_dir(), ec)) return out;
  for (auto& folder : fs::directory_iterator(layout_.blobs_dir())) {
    auto prefix = folder.path().filename().string();
    if (!folder.is_directory() || prefix.size() != 2 || !is_lower_hex(prefix)) {
      out.push_back(prefix);
      continue;
    }
    for (auto& f : fs::directory_iterator(folder.path())) {
      auto name = f.path().filename().string();
      if (!f.is_regular_file() || name.size() != 64 || !is_lower_hex(name) || name.compare(0, 2, prefix) != 0)
        out.push_back(prefix + "/" + name);
    }
  }
  return out;
}

std::string LocalBlobStore::describe() const { return "local:" + layout_.blobs_dir().string(); }

BlobRemoval BlobStore::remove(const ContentId& id) {
  throw Error(Errc::permission_denied, describe() + " cannot delete blobs (content " + id.hex() + " stays)");
}

BlobRemoval LocalBlobStore::remove(const ContentId& id) {
  const auto path = layout_.blob_path(id);
  BlobRemoval r;
  if (::unlink(path.c_str()) != 0) {
    if (errno != ENOENT) throw system_error(errno, "unlink " + path.string());
    r.outcome = BlobRemoval::Outcome::absent;
    r.detail = "blob " + id.hex() + " was already gone";
  } else {
    r.outcome = BlobRemoval::Outcome::removed;
    r.detail = "blob " + id.hex() + " deleted";
  }
  // Also when it was already gone: an unlink that a crash interrupted before the
  // folder reached the disk is made durable now.
  std::error_code ec;
  if (fs::is_directory(path.parent_path(), ec)) fsync_path(path.parent_path());
  return r;
}

std::filesystem::path LocalBlobStore::file_of(const ContentId& id) {
  auto p = layout_.blob_path(id);
  std::error_code ec;
  if (!fs::exists(p, ec)) throw Error(Errc::not_found, "blob " + id.hex() + " is missing from " + describe());
  return p;
}

std::string stored_version(BlobStore& blobs, const ContentId& id, std::uint64_t size) {
  VersionedBlobs* v = blobs.versioned();
  if (!v) return {};
  const auto all = v->versions(id);  // newest first
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    if (!it->delete_marker && it->size == size) return it->version;
  }
  return {};
}

}  // namespace evidence
