// Blob storage: content-addressed, write-once. One interface; the local folder is the
// default backend; the S3 Object Lock backend (store/s3/) implements the same interface
// and the optional capabilities below.
//
// Contract for writers: bytes go to a temporary place first; commit() makes them
// durable (fsync the file, rename into place, fsync the folder) and only then
// returns. A writer destroyed without commit() leaves nothing behind. Memory use is
// bounded by the caller's buffers, never by the blob's size.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "store/content_id.h"
#include "store/layout.h"

namespace evidence {

struct BlobInfo {
  ContentId id;
  std::uint64_t size = 0;
  std::string version;  // backend version id; empty for the local backend
  bool existed = false; // the content was already stored (deduplicated)
};

// What a writer has received so far: the SHA-256 and the length of its bytes.
struct BlobDigest {
  ContentId id;
  std::uint64_t size = 0;
};

class BlobWriter {
 public:
  virtual ~BlobWriter() = default;
  // Appends bytes, hashing them on the way. Throws Error(no_space|io_error|...).
  virtual void write(std::span<const std::uint8_t> data) = 0;
  virtual std::uint64_t size() const = 0;
  // The content id and size of the bytes written so far, without committing or storing
  // anything: the caller can act on the hash first (time-stamp it) and still drop the
  // writer, which then leaves nothing behind. write() may go on afterwards, and
  // commit() still checks its own `expected`. Cheap (a copy of the hash state), but it
  // does not wait for bytes already sent to a remote store: that is commit()'s job.
  virtual BlobDigest digest() const = 0;
  // Finishes the hash and makes the blob durable. When `expected` is given and does
  // not match, nothing is stored and Error(digest_mismatch) is thrown naming both.
  virtual BlobInfo commit(const std::optional<ContentId>& expected = std::nullopt) = 0;
  // Asks that the stored object be locked against deletion until `until` (a retention
  // category's retain_until), instead of the backend's default. Call before commit().
  // Backends without locks ignore it (the local folder); S3 with Object Lock sends it
  // as x-amz-object-lock-retain-until-date with the configured mode. Content that is
  // already stored keeps the lock it has (a lock can be extended, never shortened).
  // A backend that locks throws Error(invalid_argument) when `until` is not in the
  // future.
  virtual void lock_until(std::chrono::system_clock::time_point until) { (void)until; }
};

// What BlobStore::remove did.
struct BlobRemoval {
  enum class Outcome {
    removed,  // the content is gone (every stored version of it)
    absent,   // there was nothing to remove (already gone: removing is idempotent)
    locked,   // refused: the backend's lock protects it; nothing was removed
  } outcome = Outcome::absent;
  // For locked: the RFC 3339 time the lock ends (the latest of the versions' dates),
  // or "legal hold" when a hold (which has no date) protects it.
  std::string locked_until;
  std::string detail;  // for logs: what was removed or why not
};

class BlobReader {
 public:
  virtual ~BlobReader() = default;
  virtual std::uint64_t size() const = 0;
  // Reads up to out.size() bytes at offset; returns how many (0 at the end).
  virtual std::size_t read_at(std::uint64_t offset, std::span<std::uint8_t> out) = 0;
};

// One stored version of a blob's key, for backends that keep versions (S3 with Object
// Lock). A delete marker is what a plain DELETE leaves in a versioned bucket: it hides
// the key from unversioned reads but removes no bytes.
struct BlobVersion {
  std::string version;
  std::uint64_t size = 0;
  bool latest = false;
  bool delete_marker = false;
  std::string last_modified;  // as the backend reports it (RFC 3339 / ISO 8601)
};

// Capability of a backend that keeps several versions under one key (S3 with Object
// Lock: anyone with the keys can PUT a new version; nobody can remove a locked one).
class VersionedBlobs {
 public:
  // Every version stored under the content's key, newest first. The auditor reports
  // any version other than the one a record names as a tampering attempt.
  virtual std::vector<BlobVersion> versions(const ContentId& id) = 0;

 protected:
  ~VersionedBlobs() = default;
};

// Capability of a backend that enforces legal holds on stored versions (S3: PUT
// ?legal-hold). Callers record the hold in the index whether or not the backend has it.
class LegalHolds {
 public:
  // Sets or clears the hold on one stored version. Throws Error(not_found) when absent.
  virtual void set_legal_hold(const ContentId& id, const std::string& version, bool on) = 0;

 protected:
  ~LegalHolds() = default;
};

// Capability of a backend that locks stored versions against deletion until a date (S3
// Object Lock). New content is written with its item's date (BlobWriter::lock_until,
// BlobStore::adopt_file_locked); this raises the date of content already stored when
// an item that shares it, or a longer category, needs it kept longer.
class ObjectLocks {
 public:
  // Raises the retain-until date of one stored version to `until` (nullopt: the
  // backend's long default, now + its retention days, which permanent items get) when
  // that is later than the date it has; never shortens, and does nothing when the
  // bucket has no lock. Returns the version's date afterwards (RFC 3339), empty when
  // it has none. Error(not_found) when absent; Error for storage failures.
  virtual std::string extend_lock(const ContentId& id, const std::string& version,
                                  std::optional<std::chrono::system_clock::time_point> until) = 0;

 protected:
  ~ObjectLocks() = default;
};

// Capability of a backend whose blobs are plain local files (the local folder): a
// child process (the media worker) can be handed the file instead of a copy.
class LocalBlobFiles {
 public:
  // The blob's file, as an opaque path to open read-only. Error(not_found) when absent.
  virtual std::filesystem::path file_of(const ContentId& id) = 0;

 protected:
  ~LocalBlobFiles() = default;
};

class BlobStore {
 public:
  virtual ~BlobStore() = default;
  virtual std::unique_ptr<BlobWriter> begin_write() = 0;
  // Moves a complete file that the caller already hashed (a finished tus upload in
  // incoming/) into the store. The file's bytes must hash to `id`; the backend may
  // trust that (local: rename) or check it. The source file is gone afterwards.
  virtual BlobInfo adopt_file(const std::filesystem::path& file, const ContentId& id) = 0;
  // adopt_file with the stored object locked until `lock_until` instead of the
  // backend's default (as BlobWriter::lock_until). Backends without locks: adopt_file.
  virtual BlobInfo adopt_file_locked(const std::filesystem::path& file, const ContentId& id,
                                     std::chrono::system_clock::time_point lock_until) {
    (void)lock_until;
    return adopt_file(file, id);
  }
  virtual bool exists(const ContentId& id) = 0;
  // Throws Error(not_found) when absent.
  virtual std::unique_ptr<BlobReader> open(const ContentId& id, const std::string& version = {}) = 0;
  // Every stored blob (for the orphan check), in no particular order.
  virtual void for_each(const std::function<void(const ContentId& id, std::uint64_t size)>& fn) = 0;
  // Names of objects in the blob area that are not a well-formed content-addressed
  // blob (junk files, misplaced names); the auditor reports them as hints.
  virtual std::vector<std::string> stray_names() = 0;
  virtual std::string describe() const = 0;  // for logs: "local:/path" or "s3://bucket"

  // Deletes the content for good (disposition: store/disposal.h decides when; never
  // call it for content a live item has). Durable before it returns (local: unlink,
  // fsync the folder). Already gone: Outcome::absent, not an error. A backend lock
  // that has not expired (S3 Object Lock retention or a legal hold): Outcome::locked
  // with its date, and nothing is deleted, not even some versions. Throws Error for
  // storage failures only (io_error, unavailable). The default, for backends that
  // cannot delete, throws Error(permission_denied).
  virtual BlobRemoval remove(const ContentId& id);

  // Optional capabilities, asked for explicitly: nullptr when this backend has none.
  // The local folder (one immutable file per content) has only local_files().
  virtual VersionedBlobs* versioned() { return nullptr; }
  virtual LegalHolds* legal_holds() { return nullptr; }
  virtual LocalBlobFiles* local_files() { return nullptr; }
  virtual ObjectLocks* object_locks() { return nullptr; }
};

// The version a record should name for content already stored under `id` with `size`
// bytes when the writer's answer was lost (a tus completion retried after a crash):
// the oldest non-deleted version of that size, as the S3 backend's own deduplication
// picks. Empty for backends without versions.
std::string stored_version(BlobStore& blobs, const ContentId& id, std::uint64_t size);

// The local content-addressed folder DIR/blobs/sha256/ab/abcd...
class LocalBlobStore final : public BlobStore, public LocalBlobFiles {
 public:
  explicit LocalBlobStore(Layout layout, std::size_t buffer_size = 1 << 20);
  std::unique_ptr<BlobWriter> begin_write() override;
  BlobInfo adopt_file(const std::filesystem::path& file, const ContentId& id) override;
  bool exists(const ContentId& id) override;
  std::unique_ptr<BlobReader> open(const ContentId& id, const std::string& version = {}) override;
  void for_each(const std::function<void(const ContentId&, std::uint64_t)>& fn) override;
  std::vector<std::string> stray_names() override;
  std::string describe() const override;
  BlobRemoval remove(const ContentId& id) override;
  LocalBlobFiles* local_files() override { return this; }
  std::filesystem::path file_of(const ContentId& id) override;

  const Layout& layout() const { return layout_; }

 private:
  Layout layout_;
  std::size_t buffer_size_;
};

// Durable-file helpers shared by the store (and by key writing in verify/).
// fsync a file or a folder by path; throw Error on failure.
void fsync_path(const std::filesystem::path& p);
// Writes `data` to `target` atomically: temp file beside it, fsync, chmod `mode`,
// rename, fsync the folder. With exclusive=true an existing target is an error
// (Error(already_exists)) and is never replaced.
void write_file_durably(const std::filesystem::path& target, std::span<const std::uint8_t> data,
                        unsigned mode, bool exclusive);

}  // namespace evidence
