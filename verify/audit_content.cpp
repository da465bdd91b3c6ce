// Pass 4: re-hash content. One worker per core pulls whole blobs off a shared queue
// (largest first, so the last blob to finish is a small one) and reads each from
// start to end in large pieces into its own buffer: memory is threads * read_size
// whatever the blobs' sizes, and the reads are sequential for the disk's sake.
// SHA-256 of one blob is inherently serial, so the parallelism is across blobs.

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <mutex>
#include <numeric>
#include <thread>

#include "base/error.h"
#include "verify/audit_passes.h"

namespace evidence::audit_detail {

namespace {

// Background audits yield the CPU and the disk to uploads and reviewers.
void lower_this_thread_priority() {
  const auto tid = static_cast<id_t>(::syscall(SYS_gettid));
  ::setpriority(PRIO_PROCESS, tid, 10);  // best effort: failure leaves normal priority
  constexpr int kWhoProcess = 1, kClassIdle = 3, kClassShift = 13;
  ::syscall(SYS_ioprio_set, kWhoProcess, static_cast<int>(tid), kClassIdle << kClassShift);
}

class Progress {
 public:
  Progress(const ProgressFn& fn, std::uint64_t total) : fn_(fn), total_(total) {}
  void add(std::uint64_t n) {
    const auto done = done_.fetch_add(n) + n;
    if (!fn_) return;
    std::lock_guard lock(mu_);
    if (done >= reported_ + kStep || done == total_) {
      reported_ = std::max(reported_, done);
      fn_(reported_, total_);
    }
  }
  void finish() {
    if (!fn_) return;
    std::lock_guard lock(mu_);
    if (reported_ != total_) fn_(total_, total_);
    reported_ = total_;
  }

 private:
  static constexpr std::uint64_t kStep = 8 << 20;
  const ProgressFn& fn_;
  std::uint64_t total_;
  std::atomic<std::uint64_t> done_{0};
  std::mutex mu_;
  std::uint64_t reported_ = 0;
};

struct Attempt {
  bool read_ok = false;
  ContentId hash;
  std::uint64_t size = 0;
  std::string error;
  bool missing = false;
};

Attempt hash_once(BlobStore& blobs, const HashTask& t, std::vector<std::uint8_t>& buf,
                  Progress* progress, const std::atomic<bool>* cancel) {
  Attempt a;
  try {
    auto reader = blobs.open(t.id, t.version);
    Sha256 h;
    std::uint64_t off = 0;
    for (;;) {
      check_cancel(cancel);
      const std::size_t got = reader->read_at(off, buf);
      if (got == 0) break;
      h.update(std::span<const std::uint8_t>(buf.data(), got));
      off += got;
      if (progress) progress->add(got);
    }
    a.hash = h.finish();
    a.size = off;
    a.read_ok = true;
  } catch (const Error& e) {
    if (e.code() == Errc::unavailable && cancel && cancel->load()) throw;
    a.error = e.what();
    a.missing = e.code() == Errc::not_found;
  } catch (const std::exception& e) {
    a.error = e.what();
  }
  return a;
}

HashResult hash_task(BlobStore& blobs, const HashTask& t, std::vector<std::uint8_t>& buf,
                     Progress& progress, const std::atomic<bool>* cancel) {
  HashResult r;
  Attempt first = hash_once(blobs, t, buf, &progress, cancel);
  if (first.read_ok && first.hash == t.id) {
    r.size = first.size;
    return r;
  }
  // Retry once from a fresh reader: a fault that clears was the path to the bytes
  // (a flaky read, a busy network store), not the bytes themselves.
  Attempt second = hash_once(blobs, t, buf, nullptr, cancel);
  r.first_error = first.read_ok ? "hashed to " + first.hash.hex() : first.error;
  if (second.read_ok && second.hash == t.id) {
    r.size = second.size;
    r.transient = true;
    return r;
  }
  if (second.read_ok) {
    r.status = HashResult::Status::mismatch;
    r.actual = second.hash;
    r.size = second.size;
  } else {
    r.status = second.missing ? HashResult::Status::missing : HashResult::Status::unreadable;
    r.error = second.error;
  }
  return r;
}

}  // namespace

std::vector<HashResult> rehash(BlobStore& blobs, const std::vector<HashTask>& tasks,
                               const AuditOptions& options, std::uint64_t& bytes_hashed) {
  std::vector<HashResult> results(tasks.size());
  if (tasks.empty()) return results;

  std::vector<std::size_t> order(tasks.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return tasks[a].expected_size > tasks[b].expected_size;
  });
  std::uint64_t total = 0;
  for (const auto& t : tasks) total += t.expected_size;
  Progress progress(options.progress, total);

  unsigned threads = options.threads ? options.threads : std::thread::hardware_concurrency();
  threads = std::clamp<unsigned>(threads, 1, static_cast<unsigned>(tasks.size()));
  const std::size_t read_size = std::max<std::size_t>(options.read_size, 64 << 10);

  std::atomic<std::size_t> next{0};
  std::mutex err_mu;
  std::exception_ptr failure;  // only cancellation or a bug escapes a task
  auto worker = [&] {
    if (options.low_priority) lower_this_thread_priority();
    std::vector<std::uint8_t> buf(read_size);
    try {
      for (std::size_t k; (k = next.fetch_add(1)) < order.size();) {
        const std::size_t i = order[k];
        results[i] = hash_task(blobs, tasks[i], buf, progress, options.cancel);
      }
    } catch (...) {
      std::lock_guard lock(err_mu);
      if (!failure) failure = std::current_exception();
      next.store(order.size());
    }
  };
  if (threads == 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    pool.reserve(threads);
    for (unsigned t = 0; t < threads; ++t) pool.emplace_back(worker);
    for (auto& th : pool) th.join();
  }
  if (failure) std::rethrow_exception(failure);
  progress.finish();
  for (const auto& r : results) bytes_hashed += r.size;
  return results;
}

std::optional<std::pair<double, double>> damaged_segment(BlobStore& blobs, const HashTask& blob,
                                                         const std::string& segments_json,
                                                         std::string& detail) {
  struct Segment {
    std::uint64_t offset, length;
    double start, end;
    ContentId sha256;
  };
  std::vector<Segment> segs;
  // A time is null (or negative) for a range that has none (not video).
  auto seconds = [](const boost::json::value& v) { return v.is_null() ? -1.0 : boost::json::value_to<double>(v); };
  try {
    // The bare list, or the media worker's {"segments": [...], "root": hex}.
    const auto v = boost::json::parse(segments_json);
    const auto& list = v.is_object() ? v.as_object().at("segments").as_array() : v.as_array();
    for (const auto& s : list) {
      const auto& o = s.as_object();
      auto sha = ContentId::from_hex(o.at("sha256").as_string());
      if (!sha) return std::nullopt;
      segs.push_back({boost::json::value_to<std::uint64_t>(o.at("offset")),
                      boost::json::value_to<std::uint64_t>(o.at("length")), seconds(o.at("start")),
                      seconds(o.at("end")), *sha});
    }
  } catch (const std::exception&) {
    return std::nullopt;  // an unusable table only costs us the time range
  }
  if (segs.empty()) return std::nullopt;

  std::unique_ptr<BlobReader> reader;
  try {
    reader = blobs.open(blob.id, blob.version);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  std::vector<std::uint8_t> buf(1 << 20);
  std::optional<std::pair<double, double>> range;
  std::size_t damaged = 0;
  for (const auto& s : segs) {
    Sha256 h;
    std::uint64_t done = 0;
    bool short_read = false;
    try {
      while (done < s.length) {
        const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), s.length - done));
        const std::size_t got = reader->read_at(s.offset + done, std::span(buf.data(), want));
        if (got == 0) {
          short_read = true;
          break;
        }
        h.update(std::span<const std::uint8_t>(buf.data(), got));
        done += got;
      }
    } catch (const std::exception&) {
      short_read = true;
    }
    if (short_read || h.finish() != s.sha256) {
      ++damaged;
      if (s.start < 0 || s.end < 0) continue;  // damaged, but it has no time to name
      if (!range) {
        range = std::pair{s.start, s.end};
      } else {
        range->first = std::min(range->first, s.start);
        range->second = std::max(range->second, s.end);
      }
    }
  }
  if (damaged) {
    detail = std::to_string(damaged) + " of " + std::to_string(segs.size()) + " media segments damaged";
  }
  return range;
}

}  // namespace evidence::audit_detail
