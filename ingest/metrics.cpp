#include "ingest/metrics.h"

#include <sstream>

namespace evidence::ingest {

void Metrics::request_done(unsigned status, double seconds) {
  std::lock_guard lock(mu_);
  ++by_status_[status];
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++bucket_counts_[i];
  }
  ++latency_count_;
  latency_sum_ += seconds;
}

void Metrics::upload_committed(std::uint64_t bytes) {
  ++uploads_;
  upload_bytes_ += bytes;
}

std::string Metrics::render(std::uint64_t log_size, std::uint64_t evidence_count) const {
  std::ostringstream o;
  o << "# HELP evidence_uploads_total Evidence items committed.\n"
       "# TYPE evidence_uploads_total counter\n"
    << "evidence_uploads_total " << uploads_.load() << "\n"
    << "# HELP evidence_upload_bytes_total Bytes of committed evidence.\n"
       "# TYPE evidence_upload_bytes_total counter\n"
    << "evidence_upload_bytes_total " << upload_bytes_.load() << "\n"
    << "# HELP evidence_received_bytes_total Request body bytes received for uploads.\n"
       "# TYPE evidence_received_bytes_total counter\n"
    << "evidence_received_bytes_total " << bytes_received_.load() << "\n"
    << "# HELP evidence_late_uploads_total Items received after their upload deadline.\n"
    << "# TYPE evidence_late_uploads_total counter\n"
    << "evidence_late_uploads_total " << late_uploads_.load() << "\n"
    << "# HELP evidence_active_uploads Uploads whose body is being received now.\n"
       "# TYPE evidence_active_uploads gauge\n"
    << "evidence_active_uploads " << active_uploads_.load() << "\n"
    << "# HELP evidence_log_size Entries in the custody log.\n"
       "# TYPE evidence_log_size gauge\n"
    << "evidence_log_size " << log_size << "\n"
    << "# HELP evidence_items Evidence items in the index.\n"
       "# TYPE evidence_items gauge\n"
    << "evidence_items " << evidence_count << "\n"
    << "# HELP evidence_verify_runs_total Whole-store audits completed.\n"
       "# TYPE evidence_verify_runs_total counter\n"
    << "evidence_verify_runs_total " << verify_runs_.load() << "\n"
    << "# HELP evidence_verify_errors_total Whole-store audits that could not run.\n"
       "# TYPE evidence_verify_errors_total counter\n"
    << "evidence_verify_errors_total " << verify_errors_.load() << "\n";
  if (const int last_ok = verify_last_ok_.load(); last_ok >= 0) {
    o << "# HELP evidence_verify_problems Problems found by the last whole-store audit.\n"
         "# TYPE evidence_verify_problems gauge\n"
      << "evidence_verify_problems " << verify_problems_.load() << "\n"
      << "# HELP evidence_verify_last_ok 1 when the last whole-store audit found no problem.\n"
         "# TYPE evidence_verify_last_ok gauge\n"
      << "evidence_verify_last_ok " << last_ok << "\n";
  }
  std::lock_guard lock(mu_);
  o << "# HELP evidence_http_responses_total HTTP responses by status.\n"
       "# TYPE evidence_http_responses_total counter\n";
  for (const auto& [status, n] : by_status_) {
    o << "evidence_http_responses_total{status=\"" << status << "\"} " << n << "\n";
  }
  o << "# HELP evidence_http_errors_total HTTP responses with status 400 or above.\n"
       "# TYPE evidence_http_errors_total counter\n";
  for (const auto& [status, n] : by_status_) {
    if (status >= 400) o << "evidence_http_errors_total{status=\"" << status << "\"} " << n << "\n";
  }
  o << "# HELP evidence_http_request_duration_seconds Time from request header to response end.\n"
       "# TYPE evidence_http_request_duration_seconds histogram\n";
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    o << "evidence_http_request_duration_seconds_bucket{le=\"" << kBuckets[i] << "\"} " << bucket_counts_[i]
      << "\n";
  }
  o << "evidence_http_request_duration_seconds_bucket{le=\"+Inf\"} " << latency_count_ << "\n"
    << "evidence_http_request_duration_seconds_sum " << latency_sum_ << "\n"
    << "evidence_http_request_duration_seconds_count " << latency_count_ << "\n";
  for (const auto& section : sections_) o << section();
  return o.str();
}

}  // namespace evidence::ingest
