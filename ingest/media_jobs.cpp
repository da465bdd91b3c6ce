// Media work after ingest: probe, poster frame and segment table in a child process,
// on a small pool of our own threads (media_jobs.h).
#include "ingest/media_jobs.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <cstring>
#include <map>

#include "ingest/logging.h"
#include "store/blob_store.h"
#include "store/index.h"
#include "store/layout.h"
#include "base/codec.h"
#include "base/error.h"
#include "base/timefmt.h"
#include "verify/audit.h"
#include "verify/media/sniff.h"
#include "verify/media/worker.h"

namespace evidence::ingest {
namespace {

// The first bytes of the file through media::looks_like_media; true when the file
// cannot be read here (the worker then reports why).
bool sniff_media(const std::filesystem::path& file) {
  std::uint8_t head[media::kSniffBytes];
  const auto got = read_file_head(file, head);
  if (!got) return true;
  return media::looks_like_media(std::span<const std::uint8_t>(head, *got));
}

CustodyEvent system_event(const std::string& action, const std::string& evidence_id, json::object detail) {
  CustodyEvent ev;
  ev.time = format_rfc3339(now_us());
  ev.actor = "system";
  ev.role = "system";
  ev.action = action;
  ev.evidence = evidence_id;
  ev.detail = std::move(detail);
  return ev;
}

// The worker's answer as a JSON object, or {"error": why} when there was none.
json::object worker_answer(const std::optional<json::value>& v, const std::string& failure) {
  if (!v) return json::object{{"error", "media worker failed: " + (failure.empty() ? "no answer" : failure)}};
  if (!v->is_object()) return json::object{{"error", "media worker gave an answer that is not an object"}};
  return v->as_object();
}

bool has_error(const json::object& o) { return o.contains("error"); }

std::string error_text(const json::object& o) {
  const auto* e = o.if_contains("error");
  if (e && e->is_string()) return std::string(e->as_string());
  return "unknown error";
}

// Video (not cover art: the probe lists it as a stream like any other, so any video
// stream counts; the worker says "no video" when it is only a picture).
bool media_has_video(const std::optional<std::string>& media_json) {
  if (!media_json) return false;
  boost::system::error_code ec;
  auto v = json::parse(*media_json, ec);
  if (ec || !v.is_object() || v.as_object().contains("error")) return false;
  const auto* streams = v.as_object().if_contains("streams");
  if (!streams || !streams->is_array()) return false;
  for (const auto& st : streams->as_array()) {
    if (!st.is_object()) continue;
    const auto* t = st.as_object().if_contains("type");
    if (t && t->is_string() && t->as_string() == "video") return true;
  }
  return false;
}

constexpr std::size_t kMaxThumbnailBytes = 16u << 20;

// Seconds for a pass that reads the whole file: a minute plus 10 MiB/s.
int whole_file_timeout(std::uint64_t size) {
  const std::uint64_t s = 60 + size / (10u << 20);
  return static_cast<int>(std::min<std::uint64_t>(s, 24 * 3600));
}

}  // namespace

std::optional<json::value> run_worker_on(const MediaJobOptions& o, const std::vector<std::string>& args,
                                         const std::filesystem::path& input, const std::filesystem::path& output,
                                         int timeout_s, std::uint64_t max_output, int nice, std::string* failure) {
  try {
    const auto in = media::WorkerFile::input(input);
    std::optional<media::WorkerFile> out;
    if (!output.empty()) out.emplace(media::WorkerFile::output(output));
    media::WorkerOptions w;
    w.timeout_s = timeout_s;
    w.memory_limit_bytes = o.memory_limit;
    w.nice_increment = nice;
    w.input_fd = in.fd();
    w.output_fd = out ? out->fd() : -1;
    w.max_output_bytes = out ? max_output : 0;
    std::vector<std::string> argv{"media-worker"};
    argv.insert(argv.end(), args.begin(), args.end());
    return media::run_media_worker(o.worker_exe, argv, w, failure);
  } catch (const Error& e) {
    return json::object{{"error", e.what()}, {"code", errc_name(e.code())}};
  }
}

// --- LocalContent ------------------------------------------------------------------

ScratchFile media_temp(const Layout& layout, const std::string& suffix) { return Scratch(layout).reserve(suffix); }

LocalContent LocalContent::of(BlobStore& blobs, const Layout& layout, const EvidenceRecord& rec) {
  LocalContent out;
  if (LocalBlobFiles* files = blobs.local_files()) {
    try {
      out.path_ = files->file_of(rec.sha256);
    } catch (const Error& e) {
      if (e.code() != Errc::not_found) throw;
      throw Error(Errc::not_found, "the content of " + rec.id + " is missing from the blob store");
    }
    return out;
  }
  // Another backend (S3): copy the version the record names, checking its hash.
  auto reader = blobs.open(rec.sha256, rec.blob_version);
  out.copy_ = Scratch(layout).create(".src");
  out.path_ = out.copy_.path();
  Sha256 h;
  std::vector<std::uint8_t> buf(1 << 20);
  std::uint64_t off = 0;
  for (;;) {
    const std::size_t n = reader->read_at(off, buf);
    if (n == 0) break;
    h.update(std::span(buf.data(), n));
    out.copy_.write(std::span(buf.data(), n));
    off += n;
  }
  out.copy_.close();
  const ContentId got = h.finish();
  if (got != rec.sha256) {
    throw Error(Errc::digest_mismatch,
                "the stored content of " + rec.id + " hashes to " + got.hex() + ", expected " + rec.sha256.hex());
  }
  return out;
}

// --- MediaJobs ---------------------------------------------------------------------

MediaJobs::MediaJobs(Index& index, BlobStore& blobs, const Layout& layout, MediaJobOptions options)
    : index_(index), blobs_(blobs), layout_(layout), options_(std::move(options)), clip_workers_(std::max(1u, options_.max_clips)) {
  // Temp files of a previous run (a crash mid-job) are ours to remove: no job runs yet.
  Scratch(layout_).sweep();
  const unsigned n = std::max(1u, options_.threads);
  for (unsigned i = 0; i < n; ++i) threads_.emplace_back([this, i] { run(i); });
}

MediaJobs::~MediaJobs() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    queue_.clear();
    queued_.clear();
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  clip_workers_.pool.join();
}

bool MediaJobs::enqueue(const std::string& evidence_id) noexcept {
  try {
    {
      std::lock_guard lock(mu_);
      if (stop_) return false;
      if (queued_.count(evidence_id)) return true;
      if (queue_.size() >= options_.queue_cap) {
        log_line("warn", "media_queue_full", {{"id", evidence_id}});
        return false;
      }
      queue_.push_back(evidence_id);
      queued_.insert(evidence_id);
    }
    cv_.notify_one();
    return true;
  } catch (...) {
    return false;
  }
}

void MediaJobs::run(unsigned n) {
  // Linux keeps a nice value per thread: media work (the start-up scan, sniffing,
  // derived records) yields the CPU to requests. Not SCHED_IDLE: a thread that may
  // not run while others want the core would hold locks it shares with them (the
  // allocator's, LMDB's) for milliseconds. Best effort.
  if (options_.nice > 0) (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), options_.nice);
  // At start, not at the first item: the log says at once which sandbox protections
  // hold (media_worker_sandbox) or that the worker is unusable.
  if (n == 0) worker_usable();
  if (n == 0 && options_.scan_at_start) {
    try {
      scan();
    } catch (const std::exception& e) {
      log_line("error", "media_scan_failed", {{"error", e.what()}});
    }
  }
  for (;;) {
    std::string id;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      id = std::move(queue_.front());
      queue_.pop_front();
      queued_.erase(id);
    }
    try {
      process(id);
    } catch (const std::exception& e) {
      log_line("error", "media_job_failed", {{"id", id}, {"error", e.what()}});
    }
  }
}

bool MediaJobs::worker_usable() {
  std::call_once(worker_checked_, [this] {
    std::string failure;
    const auto v = media::run_media_worker(options_.worker_exe, {"media-worker", "status"}, options_.probe_timeout_s,
                                           options_.memory_limit, &failure);
    const auto* sandbox = v && v->is_object() ? v->as_object().if_contains("sandbox") : nullptr;
    worker_ok_ = sandbox && sandbox->is_object();
    if (!worker_ok_) {
      log_line("error", "media_worker_unusable",
               {{"exe", options_.worker_exe}, {"error", failure.empty() ? "not a media worker" : failure}});
      return;
    }
    // Which of the sandbox's protections hold on this machine (verify/media/sandbox.h).
    const json::object& sb = sandbox->as_object();
    auto field = [&sb](const char* key) {
      const auto* val = sb.if_contains(key);
      if (!val) return std::string("unknown");
      return val->is_string() ? std::string(val->as_string()) : json::serialize(*val);
    };
    log_line("info", "media_worker_sandbox",
             {{"namespaces", field("namespaces")}, {"user", field("user")}, {"no_new_privs", field("no_new_privs")},
              {"seccomp", field("seccomp")}, {"seccomp_mode", field("seccomp_mode")}, {"limits", field("limits")}});
  });
  return worker_ok_;
}

// Items committed before this start whose media work is unfinished (crash, restart,
// full queue). Runs on one pool thread; new items go through the queue meanwhile.
void MediaJobs::scan() {
  std::vector<std::string> ids;
  index_.for_each_evidence([&ids](const std::string& id) { ids.push_back(id); });
  std::size_t queued = 0;
  for (const auto& id : ids) {
    if (stop_) return;
    auto& index = index_;
    const auto media = index.get_derived(kMediaKind, id);
    const bool unfinished =
        !media || (media_has_video(media) && (!index.get_derived(kThumbnailKind, id) ||
                                              !index.get_derived(kSegmentsKind, id)));
    if (!unfinished) continue;
    ++queued;
    process(id);  // here, not through the queue: a large backlog needs no queue room
  }
  if (queued) log_line("info", "media_scan_done", {{"items", std::to_string(queued)}});
}

void MediaJobs::process(const std::string& id) {
  if (!worker_usable()) return;
  {
    std::lock_guard lock(mu_);
    if (stop_ || running_.count(id)) return;  // the other thread has it
    running_.insert(id);
  }
  struct Release {
    MediaJobs& j;
    const std::string& id;
    ~Release() {
      std::lock_guard lock(j.mu_);
      j.running_.erase(id);
    }
  } release{*this, id};

  auto& index = index_;
  const auto rec = index.get_evidence(id);
  if (!rec) return;
  const bool need_media = !index.get_derived(kMediaKind, id);
  const bool maybe_video = need_media || media_has_video(index.get_derived(kMediaKind, id));
  const bool need_thumb = maybe_video && !index.get_derived(kThumbnailKind, id);
  const bool need_segments = maybe_video && !index.get_derived(kSegmentsKind, id);
  if (!need_media && !need_thumb && !need_segments) return;

  std::optional<LocalContent> content;
  try {
    content.emplace(LocalContent::of(blobs_, layout_, *rec));
  } catch (const Error& e) {
    // The audit reports missing or damaged content; nothing is stored, so the next
    // start tries again (a transient object-store error heals).
    // One line per item would flood the log when a whole store's blobs are out of
    // reach (the audit names every one): the first few, then every thousandth.
    const auto seen = ++content_unavailable_;
    if (seen <= 10 || seen % 1000 == 0) {
      log_line("warn", "media_content_unavailable",
               {{"id", id}, {"error", e.what()}, {"count", std::to_string(seen)}});
    }
    return;
  }
  if (need_media) probe_step(*rec, content->path());
  if (stop_ || !media_has_video(index.get_derived(kMediaKind, id))) return;
  if (need_thumb) thumbnail_step(*rec, content->path());
  if (stop_) return;
  if (need_segments) segments_step(*rec, content->path());
}

void MediaJobs::probe_step(const EvidenceRecord& rec, const std::filesystem::path& file) {
  json::object media;
  if (!sniff_media(file)) {
    // Not worth a process: nothing a recorder writes starts like this.
    media = json::object{{"error", "not a media file: no known media signature in its first bytes"}};
  } else {
    std::string failure;
    const auto v = run_worker_on(options_, {"probe"}, file, {}, options_.probe_timeout_s, 0, options_.nice, &failure);
    media = worker_answer(v, failure);
  }
  if (has_error(media)) media = json::object{{"error", error_text(media)}};
  json::object detail{{"ok", !has_error(media)}};
  if (has_error(media)) detail["error"] = media["error"];
  index_.put_derived(kMediaKind, rec.id, json::serialize(media),
                         system_event("media_probe", rec.id, std::move(detail)));
  log_line("info", "media_probed", {{"id", rec.id}, {"ok", has_error(media) ? "false" : "true"}});
}

void MediaJobs::thumbnail_step(const EvidenceRecord& rec, const std::filesystem::path& file) {
  const ScratchFile out = media_temp(layout_, ".jpg");
  std::string failure;
  const auto v = run_worker_on(options_, {"thumbnail", "320"}, file, out.path(), options_.thumbnail_timeout_s,
                               kMaxThumbnailBytes, options_.nice, &failure);
  json::object answer = worker_answer(v, failure);
  if (has_error(answer)) {
    const std::string why = error_text(answer);
    index_.put_derived(kThumbnailKind, rec.id, json::serialize(json::object{{"error", why}}),
                           system_event("thumbnail", rec.id, json::object{{"ok", false}, {"error", why}}));
    log_line("warn", "thumbnail_failed", {{"id", rec.id}, {"error", why}});
    return;
  }
  const Bytes jpeg = out.read_all(kMaxThumbnailBytes);
  auto writer = blobs_.begin_write();
  writer->write(jpeg);
  const BlobInfo blob = writer->commit();  // durable before the index points at it
  json::object detail{{"ok", true}, {"sha256", blob.id.hex()}, {"size", blob.size}};
  if (!blob.version.empty()) detail["version"] = blob.version;
  index_.put_derived(kThumbnailKind, rec.id, blob.id.hex(), system_event("thumbnail", rec.id, std::move(detail)));
}

void MediaJobs::segments_step(const EvidenceRecord& rec, const std::filesystem::path& file) {
  std::string failure;
  const auto v = run_worker_on(options_, {"segments"}, file, {}, whole_file_timeout(rec.size), 0, options_.nice,
                               &failure);
  json::object table = worker_answer(v, failure);
  json::object detail;
  if (has_error(table) || !table.contains("segments") || !table["segments"].is_array()) {
    const std::string why = has_error(table) ? error_text(table) : "media worker gave no segment list";
    table = json::object{{"error", why}};
    detail = json::object{{"ok", false}, {"error", why}};
  } else {
    detail = json::object{{"ok", true}, {"count", table["segments"].as_array().size()}};
    if (const auto* root = table.if_contains("root")) detail["root"] = *root;
  }
  index_.put_derived(kSegmentsKind, rec.id, json::serialize(table),
                         system_event("segments", rec.id, std::move(detail)));
}

}  // namespace evidence::ingest
