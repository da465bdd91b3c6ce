// Media work after ingest (issue 4): for each committed item, a probe (derived "media"),
// and for video a poster frame (derived blob, derived "thumbnail" = its sha256 hex) and
// a segment table (derived "segments", read by the audit to name damaged seconds).
//
// Every file is untrusted: the work runs in a child process (`evidenced media-worker`,
// verify/media/worker.h's run_media_worker) with a timeout, resource limits and a sandbox
// (verify/media/sandbox.h: it gets the file as a descriptor and can open nothing), on a few
// threads of our own, never on the I/O threads or the request worker pool. A job never
// delays the client's answer: the commit path only puts the id on a bounded queue.
//
// Each result is stored with Index::put_derived and its own custody entry (actor and
// role "system"; actions media_probe, thumbnail, segments), so the ingest-time record
// and its record_hash never change. A failure is stored too ({"error": reason}): a file
// that is not media is still evidence, and its record says why it could not be read.
//
// Restart: at start a scan queues every item whose work is unfinished (no "media"; or
// video without "thumbnail" or "segments"), so a crash mid-probe leaves nothing
// undone for ever. A step whose result is already stored is never redone.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/json/value.hpp>

#include "ingest/http.h"
#include "store/blob_store.h"
#include "store/index.h"
#include "store/layout.h"
#include "store/records.h"
#include "store/scratch.h"

namespace evidence::ingest {

inline constexpr const char* kMediaKind = "media";
inline constexpr const char* kThumbnailKind = "thumbnail";
// The segment table's kind is verify/audit.h's kSegmentsKind ("segments").

struct MediaJobOptions {
  std::string worker_exe = "/proc/self/exe";  // run as `EXE media-worker ...`
  unsigned threads = 2;
  std::size_t queue_cap = 10000;              // ids waiting; more are dropped (and redone at the next start)
  int probe_timeout_s = 30;
  int thumbnail_timeout_s = 60;
#ifdef __SANITIZE_ADDRESS__
  // An ASan build's worker reserves terabytes of shadow address space and cannot
  // start under RLIMIT_AS; sanitizer runs go without the limit (tests of the limit
  // itself use another program).
  std::size_t memory_limit = 0;
#else
  std::size_t memory_limit = std::size_t{1} << 30;  // RLIMIT_AS of each worker process
#endif
  int nice = 10;                              // CPU priority drop of the job threads and their workers
  unsigned max_clips = 2;                     // clip requests running at once (more: 503)
  bool scan_at_start = true;
};

// A readable local file holding an item's bytes: the blob itself for the local
// backend, else a temporary copy under incoming/ (verified against the record's
// sha256 while copying) that is removed when this object dies.
class LocalContent {
 public:
  LocalContent() = default;
  LocalContent(const LocalContent&) = delete;
  LocalContent& operator=(const LocalContent&) = delete;
  LocalContent(LocalContent&& o) noexcept = default;
  const std::filesystem::path& path() const { return path_; }

  // Throws Error(not_found) when the blob is absent, Error(digest_mismatch) when a
  // copied blob does not hash to the record's sha256, Error(io_error) otherwise.
  static LocalContent of(BlobStore& blobs, const Layout& layout, const EvidenceRecord& rec);

 private:
  std::filesystem::path path_;  // opaque, from the store: the blob's file or copy_'s
  ScratchFile copy_;            // the temporary copy, when there is one
};

// A fresh unique scratch name under incoming/ (Scratch::reserve); nothing is created.
// The file, once a worker made it, is removed when the ScratchFile dies.
ScratchFile media_temp(const Layout& layout, const std::string& suffix);

// Runs `worker_exe media-worker ARGS...` (media::run_media_worker) on `input`, opened
// here as the worker's descriptor 3, and when `output` is not empty on a new file
// there (its descriptor 4, at most `max_output` bytes). An input or output that
// cannot be opened is answered as the worker answers a failure: {"error", "code"}.
std::optional<boost::json::value> run_worker_on(const MediaJobOptions& o, const std::vector<std::string>& args,
                                                const std::filesystem::path& input,
                                                const std::filesystem::path& output, int timeout_s,
                                                std::uint64_t max_output, int nice, std::string* failure);

class MediaJobs {
 public:
  // Threads start at once. Index, blobs and layout must outlive the jobs.
  MediaJobs(Index& index, BlobStore& blobs, const Layout& layout, MediaJobOptions options);
  // Stops: queued ids are dropped (the next start's scan picks them up); a step
  // already running in a child finishes (bounded by its timeout), later steps do not.
  ~MediaJobs();
  MediaJobs(const MediaJobs&) = delete;
  MediaJobs& operator=(const MediaJobs&) = delete;

  // Never blocks on media work and never throws. false when stopping or full.
  bool enqueue(const std::string& evidence_id) noexcept;
  // Runs every missing step for one item now, in this thread (the pool's body).
  void process(const std::string& evidence_id);

  const MediaJobOptions& options() const { return options_; }
  Workers& clip_workers() { return clip_workers_; }
  std::atomic<unsigned>& clips_running() { return clips_running_; }
  bool stopping() const { return stop_; }

 private:
  void run(unsigned n);
  // Whether worker_exe answers as a media worker (a program that embeds this library,
  // e.g. a test binary, is not one): checked once, by a usage call.
  bool worker_usable();
  void scan();
  void probe_step(const EvidenceRecord& rec, const std::filesystem::path& file);
  void thumbnail_step(const EvidenceRecord& rec, const std::filesystem::path& file);
  void segments_step(const EvidenceRecord& rec, const std::filesystem::path& file);

  Index& index_;
  BlobStore& blobs_;
  const Layout& layout_;
  MediaJobOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  std::set<std::string> queued_, running_;
  std::atomic<bool> stop_{false};
  std::atomic<unsigned> clips_running_{0};
  std::atomic<std::uint64_t> content_unavailable_{0};  // items whose bytes could not be read
  Workers clip_workers_;
  std::once_flag worker_checked_;
  bool worker_ok_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace evidence::ingest
