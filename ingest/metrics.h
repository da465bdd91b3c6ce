// Counters for GET /metrics (Prometheus text exposition format 0.0.4).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace evidence::ingest {

class Metrics {
 public:
  void request_done(unsigned status, double seconds);
  void upload_committed(std::uint64_t bytes);
  void bytes_received(std::uint64_t n) { bytes_received_ += n; }
  void upload_started() { ++active_uploads_; }
  void upload_finished() { --active_uploads_; }
  // Whole-store audits (background or POST /verify scope all): their outcome.
  void verify_done(bool ok, std::uint64_t problems) {
    verify_problems_ = problems;
    verify_last_ok_ = ok ? 1 : 0;
    ++verify_runs_;
  }
  void verify_failed() { ++verify_errors_; }  // an audit that could not run
  // An item received after recorded_at + serve --upload-deadline (ingest/lifecycle.h).
  void late_upload() { ++late_uploads_; }
  // More families rendered at the end (the witnesses' counters); set before serving.
  void add_section(std::function<std::string()> render) { sections_.push_back(std::move(render)); }
  // log_size comes from the index at scrape time.
  std::string render(std::uint64_t log_size, std::uint64_t evidence_count) const;

 private:
  static constexpr std::array<double, 12> kBuckets{0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                   0.25,  0.5,   1,    2.5,   5,    10};
  std::atomic<std::uint64_t> uploads_{0};
  std::atomic<std::uint64_t> upload_bytes_{0};
  std::atomic<std::uint64_t> bytes_received_{0};
  std::atomic<std::int64_t> active_uploads_{0};
  std::atomic<std::uint64_t> verify_runs_{0};
  std::atomic<std::uint64_t> late_uploads_{0};
  std::atomic<std::uint64_t> verify_errors_{0};
  std::atomic<std::uint64_t> verify_problems_{0};
  std::atomic<int> verify_last_ok_{-1};  // -1: no run yet
  std::vector<std::function<std::string()>> sections_;
  mutable std::mutex mu_;
  std::map<unsigned, std::uint64_t> by_status_;
  std::array<std::uint64_t, kBuckets.size()> bucket_counts_{};
  std::uint64_t latency_count_ = 0;
  double latency_sum_ = 0;
};

}  // namespace evidence::ingest
