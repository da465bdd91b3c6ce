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
#include "base/timefmt.h"
#include "base/error.h"
#include "store/s3/s3_internal.h"

namespace evidence::s3 {

namespace fs = std::filesystem;
namespace pt = boost::property_tree;
using namespace detail;

BlobInfo S3BlobStore::adopt_file(const fs::path& file, const ContentId& id) { return adopt(file, id, std::nullopt); }

BlobInfo S3BlobStore::adopt_file_locked(const fs::path& file, const ContentId& id,
                                        std::chrono::system_clock::time_point lock_until) {
  if (lock_until <= std::chrono::system_clock::now())
    throw Error(Errc::invalid_argument, "an object lock must end in the future");
  return adopt(file, id, lock_until);
}

BlobInfo S3BlobStore::adopt(const fs::path& file, const ContentId& id, const LockUntil& lock_until) {
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
  BlobInfo info = store_file(file, size, id, md5s, lock_until);
  if (::unlink(file.c_str()) != 0) throw system_error(errno, "unlink " + file.string());
  return info;
}

std::optional<BlobInfo> S3BlobStore::find_existing(const ContentId& id, std::uint64_t size,
                                                   const std::vector<std::string>& etags) {
  auto ours = [&](const std::string& etag) { return std::find(etags.begin(), etags.end(), etag) != etags.end(); };
  s3::Request head;
  head.method = "HEAD";
  head.path = object_path(id);
  auto h = client_->send(head);
  if (!h.ok() && h.status != 404) fail(h, "HEAD " + s3_key(id));
  // The newest version may be someone else's, or a delete marker (HEAD says 404 then,
  // yet locked versions remain); take the oldest version whose bytes the store itself
  // summed to one of our ETags (same size; our part layout or the whole).
  auto all = versions(id);
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    if (it->delete_marker || it->size != size) continue;
    s3::Request vh;
    vh.method = "HEAD";
    vh.path = object_path(id);
    vh.query = {{"versionId", it->version}};
    auto r = client_->send(vh);
    if (r.ok() && ours(r.header("etag"))) return BlobInfo{id, size, it->version, true};
  }
  if (all.empty() && h.ok() && ours(h.header("etag")) &&
      to_u64(h.header("content-length"), "HEAD " + s3_key(id)) == size)
    return BlobInfo{id, size, h.header("x-amz-version-id"), true};  // unversioned bucket
  return std::nullopt;
}

BlobInfo S3BlobStore::store_file(const fs::path& file, std::uint64_t size, const ContentId& id,
                                 const std::vector<Md5Digest>& part_md5s, LockUntil lock_until) {
  bool multipart = size > options_.part_size;
  std::string etag = expected_etag(part_md5s, multipart);
  if (auto existing = find_existing(id, size, {etag})) return *existing;

  std::string version = multipart ? put_multipart(file, size, id, lock_until)
                                  : put_single(file, size, id, part_md5s.at(0), lock_until);
  version = check_new_version(id, size, version, {etag}, lock_until);
  return BlobInfo{id, size, version, false};
}

std::string S3BlobStore::check_new_version(const ContentId& id, std::uint64_t size, std::string version,
                                           const std::vector<std::string>& etags, const LockUntil& lock_until) {
  // The object must be complete and be what we sent before the caller commits a record.
  s3::Request head;
  head.method = "HEAD";
  head.path = object_path(id);
  if (!version.empty()) head.query = {{"versionId", version}};
  auto h = client_->send(head);
  if (!h.ok()) fail(h, "HEAD " + s3_key(id) + " after upload");
  if (version.empty()) version = h.header("x-amz-version-id");
  auto got = to_u64(h.header("content-length"), "HEAD " + s3_key(id));
  if (got != size || std::find(etags.begin(), etags.end(), h.header("etag")) == etags.end())
    throw Error(Errc::corrupt, "after upload, " + s3_key(id) + " version " + version + " has " + std::to_string(got) +
                                   " bytes and ETag " + h.header("etag") + "; expected " + std::to_string(size) +
                                   " and " + etags.at(0));
  if (locked_ && h.header("x-amz-object-lock-mode").empty()) {
    // Ceph RGW 16.2 ignores the lock headers of CreateMultipartUpload (measured): lock
    // the completed version now, before anyone is told it exists. Setting a first
    // retention on a version is always allowed; only shortening one is refused.
    lock_version(id, version, lock_until);
    h = client_->send(head);
    if (!h.ok()) fail(h, "HEAD " + s3_key(id) + " after setting its retention");
  }
  if (locked_ && upper(h.header("x-amz-object-lock-mode")) != options_.lock_mode)
    throw Error(Errc::io_error, "the store did not apply Object Lock to " + s3_key(id) + " version " + version +
                                    " (mode '" + h.header("x-amz-object-lock-mode") + "')");
  return version;
}

void S3BlobStore::lock_version(const ContentId& id, const std::string& version, const LockUntil& until) {
  std::string xml = "<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Mode>" + options_.lock_mode +
                    "</Mode><RetainUntilDate>" + lock_date(until) + "</RetainUntilDate></Retention>";
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

std::string S3BlobStore::extend_lock(const ContentId& id, const std::string& version, LockUntil until) {
  if (!locked_) return {};
  // Whole seconds, rounded up: the lock never ends before the date asked for.
  const LockUntil wanted = until ? LockUntil(std::chrono::ceil<std::chrono::seconds>(*until)) : until;
  const std::string target = lock_date(wanted);
  const Retention now = retention(id, version);
  const auto have = parse_rfc3339(now.retain_until);
  const auto want = parse_rfc3339(target);
  if (have && want && *have >= *want) return now.retain_until;
  lock_version(id, version, wanted);
  return target;
}

std::string S3BlobStore::put_single(const fs::path& file, std::uint64_t size, const ContentId& id,
                                    const Md5Digest& md5, const LockUntil& until) {
  std::vector<std::uint8_t> body(static_cast<std::size_t>(size));
  {
    Fd fd = open_read(file);
    pread_all(fd.get(), body.data(), body.size(), 0, file.string());
  }
  if (Md5::of(body) != md5) throw Error(Errc::corrupt, file.string() + " changed between hashing and upload");
  return put_bytes(body, id, md5, until);
}

std::string S3BlobStore::put_bytes(std::span<const std::uint8_t> body, const ContentId& id, const Md5Digest& md5,
                                   const LockUntil& until) {
  s3::Request put;
  put.method = "PUT";
  put.path = object_path(id);
  put.headers = lock_headers(until);
  put.headers.emplace_back("Content-MD5", to_base64(md5));
  put.headers.emplace_back("Content-Type", "application/octet-stream");
  put.body = body;
  put.body_sha256 = id.hex();  // the payload hash is the content id: the store checks both
  auto r = client_->send(put);
  if (!r.ok()) fail(r, "PUT " + s3_key(id));
  return r.header("x-amz-version-id");
}

std::string S3BlobStore::put_multipart(const fs::path& file, std::uint64_t size, const ContentId& id,
                                       const LockUntil& until) {
  const std::string path = object_path(id);
  s3::Request init;
  init.method = "POST";
  init.path = path;
  init.query = {{"uploads", ""}};
  init.headers = lock_headers(until);
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

}  // namespace evidence::s3
