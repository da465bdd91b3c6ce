#include "ingest/s3_blob_store.h"

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

#include "store/codec.h"
#include "store/error.h"

namespace evidence::ingest {

namespace fs = std::filesystem;
namespace pt = boost::property_tree;
using Md5Digest = std::array<std::uint8_t, 16>;

namespace {

// Streaming MD5 (OpenSSL EVP). MD5 is no integrity guarantee here: it is what S3's
// Content-MD5 and ETag speak; the SHA-256 content id and the signed
// x-amz-content-sha256 carry the real weight.
class Md5 {
 public:
  Md5() : ctx_(EVP_MD_CTX_new()) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_, EVP_md5(), nullptr) != 1) throw Error(Errc::crypto, "MD5 init failed");
  }
  ~Md5() { EVP_MD_CTX_free(ctx_); }
  Md5(const Md5&) = delete;
  Md5& operator=(const Md5&) = delete;
  void update(std::span<const std::uint8_t> d) {
    if (!d.empty() && EVP_DigestUpdate(ctx_, d.data(), d.size()) != 1) throw Error(Errc::crypto, "MD5 failed");
  }
  // Returns the digest and starts over.
  Md5Digest finish() {
    Md5Digest out{};
    unsigned len = 0;
    if (EVP_DigestFinal_ex(ctx_, out.data(), &len) != 1 || EVP_DigestInit_ex(ctx_, EVP_md5(), nullptr) != 1)
      throw Error(Errc::crypto, "MD5 failed");
    return out;
  }
  static Md5Digest of(std::span<const std::uint8_t> d) {
    Md5 m;
    m.update(d);
    return m.finish();
  }

 private:
  EVP_MD_CTX* ctx_;
};

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void close_checked(const std::string& what) {
    int fd = fd_;
    fd_ = -1;
    if (fd >= 0 && ::close(fd) != 0) throw system_error(errno, "close " + what);
  }

 private:
  int fd_;
};

Fd open_read(const fs::path& p) {
  Fd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw system_error(errno, "open " + p.string());
  return fd;
}

void pread_all(int fd, std::uint8_t* p, std::size_t n, std::uint64_t off, const std::string& what) {
  while (n > 0) {
    ssize_t r = ::pread(fd, p, n, static_cast<off_t>(off));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw system_error(errno, "read " + what);
    if (r == 0) throw Error(Errc::io_error, what + " is shorter than expected");
    p += r;
    n -= static_cast<std::size_t>(r);
    off += static_cast<std::uint64_t>(r);
  }
}

void write_all(int fd, const std::uint8_t* p, std::size_t n, const std::string& what) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) throw system_error(errno, "write " + what);
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

[[noreturn]] void fail(const s3::Response& r, const std::string& what) {
  Errc code = Errc::io_error;
  if (r.status == 404 || r.status == 405) code = Errc::not_found;  // 405: a delete marker's version
  else if (r.status == 403) code = Errc::permission_denied;
  else if (r.status >= 500 || r.status == 429) code = Errc::unavailable;
  throw Error(code, what + ": " + s3::describe_error(r));
}

pt::ptree parse_xml(const std::string& body, const std::string& what) {
  pt::ptree tree;
  try {
    std::istringstream in(body);
    pt::read_xml(in, tree);
  } catch (const std::exception& e) {
    throw Error(Errc::corrupt, what + ": the answer is not XML (" + e.what() + ")");
  }
  return tree;
}

std::uint64_t to_u64(const std::string& s, const std::string& what) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (s.empty() || errno != 0 || *end != '\0') throw Error(Errc::corrupt, what + ": '" + s + "' is not a size");
  return v;
}

bool is_lower_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::optional<ContentId> id_of_key(std::string_view key) {
  constexpr std::string_view prefix = "sha256/";
  if (key.size() != prefix.size() + 64 || key.substr(0, prefix.size()) != prefix) return std::nullopt;
  auto hex = key.substr(prefix.size());
  if (!is_lower_hex(hex)) return std::nullopt;
  return ContentId::from_hex(hex);
}

std::string upper(std::string s) {
  for (char& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return s;
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n\"'");
  if (b == std::string::npos) return {};
  auto e = s.find_last_not_of(" \t\r\n\"'");
  return s.substr(b, e - b + 1);
}

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
    BlobInfo info = store_.store_file(tmp_, size_, id, part_md5s_);
    ::unlink(tmp_.c_str());
    tmp_.clear();
    return info;
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

// ---- options ----------------------------------------------------------------------------

std::string parse_s3_url(const std::string& url) {
  auto r = boost::urls::parse_uri(url);
  if (!r || r->scheme() != "s3")
    throw Error(Errc::invalid_argument, "'" + url + "' is not an s3://BUCKET URL");
  if (r->has_query() || r->has_fragment() || r->has_userinfo() || r->has_port() ||
      (!r->path().empty() && r->path() != "/"))
    throw Error(Errc::invalid_argument, "'" + url + "' must be s3://BUCKET with nothing after the bucket name");
  std::string b(r->host());
  bool ok = b.size() >= 3 && b.size() <= 63;
  for (char c : b) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-');
  ok = ok && std::isalnum(static_cast<unsigned char>(b.front())) && std::isalnum(static_cast<unsigned char>(b.back()));
  if (!ok)
    throw Error(Errc::invalid_argument,
                "'" + b + "' is not a valid bucket name (3-63 of a-z 0-9 . -, letter or digit at both ends)");
  return b;
}

void load_s3_credentials(S3Options& o, const std::optional<fs::path>& file) {
  if (file) {
    struct stat st{};
    if (::stat(file->c_str(), &st) != 0) throw system_error(errno, "credentials file " + file->string());
    if (st.st_mode & 077)
      throw Error(Errc::permission_denied, "credentials file " + file->string() +
                                               " is readable by group or others; chmod 600 it");
    std::ifstream in(*file);
    std::string line;
    while (std::getline(in, line)) {
      auto eq = line.find('=');
      if (line.empty() || line[0] == '#' || line[0] == '[' || eq == std::string::npos) continue;
      std::string name = upper(trim(line.substr(0, eq)));
      if (name.rfind("EXPORT ", 0) == 0) name = trim(name.substr(7));
      std::string value = trim(line.substr(eq + 1));
      if (name == "AWS_ACCESS_KEY_ID") o.access_key = value;
      if (name == "AWS_SECRET_ACCESS_KEY") o.secret_key = value;
    }
  } else {
    if (const char* k = std::getenv("AWS_ACCESS_KEY_ID")) o.access_key = k;
    if (const char* s = std::getenv("AWS_SECRET_ACCESS_KEY")) o.secret_key = s;
  }
  if (o.access_key.empty() || o.secret_key.empty())
    throw Error(Errc::invalid_argument,
                std::string("S3 credentials missing: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY") +
                    (file ? " in " + file->string() : " in the environment, or name a credentials file"));
}

std::string retain_until(std::chrono::system_clock::time_point t, unsigned days) {
  auto until = std::chrono::time_point_cast<std::chrono::seconds>(t) + std::chrono::hours(24) * days;
  std::time_t tt = std::chrono::system_clock::to_time_t(until);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
  return buf;
}

std::string expected_etag(const std::vector<Md5Digest>& md5s, bool multipart) {
  if (!multipart) return "\"" + to_hex(md5s.at(0)) + "\"";
  Md5 all;
  for (auto& d : md5s) all.update(d);
  return "\"" + to_hex(all.finish()) + "-" + std::to_string(md5s.size()) + "\"";
}

std::string s3_key(const ContentId& id) { return "sha256/" + id.hex(); }

std::unique_ptr<BlobStore> open_s3_blob_store(const S3Options& options) {
  return std::make_unique<S3BlobStore>(options);
}

// ---- the store --------------------------------------------------------------------------

S3BlobStore::S3BlobStore(S3Options options) : options_(std::move(options)) {
  if (options_.bucket.empty()) throw Error(Errc::invalid_argument, "S3 bucket name is empty");
  if (options_.part_size < (5u << 20))
    throw Error(Errc::invalid_argument, "S3 part size must be at least 5 MiB (S3's smallest multipart part)");
  options_.lock_mode = upper(options_.lock_mode);
  if (options_.lock_mode != "COMPLIANCE" && options_.lock_mode != "GOVERNANCE")
    throw Error(Errc::invalid_argument, "lock mode must be compliance or governance, not '" + options_.lock_mode + "'");
  if (options_.retention_days == 0) throw Error(Errc::invalid_argument, "retention must be at least one day");
  if (options_.upload_concurrency == 0) options_.upload_concurrency = 1;
  s3::ClientOptions co;
  co.endpoint = options_.endpoint;
  co.region = options_.region;
  co.credentials = {options_.access_key, options_.secret_key};
  co.ca_file = options_.ca_file;
  co.timeout = options_.timeout;
  co.max_attempts = options_.max_attempts;
  co.max_idle_connections = std::max<std::size_t>(8, options_.upload_concurrency);
  client_ = std::make_unique<s3::Client>(co);
  check_bucket();
}

S3BlobStore::~S3BlobStore() = default;

std::string S3BlobStore::describe() const { return "s3://" + options_.bucket + " at " + options_.endpoint; }

std::string S3BlobStore::object_path(const ContentId& id) const { return "/" + options_.bucket + "/" + s3_key(id); }

void S3BlobStore::check_bucket() {
  const std::string bucket_path = "/" + options_.bucket;
  s3::Request head;
  head.method = "HEAD";
  head.path = bucket_path;
  auto res = client_->send(head);
  if (res.status == 404) {
    if (!options_.create_bucket) fail(res, "bucket " + options_.bucket);
    s3::Request create;
    create.method = "PUT";
    create.path = bucket_path;
    create.headers.emplace_back("x-amz-bucket-object-lock-enabled", "true");
    std::string body;
    if (options_.region != "us-east-1")
      body = "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>" +
             options_.region + "</LocationConstraint></CreateBucketConfiguration>";
    create.body = as_bytes(body);
    auto c = client_->send(create);
    if (!c.ok() && c.status != 409) fail(c, "create bucket " + options_.bucket + " with Object Lock");
  } else if (!res.ok()) {
    fail(res, "bucket " + options_.bucket);
  }
  s3::Request lock;
  lock.path = bucket_path;
  lock.query = {{"object-lock", ""}};
  auto l = client_->send(lock);
  if (l.ok()) {
    auto tree = parse_xml(l.body, "object lock configuration of " + options_.bucket);
    locked_ = tree.get<std::string>("ObjectLockConfiguration.ObjectLockEnabled", "") == "Enabled";
  } else if (l.status != 404) {
    fail(l, "object lock configuration of bucket " + options_.bucket);
  }
  if (!locked_ && !options_.allow_unlocked)
    throw Error(Errc::permission_denied,
                "bucket " + options_.bucket + " at " + options_.endpoint +
                    " does not have S3 Object Lock enabled, so evidence written there could be deleted or "
                    "overwritten; use a bucket created with Object Lock (a missing bucket is created so), or "
                    "pass --allow-unlocked to accept erasable storage");
}

s3::Params S3BlobStore::lock_headers() const {
  if (!locked_) return {};
  return {{"x-amz-object-lock-mode", options_.lock_mode},
          {"x-amz-object-lock-retain-until-date",
           retain_until(std::chrono::system_clock::now(), options_.retention_days)}};
}

std::unique_ptr<BlobWriter> S3BlobStore::begin_write() {
  if (options_.spool_dir.empty())
    throw Error(Errc::invalid_argument, "S3 blob store has no spool folder (S3Options::spool_dir)");
  return std::make_unique<S3BlobWriter>(*this, options_.spool_dir, options_.part_size);
}

BlobInfo S3BlobStore::adopt_file(const fs::path& file, const ContentId& id) {
  struct stat st{};
  if (::stat(file.c_str(), &st) != 0) throw system_error(errno, "stat " + file.string());
  auto size = static_cast<std::uint64_t>(st.st_size);
  // One pass for the SHA-256 check and the part MD5s; the upload reads the file again.
  Fd fd = open_read(file);
  Sha256 sha;
  Md5 md5;
  std::vector<Md5Digest> md5s;
  std::vector<std::uint8_t> buf(1u << 20);
  std::uint64_t off = 0;
  std::size_t in_part = 0;
  while (off < size) {
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>({buf.size(), size - off, options_.part_size - in_part}));
    pread_all(fd.get(), buf.data(), n, off, file.string());
    std::span<const std::uint8_t> chunk(buf.data(), n);
    sha.update(chunk);
    md5.update(chunk);
    off += n;
    in_part += n;
    if (in_part == options_.part_size) {
      md5s.push_back(md5.finish());
      in_part = 0;
    }
  }
  if (in_part > 0 || md5s.empty()) md5s.push_back(md5.finish());
  ContentId actual = sha.finish();
  if (actual != id)
    throw Error(Errc::digest_mismatch, file.string() + " hashes to " + actual.hex() + ", not " + id.hex());
  BlobInfo info = store_file(file, size, id, md5s);
  if (::unlink(file.c_str()) != 0) throw system_error(errno, "unlink " + file.string());
  return info;
}

std::optional<BlobInfo> S3BlobStore::find_existing(const ContentId& id, std::uint64_t size, const std::string& etag) {
  s3::Request head;
  head.method = "HEAD";
  head.path = object_path(id);
  auto h = client_->send(head);
  if (!h.ok() && h.status != 404) fail(h, "HEAD " + s3_key(id));
  // The newest version may be someone else's, or a delete marker (HEAD says 404 then,
  // yet locked versions remain); take the oldest version whose bytes the store itself
  // summed to our ETag (same size, same part layout).
  auto all = versions(id);
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    if (it->delete_marker || it->size != size) continue;
    s3::Request vh;
    vh.method = "HEAD";
    vh.path = object_path(id);
    vh.query = {{"versionId", it->version}};
    auto r = client_->send(vh);
    if (r.ok() && r.header("etag") == etag) return BlobInfo{id, size, it->version, true};
  }
  if (all.empty() && h.ok() && h.header("etag") == etag &&
      to_u64(h.header("content-length"), "HEAD " + s3_key(id)) == size)
    return BlobInfo{id, size, h.header("x-amz-version-id"), true};  // unversioned bucket
  return std::nullopt;
}

BlobInfo S3BlobStore::store_file(const fs::path& file, std::uint64_t size, const ContentId& id,
                                 const std::vector<Md5Digest>& part_md5s) {
  bool multipart = size > options_.part_size;
  std::string etag = expected_etag(part_md5s, multipart);
  if (auto existing = find_existing(id, size, etag)) return *existing;

  std::string version = multipart ? put_multipart(file, size, id) : put_single(file, size, id, part_md5s.at(0));

  // The object must be complete and be what we sent before the caller commits a record.
  s3::Request head;
  head.method = "HEAD";
  head.path = object_path(id);
  if (!version.empty()) head.query = {{"versionId", version}};
  auto h = client_->send(head);
  if (!h.ok()) fail(h, "HEAD " + s3_key(id) + " after upload");
  if (version.empty()) version = h.header("x-amz-version-id");
  auto got = to_u64(h.header("content-length"), "HEAD " + s3_key(id));
  if (got != size || h.header("etag") != etag)
    throw Error(Errc::corrupt, "after upload, " + s3_key(id) + " version " + version + " has " + std::to_string(got) +
                                   " bytes and ETag " + h.header("etag") + "; expected " + std::to_string(size) +
                                   " and " + etag);
  if (locked_ && h.header("x-amz-object-lock-mode").empty()) {
    // Ceph RGW 16.2 ignores the lock headers of CreateMultipartUpload (measured): lock
    // the completed version now, before anyone is told it exists. Setting a first
    // retention on a version is always allowed; only shortening one is refused.
    lock_version(id, version);
    h = client_->send(head);
    if (!h.ok()) fail(h, "HEAD " + s3_key(id) + " after setting its retention");
  }
  if (locked_ && upper(h.header("x-amz-object-lock-mode")) != options_.lock_mode)
    throw Error(Errc::io_error, "the store did not apply Object Lock to " + s3_key(id) + " version " + version +
                                    " (mode '" + h.header("x-amz-object-lock-mode") + "')");
  return BlobInfo{id, size, version, false};
}

void S3BlobStore::lock_version(const ContentId& id, const std::string& version) {
  std::string xml = "<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Mode>" + options_.lock_mode +
                    "</Mode><RetainUntilDate>" +
                    retain_until(std::chrono::system_clock::now(), options_.retention_days) +
                    "</RetainUntilDate></Retention>";
  s3::Request put;
  put.method = "PUT";
  put.path = object_path(id);
  put.query = {{"retention", ""}};
  if (!version.empty()) put.query.emplace_back("versionId", version);
  put.headers = {{"Content-MD5", to_base64(Md5::of(as_bytes(xml)))}, {"Content-Type", "application/xml"}};
  put.body = as_bytes(xml);
  auto r = client_->send(put);
  if (!r.ok()) fail(r, "set retention of " + s3_key(id) + " version " + version);
}

std::string S3BlobStore::put_single(const fs::path& file, std::uint64_t size, const ContentId& id,
                                    const Md5Digest& md5) {
  std::vector<std::uint8_t> body(static_cast<std::size_t>(size));
  {
    Fd fd = open_read(file);
    pread_all(fd.get(), body.data(), body.size(), 0, file.string());
  }
  if (Md5::of(body) != md5) throw Error(Errc::corrupt, file.string() + " changed between hashing and upload");
  s3::Request put;
  put.method = "PUT";
  put.path = object_path(id);
  put.headers = lock_headers();
  put.headers.emplace_back("Content-MD5", to_base64(md5));
  put.headers.emplace_back("Content-Type", "application/octet-stream");
  put.body = body;
  put.body_sha256 = id.hex();  // the payload hash is the content id: the store checks both
  auto r = client_->send(put);
  if (!r.ok()) fail(r, "PUT " + s3_key(id));
  return r.header("x-amz-version-id");
}

std::string S3BlobStore::put_multipart(const fs::path& file, std::uint64_t size, const ContentId& id) {
  const std::string path = object_path(id);
  s3::Request init;
  init.method = "POST";
  init.path = path;
  init.query = {{"uploads", ""}};
  init.headers = lock_headers();
  init.headers.emplace_back("Content-Type", "application/octet-stream");
  auto ir = client_->send(init);
  if (!ir.ok()) fail(ir, "start multipart upload of " + s3_key(id));
  std::string upload_id =
      parse_xml(ir.body, "multipart upload of " + s3_key(id)).get<std::string>("InitiateMultipartUploadResult.UploadId", "");
  if (upload_id.empty()) throw Error(Errc::corrupt, "multipart upload of " + s3_key(id) + ": no UploadId");

  auto abort = [&] {
    s3::Request a;
    a.method = "DELETE";
    a.path = path;
    a.query = {{"uploadId", upload_id}};
    try {
      client_->send(a);
    } catch (const std::exception&) {
      // Best effort: an unfinished upload is reported by stray_names().
    }
  };

  const std::uint64_t ps = options_.part_size;
  const std::size_t parts = static_cast<std::size_t>((size + ps - 1) / ps);
  std::vector<std::string> etags(parts);
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::exception_ptr first_error;
  auto worker = [&] {
    try {
      Fd fd = open_read(file);
      std::vector<std::uint8_t> buf;
      while (!failed) {
        std::size_t i = next++;
        if (i >= parts) break;
        std::uint64_t off = i * ps;
        auto len = static_cast<std::size_t>(std::min<std::uint64_t>(ps, size - off));
        buf.resize(len);
        pread_all(fd.get(), buf.data(), len, off, file.string());
        auto md5 = Md5::of(buf);
        s3::Request put;
        put.method = "PUT";
        put.path = path;
        put.query = {{"partNumber", std::to_string(i + 1)}, {"uploadId", upload_id}};
        put.headers = {{"Content-MD5", to_base64(md5)}};
        put.body = buf;
        auto r = client_->send(put);
        if (!r.ok()) fail(r, "upload part " + std::to_string(i + 1) + " of " + s3_key(id));
        std::string etag = r.header("etag");
        if (etag != "\"" + to_hex(md5) + "\"")
          throw Error(Errc::corrupt, "part " + std::to_string(i + 1) + " of " + s3_key(id) + ": store answered ETag " +
                                         etag + " for MD5 " + to_hex(md5));
        etags[i] = etag;
      }
    } catch (...) {
      failed = true;
      std::lock_guard lock(mu);
      if (!first_error) first_error = std::current_exception();
    }
  };
  {
    std::vector<std::jthread> threads;
    auto n = std::min<std::size_t>(options_.upload_concurrency, parts);
    for (std::size_t t = 1; t < n; ++t) threads.emplace_back(worker);
    worker();
  }
  if (first_error) {
    abort();
    std::rethrow_exception(first_error);
  }

  std::string xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  for (std::size_t i = 0; i < parts; ++i)
    xml += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" + etags[i] + "</ETag></Part>";
  xml += "</CompleteMultipartUpload>";
  s3::Request done;
  done.method = "POST";
  done.path = path;
  done.query = {{"uploadId", upload_id}};
  done.headers = {{"Content-Type", "application/xml"}};
  done.body = as_bytes(xml);
  auto dr = client_->send(done);
  // S3 may answer 200 and still put an <Error> in the body of a complete.
  if (!dr.ok() || dr.body.find("<Error>") != std::string::npos) {
    abort();
    if (dr.ok()) dr.status = 500;
    fail(dr, "complete multipart upload of " + s3_key(id));
  }
  return dr.header("x-amz-version-id");
}

bool S3BlobStore::exists(const ContentId& id) {
  s3::Request head;
  head.method = "HEAD";
  head.path = object_path(id);
  auto r = client_->send(head);
  if (r.ok()) return true;
  if (r.status == 404) return false;
  fail(r, "HEAD " + s3_key(id));
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

void S3BlobStore::for_each(const std::function<void(const ContentId&, std::uint64_t)>& fn) {
  std::string token;
  for (;;) {
    s3::Request list;
    list.path = "/" + options_.bucket;
    list.query = {{"list-type", "2"}, {"prefix", "sha256/"}, {"max-keys", "1000"}};
    if (!token.empty()) list.query.emplace_back("continuation-token", token);
    auto r = client_->send(list);
    if (!r.ok()) fail(r, "list " + options_.bucket);
    auto tree = parse_xml(r.body, "list " + options_.bucket);
    auto& result = tree.get_child("ListBucketResult");
    for (auto& [name, node] : result) {
      if (name != "Contents") continue;
      if (auto id = id_of_key(node.get<std::string>("Key", "")))
        fn(*id, to_u64(node.get<std::string>("Size", ""), "list " + options_.bucket));
    }
    token = result.get<std::string>("NextContinuationToken", "");
    if (result.get<std::string>("IsTruncated", "false") != "true" || token.empty()) break;
  }
}

std::vector<std::string> S3BlobStore::stray_names() {
  std::vector<std::string> out;
  std::string token;
  for (;;) {
    s3::Request list;
    list.path = "/" + options_.bucket;
    list.query = {{"list-type", "2"}, {"max-keys", "1000"}};
    if (!token.empty()) list.query.emplace_back("continuation-token", token);
    auto r = client_->send(list);
    if (!r.ok()) fail(r, "list " + options_.bucket);
    auto tree = parse_xml(r.body, "list " + options_.bucket);
    auto& result = tree.get_child("ListBucketResult");
    for (auto& [name, node] : result) {
      if (name != "Contents") continue;
      auto key = node.get<std::string>("Key", "");
      if (!id_of_key(key)) out.push_back(key);
    }
    token = result.get<std::string>("NextContinuationToken", "");
    if (result.get<std::string>("IsTruncated", "false") != "true" || token.empty()) break;
  }
  s3::Request uploads;
  uploads.path = "/" + options_.bucket;
  uploads.query = {{"uploads", ""}};
  auto u = client_->send(uploads);
  if (u.ok()) {
    auto tree = parse_xml(u.body, "list uploads of " + options_.bucket);
    if (auto result = tree.get_child_optional("ListMultipartUploadsResult"))
      for (auto& [name, node] : *result)
        if (name == "Upload") out.push_back("upload:" + node.get<std::string>("Key", ""));
  }
  return out;
}

std::vector<BlobVersion> S3BlobStore::versions(const ContentId& id) {
  std::vector<BlobVersion> out;
  const std::string key = s3_key(id);
  std::string key_marker, version_marker;
  for (;;) {
    s3::Request list;
    list.path = "/" + options_.bucket;
    list.query = {{"versions", ""}, {"prefix", key}};
    if (!key_marker.empty()) list.query.emplace_back("key-marker", key_marker);
    if (!version_marker.empty()) list.query.emplace_back("version-id-marker", version_marker);
    auto r = client_->send(list);
    if (!r.ok()) fail(r, "list versions of " + key);
    auto tree = parse_xml(r.body, "list versions of " + key);
    auto& result = tree.get_child("ListVersionsResult");
    for (auto& [name, node] : result) {
      if ((name != "Version" && name != "DeleteMarker") || node.get<std::string>("Key", "") != key) continue;
      BlobVersion v;
      v.version = node.get<std::string>("VersionId", "");
      v.delete_marker = name == "DeleteMarker";
      v.latest = node.get<std::string>("IsLatest", "false") == "true";
      v.last_modified = node.get<std::string>("LastModified", "");
      if (!v.delete_marker) v.size = to_u64(node.get<std::string>("Size", "0"), "list versions of " + key);
      out.push_back(std::move(v));
    }
    if (result.get<std::string>("IsTruncated", "false") != "true") break;
    key_marker = result.get<std::string>("NextKeyMarker", "");
    version_marker = result.get<std::string>("NextVersionIdMarker", "");
    if (key_marker.empty()) break;
  }
  return out;
}

void S3BlobStore::set_legal_hold(const ContentId& id, const std::string& version, bool on) {
  std::string xml = std::string("<LegalHold xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Status>") +
                    (on ? "ON" : "OFF") + "</Status></LegalHold>";
  s3::Request put;
  put.method = "PUT";
  put.path = object_path(id);
  put.query = {{"legal-hold", ""}};
  if (!version.empty()) put.query.emplace_back("versionId", version);
  put.headers = {{"Content-MD5", to_base64(Md5::of(as_bytes(xml)))}, {"Content-Type", "application/xml"}};
  put.body = as_bytes(xml);
  auto r = client_->send(put);
  if (!r.ok()) fail(r, std::string("set legal hold ") + (on ? "on " : "off ") + s3_key(id) + " version " + version);
}

S3BlobStore::Retention S3BlobStore::retention(const ContentId& id, const std::string& version) {
  Retention out;
  for (const char* what : {"retention", "legal-hold"}) {
    s3::Request get;
    get.path = object_path(id);
    get.query = {{what, ""}};
    if (!version.empty()) get.query.emplace_back("versionId", version);
    auto r = client_->send(get);
    if (r.status == 404) continue;  // none set (or no such version: HEAD tells those apart)
    if (!r.ok()) fail(r, std::string("get ") + what + " of " + s3_key(id));
    auto tree = parse_xml(r.body, std::string(what) + " of " + s3_key(id));
    if (std::string(what) == "retention") {
      out.mode = tree.get<std::string>("Retention.Mode", "");
      out.retain_until = tree.get<std::string>("Retention.RetainUntilDate", "");
    } else {
      out.legal_hold = tree.get<std::string>("LegalHold.Status", "") == "ON";
    }
  }
  return out;
}

}  // namespace evidence::ingest
