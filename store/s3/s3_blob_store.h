// Evidence blobs in an S3 bucket with Object Lock (write-once retention); Ceph's RADOS
// Gateway is the engine we test against. The interface is store/blob_store.h; this
// backend is its own library (store/s3/, evidence_store_s3) so that the core store
// keeps no network code and only programs that open a bucket link it.
//
// Objects are keyed "sha256/<hex>" and each is written with an Object Lock retention
// (mode and retain-until = commit time + retention_days). A key can hold several
// versions (anyone with the keys can PUT a new one; nobody can delete a locked one
// before its date), so the version id returned at commit is what the record must keep,
// and reads always name it.
//
// Writing: S3 has no rename, and the key is the SHA-256 of the whole content, known
// only at the end. A writer (begin_write) therefore streams: it hashes the bytes as
// they arrive (SHA-256 for the key; MD5 per part_size part and over the whole, which
// is what S3's Content-MD5 and ETags speak) and
//   - up to part_size bytes, keeps them in memory; commit() then deduplicates (below)
//     or PUTs them straight to "sha256/<hex>" with the lock headers and the content id
//     as the signed payload hash;
//   - beyond part_size, starts a multipart upload under a staging key
//     "staging/<random hex>" (never locked, never evidence) and sends each full part
//     while the next fills, at most parts_in_flight at once (write() waits when all are
//     busy); each part carries Content-MD5 and a signed x-amz-content-sha256 and its
//     ETag must be the MD5 we computed. commit() sends the last part, finishes the hash
//     and then: on a digest mismatch or when the content is already stored, aborts the
//     upload (nothing stored); otherwise completes it, checks the staging object's
//     size and ETag, copies it server-side to "sha256/<hex>" (CopyObject with the lock
//     headers; UploadPartCopy in the same part ranges above copy_limit), checks the
//     new version (below) and deletes the staging version.
// Memory per writer: one part buffer filling plus parts_in_flight being sent (3 x 16
// MiB with the defaults); no local disk at all. A writer dropped before commit()
// aborts its multipart upload (best effort; a crash leaves it, see stray_names()).
// Deduplication (commit, adopt_file): the oldest version under the key with the same
// size whose ETag the store computed from its bytes equals one we computed (the
// multipart ETag of our part layout, or the MD5 of the whole: a server-side copy
// may have either); a forged newer version never matches, so it is never adopted.
// Check after every upload: HEAD the new version; size and ETag must match, or
// Error(corrupt); when the store did not apply the lock (Ceph RGW 16.2 ignores it on
// multipart uploads), set the retention on that version (PUT ?retention) and check
// again. Only then does commit() return, so the index commits after the object is
// complete and locked. adopt_file (a finished tus upload, already a local file) reads
// the file, then PUTs it or uploads it in parts straight to its key
// (upload_concurrency parts at once) with the same checks.
//
// Reading: ranged GETs of the named version through a read-ahead window (read_window
// bytes), so seeking in a video costs one request and memory stays bounded.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "store/s3/s3_client.h"
#include "store/blob_store.h"

namespace evidence::s3 {

struct S3Options {
  std::string endpoint;            // "http://127.0.0.1:7480" or "https://..."
  std::string bucket;              // from "s3://BUCKET" (see parse_s3_url)
  std::string region = "us-east-1";
  std::string access_key;
  std::string secret_key;
  std::string lock_mode = "COMPLIANCE";  // or "GOVERNANCE" (either case accepted)
  unsigned retention_days = 3650;        // retain-until = commit time + this
  bool allow_unlocked = false;           // accept a bucket without Object Lock (then no lock headers)
  bool create_bucket = true;             // create a missing bucket, with Object Lock enabled
  std::size_t part_size = 16u << 20;     // >= 5 MiB (S3's minimum part)
  unsigned upload_concurrency = 4;       // parts in flight per adopt_file
  unsigned parts_in_flight = 2;          // parts a streaming writer sends while the next fills
  std::uint64_t copy_limit = 5ull << 30; // largest CopyObject (S3: 5 GiB); above it UploadPartCopy
  // A staging object or upload younger than this is an upload in progress, not a stray.
  std::chrono::seconds staging_grace{std::chrono::hours(6)};
  std::size_t read_window = 4u << 20;    // read-ahead of a reader
  std::filesystem::path spool_dir;       // unused since writers stream (kept for callers that set it)
  std::string ca_file;                   // HTTPS: extra CA bundle
  std::chrono::milliseconds timeout{std::chrono::seconds(120)};
  int max_attempts = 5;
};

// "s3://BUCKET" (a trailing "/" allowed) -> "BUCKET". Error(invalid_argument) for any
// other scheme, a path or query, or a name that is not a valid S3 bucket name
// (3-63 characters of a-z 0-9 . -, starting and ending with a letter or digit).
std::string parse_s3_url(const std::string& url);

// Fills access_key/secret_key. With `file`: lines "name = value" or "NAME=VALUE"
// (an AWS credentials file's [default] section, or a shell env file), names
// aws_access_key_id / aws_secret_access_key in any case; the file must not be
// readable by group or others (Error(permission_denied)). Without: the environment
// variables AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY. Error(invalid_argument)
// when either is missing.
void load_s3_credentials(S3Options& options, const std::optional<std::filesystem::path>& file = std::nullopt);

// Opens the bucket: creates it with Object Lock when missing (create_bucket), refuses
// one without Object Lock unless allow_unlocked (Error(permission_denied) naming the
// bucket and the flag), Error(unavailable) when the endpoint does not answer.
std::unique_ptr<BlobStore> open_s3_blob_store(const S3Options& options);

// ---- helpers, public for tests --------------------------------------------------------

// "2015-08-31T12:36:00.000Z" for t + days.
std::string retain_until(std::chrono::system_clock::time_point t, unsigned days);
// The ETag an S3 store gives an object from the MD5s of its parts: "\"<md5>\"" for a
// single PUT, "\"<md5 of the concatenated part MD5s>-<N>\"" for a multipart upload.
std::string expected_etag(const std::vector<std::array<std::uint8_t, 16>>& part_md5s, bool multipart);
// "sha256/<hex>"
std::string s3_key(const ContentId& id);
// Keys of writers' multipart uploads before the content id is known: "staging/<hex>".
inline constexpr std::string_view kStagingPrefix = "staging/";

class S3BlobStore final : public BlobStore, public VersionedBlobs, public LegalHolds, public ObjectLocks {
 public:
  // Checks (and creates) the bucket as open_s3_blob_store says.
  explicit S3BlobStore(S3Options options);
  ~S3BlobStore() override;

  std::unique_ptr<BlobWriter> begin_write() override;
  // Uploads the file as commit() does, after checking that it hashes to `id`
  // (Error(digest_mismatch) otherwise, and the file stays). The file is removed after.
  BlobInfo adopt_file(const std::filesystem::path& file, const ContentId& id) override;
  // The same, with the object's retain-until date `lock_until` (Error(invalid_argument)
  // when it is not in the future).
  BlobInfo adopt_file_locked(const std::filesystem::path& file, const ContentId& id,
                             std::chrono::system_clock::time_point lock_until) override;
  bool exists(const ContentId& id) override;
  // `version` empty: the newest version (pinned at open). Error(not_found) when absent.
  std::unique_ptr<BlobReader> open(const ContentId& id, const std::string& version = {}) override;
  // Newest versions under sha256/, well-formed names only (ListObjectsV2).
  void for_each(const std::function<void(const ContentId&, std::uint64_t)>& fn) override;
  // Keys that are not "sha256/<64 lowercase hex>", and unfinished multipart uploads
  // ("upload:" + key), which hold bytes but are never evidence. Staging keys and
  // uploads ("staging/...") younger than staging_grace are writers at work and are
  // left out; older ones are what a crashed writer left and are listed (an operator
  // may delete such objects and abort such uploads: no record ever names them).
  std::vector<std::string> stray_names() override;
  std::string describe() const override;
  // Deletes every version (and delete marker) under the content's key, after checking
  // each version's retention and legal hold: while any has an unexpired retain-until
  // date or a hold, nothing is deleted and the answer is Outcome::locked with the
  // latest date (a DELETE the store refuses with 403 is reported the same way, never
  // thrown). No version at all: Outcome::absent.
  BlobRemoval remove(const ContentId& id) override;
  VersionedBlobs* versioned() override { return this; }
  LegalHolds* legal_holds() override { return this; }
  ObjectLocks* object_locks() override { return this; }
  std::vector<BlobVersion> versions(const ContentId& id) override;
  void set_legal_hold(const ContentId& id, const std::string& version, bool on) override;
  // Reads the version's retention, and PUTs ?retention only when `until` (rounded up
  // to the second) is later.
  std::string extend_lock(const ContentId& id, const std::string& version,
                          std::optional<std::chrono::system_clock::time_point> until) override;

  // Whether the bucket enforces Object Lock (false only with allow_unlocked).
  bool locked() const { return locked_; }
  // The store's retention of one version: mode ("COMPLIANCE"...) and retain-until
  // date as the store reports them, empty when none; and whether a legal hold is on.
  struct Retention {
    std::string mode;
    std::string retain_until;
    bool legal_hold = false;
  };
  Retention retention(const ContentId& id, const std::string& version);

  s3::Client& client() { return *client_; }
  const S3Options& options() const { return options_; }

  // Used by adopt_file: uploads `file` (size bytes, hashing to id, part MD5s given)
  // unless a matching version exists. Does not remove the file.
  // `lock_until`: the object's retain-until date (BlobWriter::lock_until); nullopt:
  // commit time + retention_days.
  BlobInfo store_file(const std::filesystem::path& file, std::uint64_t size, const ContentId& id,
                      const std::vector<std::array<std::uint8_t, 16>>& part_md5s,
                      std::optional<std::chrono::system_clock::time_point> lock_until = std::nullopt);

  // ---- used by the streaming writer (s3_stream_writer.cpp) ----
  using LockUntil = std::optional<std::chrono::system_clock::time_point>;
  // The oldest stored version of `id` with `size` bytes whose ETag is one of `etags`.
  std::optional<BlobInfo> find_existing(const ContentId& id, std::uint64_t size, const std::vector<std::string>& etags);
  // PUTs bytes (all of the content) to the content's key with the lock headers.
  std::string put_bytes(std::span<const std::uint8_t> body, const ContentId& id, const std::array<std::uint8_t, 16>& md5,
                        const LockUntil& until);
  // HEADs the new `version` of `id`: size and ETag (one of `etags`) must match, then
  // makes sure the lock is on. Returns the version (from HEAD when `version` is empty).
  std::string check_new_version(const ContentId& id, std::uint64_t size, std::string version,
                                const std::vector<std::string>& etags, const LockUntil& until);
  // "/bucket" and "/bucket/<key>", raw, for requests.
  std::string bucket_path() const { return "/" + options_.bucket; }
  std::string key_path(std::string_view key) const { return bucket_path() + "/" + std::string(key); }
  std::string object_path(const ContentId& id) const;
  s3::Params lock_headers(const LockUntil& until) const;

 private:
  void check_bucket();
  BlobInfo adopt(const std::filesystem::path& file, const ContentId& id, const LockUntil& lock_until);
  std::string put_single(const std::filesystem::path& file, std::uint64_t size, const ContentId& id,
                         const std::array<std::uint8_t, 16>& md5, const LockUntil& until);
  std::string put_multipart(const std::filesystem::path& file, std::uint64_t size, const ContentId& id,
                            const LockUntil& until);
  void lock_version(const ContentId& id, const std::string& version, const LockUntil& until);
  std::string lock_date(const LockUntil& until) const;

  S3Options options_;
  std::unique_ptr<s3::Client> client_;
  bool locked_ = false;
};

}  // namespace evidence::s3
