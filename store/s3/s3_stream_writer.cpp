// The S3 backend's BlobWriter: streams parts to a staging multipart upload while it
// hashes, then copies the finished object to its content-addressed key at commit (the
// contract and the steps are in s3_blob_store.h, "Writing").
#include <algorithm>
#include <deque>
#include <future>
#include <memory>
#include <utility>

#include "base/codec.h"
#include "base/error.h"
#include "store/s3/s3_blob_store.h"
#include "store/s3/s3_internal.h"

namespace evidence::s3 {

using namespace detail;

namespace {

// <Tag>value</Tag> from a small S3 answer, or empty.
std::string xml_value(const std::string& body, const std::string& tag) {
  auto b = body.find("<" + tag + ">");
  if (b == std::string::npos) return {};
  b += tag.size() + 2;
  auto e = body.find("</" + tag + ">", b);
  return e == std::string::npos ? std::string{} : body.substr(b, e - b);
}

class S3StreamWriter final : public BlobWriter {
 public:
  explicit S3StreamWriter(S3BlobStore& store)
      : store_(store), client_(store.client()), part_size_(store.options().part_size),
        in_flight_max_(std::max(1u, store.options().parts_in_flight)) {
    buf_.reserve(part_size_);
  }

  ~S3StreamWriter() override {
    if (committed_) return;
    // Not committed (an error, a dropped upload): nothing may stay behind. Parts still
    // in flight use our upload id; wait for them, then abort the upload.
    for (auto& f : in_flight_) {
      try {
        f.get();
      } catch (const std::exception&) {
        // Already failing: the abort below is what matters.
      }
    }
    abort_upload();
  }

  void write(std::span<const std::uint8_t> data) override {
    if (committed_ || failed_) throw Error(Errc::conflict, committed_ ? "write after commit" : "write after a failure");
    hash_.update(data);
    whole_md5_.update(data);
    size_ += data.size();
    while (!data.empty()) {
      // A full buffer is sent only when more bytes come, so content of at most one
      // part stays a single PUT (the part layout dedup relies on).
      if (buf_.size() == part_size_) send_part();
      std::size_t n = std::min(part_size_ - buf_.size(), data.size());
      buf_.insert(buf_.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n));
      data = data.subspan(n);
    }
  }

  std::uint64_t size() const override { return size_; }
  BlobDigest digest() const override { return {hash_.current(), size_}; }

  BlobInfo commit(const std::optional<ContentId>& expected) override {
    if (committed_) throw Error(Errc::conflict, "commit called twice");
    if (failed_) throw Error(Errc::conflict, "commit after a failed write");
    const ContentId id = hash_.finish();
    const Md5Digest whole = whole_md5_.finish();
    if (expected && *expected != id) {
      failed_ = true;  // the destructor aborts the upload
      throw Error(Errc::digest_mismatch, "content hashes to " + id.hex() + " but " + expected->hex() + " was declared");
    }
    BlobInfo info = upload_id_.empty() ? commit_small(id, whole) : commit_staged(id, whole);
    committed_ = true;
    return info;
  }

  void lock_until(std::chrono::system_clock::time_point until) override {
    if (until <= std::chrono::system_clock::now())
      throw Error(Errc::invalid_argument, "an object lock must end in the future");
    lock_until_ = until;
  }

 private:
  // At most one part: the bytes are in memory; dedup or PUT them to the final key.
  BlobInfo commit_small(const ContentId& id, const Md5Digest& md5) {
    const std::string etag = "\"" + to_hex(md5) + "\"";
    if (auto existing = store_.find_existing(id, size_, {etag})) return *existing;
    std::string version = store_.put_bytes(buf_, id, md5, lock_until_);
    version = store_.check_new_version(id, size_, version, {etag}, lock_until_);
    return BlobInfo{id, size_, version, false};
  }

  BlobInfo commit_staged(const ContentId& id, const Md5Digest& whole) {
    send_part();  // the last one, 1..part_size bytes
    while (!in_flight_.empty()) wait_oldest();
    const std::string multipart_etag = expected_etag(part_md5s_, true);
    const std::vector<std::string> etags{multipart_etag, "\"" + to_hex(whole) + "\""};
    if (auto existing = store_.find_existing(id, size_, etags)) {
      abort_upload();
      return *existing;
    }
    const std::string staged = complete(multipart_etag);
    BlobInfo info{id, size_, {}, false};
    try {
      info.version = copy_to_key(id, staged);
      info.version = store_.check_new_version(id, size_, info.version, etags, lock_until_);
    } catch (...) {
      delete_staged(staged);
      throw;
    }
    delete_staged(staged);
    return info;
  }

  void start_upload() {
    staging_key_ = std::string(kStagingPrefix) + to_hex(random_bytes(16));
    s3::Request init;
    init.method = "POST";
    init.path = store_.key_path(staging_key_);
    init.query = {{"uploads", ""}};
    init.headers = {{"Content-Type", "application/octet-stream"}};  // no lock: staging is deleted after
    auto r = client_.send(init);
    if (!r.ok()) fail(r, "start multipart upload of " + staging_key_);
    upload_id_ = xml_value(r.body, "UploadId");
    if (upload_id_.empty()) throw Error(Errc::corrupt, "multipart upload of " + staging_key_ + ": no UploadId");
  }

  // Sends buf_ as the next part, on its own thread; waits first while all slots are busy.
  void send_part() {
    try {
      if (upload_id_.empty()) start_upload();
      while (in_flight_.size() >= in_flight_max_) wait_oldest();
      auto body = std::make_shared<Bytes>(std::move(buf_));
      buf_ = Bytes();
      buf_.reserve(part_size_);
      const std::size_t number = part_md5s_.size() + in_flight_.size() + 1;
      in_flight_.push_back(std::async(std::launch::async, [this, body, number] { return send(*body, number); }));
    } catch (...) {
      failed_ = true;
      throw;
    }
  }

  Md5Digest send(const Bytes& body, std::size_t number) {
    auto md5 = Md5::of(body);
    s3::Request put;
    put.method = "PUT";
    put.path = store_.key_path(staging_key_);
    put.query = {{"partNumber", std::to_string(number)}, {"uploadId", upload_id_}};
    put.headers = {{"Content-MD5", to_base64(md5)}};
    put.body = body;
    auto r = client_.send(put);
    const std::string what = "part " + std::to_string(number) + " of " + staging_key_;
    if (!r.ok()) fail(r, "upload " + what);
    if (r.header("etag") != "\"" + to_hex(md5) + "\"")
      throw Error(Errc::corrupt, what + ": store answered ETag " + r.header("etag") + " for MD5 " + to_hex(md5));
    return md5;
  }

  void wait_oldest() {
    auto f = std::move(in_flight_.front());
    in_flight_.pop_front();
    try {
      part_md5s_.push_back(f.get());
    } catch (...) {
      failed_ = true;
      throw;
    }
  }

  std::string complete(const std::string& etag) {
    std::string xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
    for (std::size_t i = 0; i < part_md5s_.size(); ++i)
      xml += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>\"" + to_hex(part_md5s_[i]) +
             "\"</ETag></Part>";
    xml += "</CompleteMultipartUpload>";
    s3::Request done;
    done.method = "POST";
    done.path = store_.key_path(staging_key_);
    done.query = {{"uploadId", upload_id_}};
    done.headers = {{"Content-Type", "application/xml"}};
    done.body = as_bytes(xml);
    auto r = client_.send(done);
    // S3 may answer 200 and still put an <Error> in the body of a complete.
    if (!r.ok() || r.body.find("<Error>") != std::string::npos) {
      if (r.ok()) r.status = 500;
      fail(r, "complete multipart upload of " + staging_key_);  // the destructor aborts
    }
    upload_id_done_ = true;
    std::string version = r.header("x-amz-version-id");
    // What the store assembled must be what we sent, before it becomes evidence.
    s3::Request head;
    head.method = "HEAD";
    head.path = store_.key_path(staging_key_);
    if (!version.empty()) head.query = {{"versionId", version}};
    auto h = client_.send(head);
    if (!h.ok()) {
      delete_staged(version);
      fail(h, "HEAD " + staging_key_);
    }
    if (version.empty()) version = h.header("x-amz-version-id");
    if (h.header("content-length") != std::to_string(size_) || h.header("etag") != etag) {
      delete_staged(version);
      throw Error(Errc::corrupt, staging_key_ + " has " + h.header("content-length") + " bytes and ETag " +
                                     h.header("etag") + " after its upload; expected " + std::to_string(size_) +
                                     " and " + etag);
    }
    return version;
  }

  // Server-side copy of the staged version to the content's key, with the lock.
  std::string copy_to_key(const ContentId& id, const std::string& staged) {
    std::string source = store_.key_path(staging_key_);
    source = uri_encode(source, true);
    if (!staged.empty()) source += "?versionId=" + uri_encode(staged, false);
    if (size_ > store_.options().copy_limit) return copy_in_parts(id, source);
    s3::Request copy;
    copy.method = "PUT";
    copy.path = store_.object_path(id);
    copy.headers = store_.lock_headers(lock_until_);
    copy.headers.emplace_back("x-amz-copy-source", source);
    copy.headers.emplace_back("x-amz-metadata-directive", "COPY");
    auto r = client_.send(copy);
    // Like a complete, a copy may answer 200 with an <Error> body.
    if (!r.ok() || r.body.find("<Error>") != std::string::npos) {
      if (r.ok()) r.status = 500;
      fail(r, "copy " + staging_key_ + " to " + s3_key(id));
    }
    return r.header("x-amz-version-id");
  }

  // Above CopyObject's limit: a multipart upload of the final key whose parts are
  // UploadPartCopy ranges of the staged object, in the same layout, so the final ETag
  // is the one our part MD5s predict.
  std::string copy_in_parts(const ContentId& id, const std::string& source) {
    const std::string path = store_.object_path(id);
    s3::Request init;
    init.method = "POST";
    init.path = path;
    init.query = {{"uploads", ""}};
    init.headers = store_.lock_headers(lock_until_);
    init.headers.emplace_back("Content-Type", "application/octet-stream");
    auto ir = client_.send(init);
    if (!ir.ok()) fail(ir, "start multipart copy to " + s3_key(id));
    const std::string upload = xml_value(ir.body, "UploadId");
    if (upload.empty()) throw Error(Errc::corrupt, "multipart copy to " + s3_key(id) + ": no UploadId");
    auto abort = [&] {
      s3::Request a;
      a.method = "DELETE";
      a.path = path;
      a.query = {{"uploadId", upload}};
      try {
        client_.send(a);
      } catch (const std::exception&) {
        // Best effort: an unfinished upload is reported by stray_names().
      }
    };
    std::string xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
    try {
      for (std::size_t i = 0; i < part_md5s_.size(); ++i) {
        const std::uint64_t first = i * part_size_;
        const std::uint64_t last = std::min<std::uint64_t>(first + part_size_, size_) - 1;
        s3::Request put;
        put.method = "PUT";
        put.path = path;
        put.query = {{"partNumber", std::to_string(i + 1)}, {"uploadId", upload}};
        put.headers = {{"x-amz-copy-source", source},
                       {"x-amz-copy-source-range", "bytes=" + std::to_string(first) + "-" + std::to_string(last)}};
        auto r = client_.send(put);
        const std::string etag = "\"" + to_hex(part_md5s_[i]) + "\"";
        if (!r.ok() || r.body.find("<Error>") != std::string::npos) {
          if (r.ok()) r.status = 500;
          fail(r, "copy part " + std::to_string(i + 1) + " to " + s3_key(id));
        }
        auto got = xml_value(r.body, "ETag");
        if (got != etag && got != "&quot;" + to_hex(part_md5s_[i]) + "&quot;")
          throw Error(Errc::corrupt, "copied part " + std::to_string(i + 1) + " of " + s3_key(id) + " has ETag " +
                                         got + ", not " + etag);
        xml += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" + etag + "</ETag></Part>";
      }
      xml += "</CompleteMultipartUpload>";
      s3::Request done;
      done.method = "POST";
      done.path = path;
      done.query = {{"uploadId", upload}};
      done.headers = {{"Content-Type", "application/xml"}};
      done.body = as_bytes(xml);
      auto dr = client_.send(done);
      if (!dr.ok() || dr.body.find("<Error>") != std::string::npos) {
        if (dr.ok()) dr.status = 500;
        fail(dr, "complete multipart copy to " + s3_key(id));
      }
      return dr.header("x-amz-version-id");
    } catch (...) {
      abort();
      throw;
    }
  }

  // Deletes the staged version itself (a plain DELETE would only add a delete marker).
  // Best effort: a leftover is reported by stray_names() once it is old.
  void delete_staged(const std::string& version) noexcept {
    try {
      s3::Request del;
      del.method = "DELETE";
      del.path = store_.key_path(staging_key_);
      if (!version.empty()) del.query = {{"versionId", version}};
      client_.send(del);
    } catch (const std::exception&) {
      // See above.
    }
  }

  void abort_upload() noexcept {
    if (upload_id_.empty() || upload_id_done_) return;
    try {
      s3::Request a;
      a.method = "DELETE";
      a.path = store_.key_path(staging_key_);
      a.query = {{"uploadId", upload_id_}};
      client_.send(a);
      upload_id_done_ = true;
    } catch (const std::exception&) {
      // Best effort: stray_names() lists a stale staging upload.
    }
  }

  S3BlobStore& store_;
  s3::Client& client_;
  const std::size_t part_size_;
  const std::size_t in_flight_max_;
  Bytes buf_;
  std::deque<std::future<Md5Digest>> in_flight_;
  std::vector<Md5Digest> part_md5s_;  // of the parts sent, in order
  std::string staging_key_;
  std::string upload_id_;
  bool upload_id_done_ = false;  // completed or aborted
  Sha256 hash_;
  Md5 whole_md5_;
  std::uint64_t size_ = 0;
  bool committed_ = false;
  bool failed_ = false;
  S3BlobStore::LockUntil lock_until_;
};

}  // namespace

std::unique_ptr<BlobWriter> S3BlobStore::begin_write() { return std::make_unique<S3StreamWriter>(*this); }

}  // namespace evidence::s3
