#include "ingest/service.h"

#include "base/files.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

#include "ingest/audit_api.h"
#include "ingest/logging.h"
#include "ingest/tsa_client.h"
#include "base/error.h"
#include "base/timefmt.h"

namespace evidence::ingest {

Service::Service(const ServeOptions& options)
    : options_(options),
      layout_(options.data_dir),
      lock_(layout_),
      index_(open_index(layout_, OpenMode::read_write)),
      group_commit_(std::make_unique<GroupCommit>(*index_)),
      blobs_(open_serve_blob_store(layout_, options_.blobs)),
      embedded_tsa_(std::make_unique<tsa::EmbeddedTsa>(layout_)),
      signer_(load_log_signer(layout_)) {
  if (!options_.tsa_url.empty()) {
    if (options_.tsa_ca_file.empty()) throw Error(Errc::invalid_argument, "--tsa-url needs --tsa-ca");
    keys_.tsa_ca_pem = read_text_file(options_.tsa_ca_file);
    outside_tsa_ = std::make_unique<HttpTimeStamper>(options_.tsa_url, keys_.tsa_ca_pem, std::chrono::seconds(15),
                                                     options_.tsa_tls_ca_file);
    stamper_ = outside_tsa_.get();
  } else {
    stamper_ = embedded_tsa_.get();
    keys_.tsa_ca_pem = embedded_tsa_->ca_pem();
    keys_.tsa_cert_pem = embedded_tsa_->cert_pem();
  }
  keys_.log_name = signer_.name;
  keys_.log_key = signer_.verifier().to_string();
  checkpointer_ = std::make_unique<Checkpointer>(*index_, signer_, *stamper_);
  if (!options_.witnesses.empty()) {
    std::vector<WitnessEndpoint> endpoints;
    for (const auto& w : options_.witnesses) endpoints.push_back(WitnessEndpoint::parse(w));
    const auto quorum = options_.witness_quorum ? options_.witness_quorum : static_cast<unsigned>(endpoints.size());
    witnesses_ = std::make_unique<Witnesses>(*index_, std::move(endpoints), quorum, options_.witness_timeout);
    witnesses_->start();
    checkpointer_->attach(*witnesses_);
    metrics_.add_section([w = witnesses_.get()] { return w->render_metrics(); });
  }
  workers_ = std::make_unique<Workers>(options_.worker_threads ? options_.worker_threads
                                                                  : ServeOptions{}.worker_threads);
  stream_workers_ = std::make_unique<Workers>(std::max(2u, std::thread::hardware_concurrency()));
  // One for a whole-store audit, one for scoped audits, one per export slot.
  audit_workers_ = std::make_unique<Workers>(options_.max_exports + 2);
  MediaJobOptions media;
  media.scan_at_start = options_.media_scan;
  media_jobs_ = std::make_unique<MediaJobs>(*index_, *blobs_, layout_, media);
  pipeline_ = std::make_unique<IngestPipeline>(*index_, *group_commit_, *stamper_, *checkpointer_, metrics_, *workers_,
                                               media_jobs_.get(), ReceiptKeys{keys_.log_key, keys_.tsa_ca_pem});
  pipeline_->set_lifecycle(options_.upload_deadline, &blob_gate_, blobs_.get());

  // Each area gets the components its handlers use, and nothing else.
  Index& index = *index_;
  Workers& workers = *workers_;
  add_system_routes(routes_, {index, workers, metrics_, keys_});
  add_user_routes(routes_, {index, workers, last_seen_});
  add_evidence_routes(routes_, {index, workers, *stream_workers_, *blobs_, *checkpointer_, metrics_, upload_slots_,
                                *pipeline_, options_.max_upload_bytes});
  add_media_routes(routes_, {index, workers, *blobs_, layout_, *media_jobs_, *pipeline_});
  add_audit_routes(routes_, audit_api());  // before the case routes: /cases/{+}/export
  add_timeline_routes(routes_, {index, workers});  // before the case routes too
  add_review_routes(routes_, {index, workers, cursors_});  // before the case routes, as export
  add_case_routes(routes_, {index, workers, cursors_});
  add_log_routes(routes_, {index, workers, *checkpointer_});
  add_tus_routes(routes_, {index, workers, *stream_workers_, *blobs_, layout_, metrics_, uploads_, upload_slots_,
                           *pipeline_, options_.max_upload_bytes, options_.upload_expiry});
  add_hold_routes(routes_, {index, workers, *blobs_, hold_mu_});
  add_lifecycle_routes(routes_, {index, workers, *blobs_, blob_gate_, hold_mu_, cursors_, options_.min_retention_days});
}

Service::~Service() {
  workers_->pool.join();
  stream_workers_->pool.join();
  audit_workers_->pool.join();
}

AuditApi Service::audit_api() {
  return {*index_, *blobs_, layout_, *checkpointer_, metrics_, *audit_workers_, whole_verify_, export_slots_, keys_};
}

void Service::sweep() {
  sweep_expired_uploads(*index_, uploads_, layout_);
  save_last_seen();
  reap_blobs(*index_, *blobs_, blob_gate_);
  if (const int dead = index_->clear_stale_readers(); dead > 0) {
    log_line("warn", "stale_readers_cleared", {{"count", std::to_string(dead)}});
  }
}

void Service::save_last_seen() { index_->touch_users(last_seen_.take()); }

std::optional<AuthUser> Service::authenticate(std::string_view token) {
  if (token.empty() || token.size() > 512) return std::nullopt;
  // Users are keyed by SHA-256(token): the index lookup compares hashes of the
  // presented token, never the token itself, so its timing tells an attacker nothing
  // about any valid token (the token is 256 random bits; the hash is preimage-safe).
  const ContentId h = Sha256::of(token);
  auto u = index_->user_by_token_hash(h);
  if (!u || u->disabled) return std::nullopt;
  last_seen_.saw(u->name, format_rfc3339(now_us()));
  return AuthUser{u->name, u->role};
}

}  // namespace evidence::ingest
