#include "store/s3/s3_blob_store.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>
#include <boost/url/parse.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "base/codec.h"
#include "base/error.h"
#include "store/s3/s3_internal.h"

namespace evidence::s3 {

namespace fs = std::filesystem;
namespace pt = boost::property_tree;
using namespace detail;

namespace {

// ---- writer and reader --------------------------------------------------------------------

class S3BlobWriter final : public BlobWriter {
 public:
  S3BlobWriter(S3BlobStore& store, const fs::path& spool_dir, std::size_t part_size)
      : store_(store), part_size_(part_size) {
    std::error_code ec;
    fs::create_directories(spool_dir, ec);
    std::string tmpl = (spool_dir / "s3-spool-XXXXXX").string();
    int fd = ::mkstemp(tmpl.data());
    if (fd < 0) throw system_error(errno, "create spool file in " + spool_dir.string());
    fd_ = std::make_unique<Fd>(fd);
    tmp_ = tmpl;
    buffer_.reserve(1u << 20);
  }
  ~S3BlobWriter() override {
    if (!tmp_.empty()) ::unlink(tmp_.c_str());
  }

  void write(std::span<const std::uint8_t> data) override {
    if (tmp_.empty()) throw Error(Errc::conflict, "write after commit");
    hash_.update(data);
    // Per-part MD5s, split at part boundaries, for the ETag check and dedup.
    auto rest = data;
    while (!rest.empty()) {
      std::size_t room = part_size_ - in_part_;
      std::size_t n = std::min(room, rest.size());
      md5_.update(rest.first(n));
      in_part_ += n;
      rest = rest.subspan(n);
      if (in_part_ == part_size_) {
        part_md5s_.push_back(md5_.finish());
        in_part_ = 0;
      }
    }
    size_ += data.size();
    if (buffer_.size() + data.size() > buffer_.capacity()) flush();
    if (data.size() >= buffer_.capacity())
      write_all(fd_->get(), data.data(), data.size(), tmp_.string());
    else
      buffer_.insert(buffer_.end(), data.begin(), data.end());
  }

  std::uint64_t size() const override { return size_; }

  BlobInfo commit(const std::optional<ContentId>& expected) override {
    if (tmp_.empty()) throw Error(Errc::conflict, "commit called twice");
    flush();
    fd_->close_checked(tmp_.string());
    ContentId id = hash_.finish();
    if (expected && *expected != id)
      throw Error(Errc::digest_mismatch,
                  "content hashes to " + id.hex() + " but " + expected->hex() + " was declared");
    if (in_part_ > 0 || part_md5s_.empty()) part_md5s_.push_back(md5_.finish());
    BlobInfo info = store_.store_file(tmp_, size_, id, part_md5s_, lock_until_);
    ::unlink(tmp_.c_str());
    tmp_.clear();
    return info;
  }

  void lock_until(std::chrono::system_clock::time_point until) override {
    if (until <= std::chrono::system_clock::now())
      throw Error(Errc::invalid_argument, "an object lock must end in the future");
    lock_until_ = until;
  }

 private:
  void flush() {
    if (buffer_.empty()) return;
    write_all(fd_->get(), buffer_.data(), buffer_.size(), tmp_.string());
    buffer_.clear();
  }

  S3BlobStore& store_;
  std::size_t part_size_;
  std::unique_ptr<Fd> fd_;
  fs::path tmp_;
  std::vector<std::uint8_t> buffer_;
  Sha256 hash_;
  Md5 md5_;
  std::size_t in_part_ = 0;
  std::vector<Md5Digest> part_md5s_;
  std::uint64_t size_ = 0;
  std::optional<std::chrono::system_clock::time_point> lock_until_;
};

class S3BlobReader final : public BlobReader {
 public:
  S3BlobReader(s3::Client& client, std::string path, std::string version, std::uint64_t size, std::size_t window)
      : client_(client), path_(std::move(path)), version_(std::move(version)), size_(size),
        window_(std::max<std::size_t>(window, 64u << 10)) {}

  std::uint64_t size() const override { return size_; }

  std::size_t read_at(std::uint64_t offset, std::span<std::uint8_t> out) override {
    if (offset >= size_ || out.empty()) return 0;
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), size_ - offset));
    std::size_t done = 0;
    while (done < want) {
      std::uint64_t pos = offset + done;
      if (pos >= cache_off_ && pos < cache_off_ + cache_.size()) {
        std::size_t n = std::min<std::size_t>(want - done, static_cast<std::size_t>(cache_off_ + cache_.size() - pos));
        std::memcpy(out.data() + done, cache_.data() + (pos - cache_off_), n);
        done += n;
        continue;
      }
      std::size_t rest = want - done;
      if (rest >= window_) {
        // A large read goes straight to the caller; no point caching it.
        std::string body = fetch(pos, rest);
        std::memcpy(out.data() + done, body.data(), rest);
        done += rest;
      } else {
        std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(window_, size_ - pos));
        cache_ = fetch(pos, n);
        cache_off_ = pos;
      }
    }
    return done;
  }

 private:
  std::string fetch(std::uint64_t pos, std::size_t n) {
    s3::Request r;
    r.method = "GET";
    r.path = path_;
    if (!version_.empty()) r.query.emplace_back("versionId", version_);
    r.headers.emplace_back("Range", "bytes=" + std::to_string(pos) + "-" + std::to_string(pos + n - 1));
    r.response_limit = n + 1;
    auto res = client_.send(r);
    if (!res.ok()) fail(res, "read " + path_ + (version_.empty() ? "" : " version " + version_));
    if (res.body.size() != n)
      throw Error(Errc::corrupt, "read " + path_ + ": asked for " + std::to_string(n) + " bytes at " +
                                     std::to_string(pos) + ", got " + std::to_string(res.body.size()));
    return std::move(res.body);
  }

  s3::Client& client_;
  std::string path_;
  std::string version_;
  std::uint64_t size_;
  std::size_t window_;
  std::string cache_;
  std::uint64_t cache_off_ = 0;
};

}  // namespace

std::unique_ptr<BlobWriter> S3BlobStore::begin_write() {
  if (options_.spool_dir.empty())
    throw Error(Errc::invalid_argument, "S3 blob store has no spool folder (S3Options::spool_dir)");
  return std::make_unique<S3BlobWriter>(*this, options_.spool_dir, options_.part_size);
}

std::unique_ptr<BlobReader> S3BlobStore::open(const ContentId& id, const std::string& version) {
  s3::Request head;
  head.method = "HEAD";
  head.path = object_path(id);
  if (!version.empty()) head.query = {{"versionId", version}};
  auto r = client_->send(head);
  if (r.status == 404 || r.status == 405)
    throw Error(Errc::not_found, "blob " + id.hex() + (version.empty() ? "" : " version " + version) +
                                     " is missing from " + describe());
  if (!r.ok()) fail(r, "HEAD " + s3_key(id));
  auto size = to_u64(r.header("content-length"), "HEAD " + s3_key(id));
  // Pin the version we saw, so a newer version written meanwhile is not mixed in.
  std::string pinned = version.empty() ? r.header("x-amz-version-id") : version;
  return std::make_unique<S3BlobReader>(*client_, object_path(id), pinned, size, options_.read_window);
}

}  // namespace evidence::s3
