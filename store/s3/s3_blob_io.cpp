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

// ---- reader ----------------------------------------------------------------------------

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
