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
#include "base/timefmt.h"
#include "store/s3/s3_internal.h"

namespace evidence::s3 {

namespace fs = std::filesystem;
namespace pt = boost::property_tree;
using namespace detail;

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

std::string S3BlobStore::lock_date(const LockUntil& until) const {
  // A date fixed before a long upload or copy may have passed by the time it is sent,
  // and S3 refuses a retention that has already ended: at least two seconds from now
  // (lock_until() itself refuses a date already past).
  if (until) return retain_until(std::max(*until, std::chrono::system_clock::now() + std::chrono::seconds(2)), 0);
  return retain_until(std::chrono::system_clock::now(), options_.retention_days);
}

s3::Params S3BlobStore::lock_headers(const LockUntil& until) const {
  if (!locked_) return {};
  return {{"x-amz-object-lock-mode", options_.lock_mode}, {"x-amz-object-lock-retain-until-date", lock_date(until)}};
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


namespace {

// Each object ListObjectsV2 names under `prefix` (every object when it is empty), one
// page of up to 1000 at a time.
void list_objects(Client& client, const std::string& bucket, const std::string& prefix,
                  const std::function<void(const pt::ptree&)>& each) {
  std::string token;
  for (;;) {
    s3::Request list;
    list.path = "/" + bucket;
    list.query = {{"list-type", "2"}, {"max-keys", "1000"}};
    if (!prefix.empty()) list.query.emplace_back("prefix", prefix);
    if (!token.empty()) list.query.emplace_back("continuation-token", token);
    auto r = client.send(list);
    if (!r.ok()) fail(r, "list " + bucket);
    auto tree = parse_xml(r.body, "list " + bucket);
    auto& result = tree.get_child("ListBucketResult");
    for (auto& [name, node] : result)
      if (name == "Contents") each(node);
    token = result.get<std::string>("NextContinuationToken", "");
    if (result.get<std::string>("IsTruncated", "false") != "true" || token.empty()) break;
  }
}

}  // namespace

void S3BlobStore::for_each(const std::function<void(const ContentId&, std::uint64_t)>& fn) {
  list_objects(*client_, options_.bucket, "sha256/", [&](const pt::ptree& node) {
    if (auto id = id_of_key(node.get<std::string>("Key", "")))
      fn(*id, to_u64(node.get<std::string>("Size", ""), "list " + options_.bucket));
  });
}

std::vector<std::string> S3BlobStore::stray_names() {
  // A staging key younger than staging_grace belongs to a writer at work (or one that
  // is cleaning up); older, to one that crashed. Unparsable times count as old.
  const auto cutoff = now_us() - std::chrono::duration_cast<std::chrono::microseconds>(options_.staging_grace);
  auto in_progress = [&](const std::string& key, const std::string& time) {
    if (key.compare(0, kStagingPrefix.size(), kStagingPrefix) != 0) return false;
    auto t = parse_rfc3339(time);
    return t && *t > cutoff;
  };
  std::vector<std::string> out;
  list_objects(*client_, options_.bucket, "", [&](const pt::ptree& node) {
    auto key = node.get<std::string>("Key", "");
    if (!id_of_key(key) && !in_progress(key, node.get<std::string>("LastModified", ""))) out.push_back(key);
  });
  s3::Request uploads;
  uploads.path = "/" + options_.bucket;
  uploads.query = {{"uploads", ""}};
  auto u = client_->send(uploads);
  if (u.ok()) {
    auto tree = parse_xml(u.body, "list uploads of " + options_.bucket);
    if (auto result = tree.get_child_optional("ListMultipartUploadsResult"))
      for (auto& [name, node] : *result) {
        if (name != "Upload") continue;
        auto key = node.get<std::string>("Key", "");
        if (!in_progress(key, node.get<std::string>("Initiated", ""))) out.push_back("upload:" + key);
      }
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

BlobRemoval S3BlobStore::remove(const ContentId& id) {
  const std::string key = s3_key(id);
  const auto all = versions(id);
  BlobRemoval out;
  if (all.empty()) {
    out.detail = key + " has no version to delete";
    return out;  // absent
  }
  // Check every version first: deleting some and then meeting a locked one would
  // leave the key half gone for nothing.
  const auto now = now_us();
  std::string latest;
  bool held = false;
  if (locked_) {
    for (const auto& v : all) {
      if (v.delete_marker) continue;
      auto r = retention(id, v.version);
      if (r.legal_hold) held = true;
      auto until = parse_rfc3339(r.retain_until);
      if (until && *until > now && r.retain_until > latest) latest = r.retain_until;
    }
  }
  auto refuse = [&](std::string why) {
    out.outcome = BlobRemoval::Outcome::locked;
    out.locked_until = latest.empty() ? (held ? "legal hold" : "unknown") : latest;
    out.detail = key + ": " + why;
    return out;
  };
  if (held) return refuse("a legal hold is on; nothing deleted");
  if (!latest.empty()) return refuse("locked until " + latest + "; nothing deleted");
  for (const auto& v : all) {
    s3::Request del;
    del.method = "DELETE";
    del.path = object_path(id);
    if (!v.version.empty()) del.query = {{"versionId", v.version}};
    auto r = client_->send(del);
    if (r.status == 403) return refuse("the store refused to delete version " + v.version + " (locked)");
    if (!r.ok() && r.status != 404) fail(r, "DELETE " + key + " version " + v.version);
  }
  out.outcome = BlobRemoval::Outcome::removed;
  out.detail = key + ": " + std::to_string(all.size()) + " versions deleted";
  return out;
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

}  // namespace evidence::s3
