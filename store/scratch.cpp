#include "store/scratch.h"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <span>
#include <utility>
#include <vector>

#include "base/codec.h"
#include "base/error.h"

namespace evidence {

namespace {

// Named scratch files all start with this, so that sweep() knows them.
constexpr const char* kNamedPrefix = "media-";

std::filesystem::path fresh_name(const Layout& layout, const std::string& suffix) {
  return layout.incoming_dir() / (kNamedPrefix + to_hex(random_bytes(12)) + suffix);
}

}  // namespace

ScratchFile::ScratchFile(ScratchFile&& o) noexcept
    : path_(std::move(o.path_)), fd_(std::exchange(o.fd_, -1)), size_(o.size_) {
  o.path_.clear();
}

ScratchFile& ScratchFile::operator=(ScratchFile&& o) noexcept {
  if (this != &o) {
    ScratchFile gone(std::move(*this));
    path_ = std::move(o.path_);
    o.path_.clear();
    fd_ = std::exchange(o.fd_, -1);
    size_ = o.size_;
  }
  return *this;
}

ScratchFile::~ScratchFile() {
  close();
  if (!path_.empty()) ::unlink(path_.c_str());
}

void ScratchFile::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void ScratchFile::write(std::span<const std::uint8_t> data) {
  const std::string what = path_.empty() ? std::string("a scratch file") : path_.string();
  if (fd_ < 0) throw Error(Errc::internal, "write " + what + ": not open");
  while (!data.empty()) {
    const ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw system_error(errno, "write " + what);
    data = data.subspan(static_cast<std::size_t>(n));
    size_ += static_cast<std::uint64_t>(n);
  }
}

std::size_t ScratchFile::read_at(std::uint64_t offset, std::span<std::uint8_t> out) const {
  for (;;) {
    const ssize_t n = ::pread(fd_, out.data(), out.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw system_error(errno, "read " + (path_.empty() ? std::string("a scratch file") : path_.string()));
    return static_cast<std::size_t>(n);
  }
}

namespace {

// Reads the whole file from its start in pieces of up to `piece` bytes, calling
// fn(bytes) for each: through `own_fd` when the scratch file is open, else by opening
// `path` (and closing it again).
template <class Fn>
void read_whole(int own_fd, const std::filesystem::path& path, std::size_t piece, Fn&& fn) {
  const int fd = own_fd >= 0 ? own_fd : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(Errc::io_error, "open " + path.string() + ": " + std::strerror(errno));
  struct Closer {
    int fd;
    bool own;
    ~Closer() {
      if (own) ::close(fd);
    }
  } closer{fd, fd != own_fd};
  std::vector<std::uint8_t> buf(piece);
  for (std::uint64_t off = 0;;) {
    const ssize_t n = ::pread(fd, buf.data(), buf.size(), static_cast<off_t>(off));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(Errc::io_error, "read " + path.string() + ": " + std::strerror(errno));
    }
    if (n == 0) return;
    fn(std::span<const std::uint8_t>(buf.data(), static_cast<std::size_t>(n)));
    off += static_cast<std::uint64_t>(n);
  }
}

}  // namespace

std::vector<std::uint8_t> ScratchFile::read_all(std::size_t cap) const {
  std::vector<std::uint8_t> out;
  read_whole(fd_, path_, 65536, [&](std::span<const std::uint8_t> piece) {
    if (out.size() + piece.size() > cap)
      throw Error(Errc::invalid_argument, path_.string() + " is larger than " + std::to_string(cap) + " bytes");
    out.insert(out.end(), piece.begin(), piece.end());
  });
  return out;
}

std::pair<ContentId, std::uint64_t> ScratchFile::digest() const {
  Sha256 h;
  std::uint64_t size = 0;
  read_whole(fd_, path_, std::size_t{1} << 20, [&](std::span<const std::uint8_t> piece) {
    h.update(piece);
    size += piece.size();
  });
  return {h.finish(), size};
}

BlobInfo ScratchFile::adopt_into(BlobStore& blobs, const ContentId& id) {
  if (path_.empty()) throw Error(Errc::internal, "an anonymous scratch file cannot be adopted");
  close();
  BlobInfo info = blobs.adopt_file(path_, id);
  path_.clear();  // the store owns the bytes now
  return info;
}

ScratchFile Scratch::anonymous(const std::string& prefix) const {
  const auto dir = layout_.incoming_dir();
  ScratchFile f;
  f.fd_ = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (f.fd_ < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    static std::atomic<unsigned> counter{0};
    for (int attempt = 0; attempt < 16 && f.fd_ < 0; ++attempt) {
      const auto name = dir / (prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(++counter) + ".tmp");
      f.fd_ = ::open(name.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
      if (f.fd_ >= 0) ::unlink(name.c_str());
      else if (errno != EEXIST) break;
    }
  }
  if (f.fd_ < 0) throw system_error(errno, "create a " + prefix + " scratch file in " + dir.string());
  return f;
}

ScratchFile Scratch::create(const std::string& suffix) const {
  ScratchFile f;
  const auto p = fresh_name(layout_, suffix);
  f.fd_ = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (f.fd_ < 0) throw Error(Errc::io_error, "create " + p.string() + ": " + std::strerror(errno));
  f.path_ = p;
  return f;
}

ScratchFile Scratch::reserve(const std::string& suffix) const {
  ScratchFile f;
  f.path_ = fresh_name(layout_, suffix);
  return f;
}

std::optional<std::uint64_t> Scratch::available_bytes() const {
  struct statvfs st{};
  if (::statvfs(layout_.incoming_dir().c_str(), &st) != 0) return std::nullopt;
  return static_cast<std::uint64_t>(st.f_bavail) * static_cast<std::uint64_t>(st.f_frsize);
}

std::size_t Scratch::sweep() const {
  std::size_t removed = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(layout_.incoming_dir(), ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (it->path().filename().string().rfind(kNamedPrefix, 0) == 0) {
      std::error_code rm;
      if (std::filesystem::remove(it->path(), rm)) ++removed;
    }
  }
  return removed;
}

std::optional<std::size_t> read_file_head(const std::filesystem::path& file, std::span<std::uint8_t> out) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::size_t got = 0;
  while (got < out.size()) {
    const ssize_t n = ::read(fd, out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return got;
}

}  // namespace evidence
