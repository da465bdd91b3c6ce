#include "base/files.h"
#include "ingest/service.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

#include "ingest/audit_api.h"
#include "ingest/blob_backend.h"
#include "ingest/tsa_client.h"
#include "base/error.h"
#include "base/timefmt.h"

namespace evidence::ingest {

bool UploadRegistry::try_lock(const std::string& id) {
  std::lock_guard lock(mu_);
  return busy_.insert(id).second;
}
void UploadRegistry::unlock(const std::string& id) {
  std::lock_guard lock(mu_);
  busy_.erase(id);
}
std::optional<UploadRegistry::Running> UploadRegistry::take_hash(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = hashes_.find(id);
  if (it == hashes_.end()) return std::nullopt;
  std::optional<Running> r(std::move(it->second));
  hashes_.erase(it);
  return r;
}
void UploadRegistry::put_hash(const std::string& id, Running r) {
  std::lock_guard lock(mu_);
  hashes_.insert_or_assign(id, std::move(r));
}
void UploadRegistry::forget(const std::string& id) {
  std::lock_guard lock(mu_);
  hashes_.erase(id);
}

void LastSeen::saw(const std::string& name, std::string when) {
  std::lock_guard lock(mu_);
  auto& latest = latest_[name];
  // Only a change of minute is news worth writing.
  if (latest.compare(0, 16, when, 0, 16) == 0) return;
  latest = when;
  pending_[name] = std::move(when);
}
std::vector<std::pair<std::string, std::string>> LastSeen::take() {
  std::lock_guard lock(mu_);
  std::vector<std::pair<std::string, std::string>> out(pending_.begin(), pending_.end());
  pending_.clear();
  return out;
}
std::optional<std::string> LastSeen::get(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = latest_.find(name);
  if (it == latest_.end()) return std::nullopt;
  return it->second;
}

Service::Service(const ServeOptions& options)
    : options_(options),
      layout_(options.data_dir),
      lock_(layout_),
      index_(open_index(layout_, OpenMode::read_write)),
      group_commit_(std::make_unique<GroupCommit>(*index_)),
      blobs_(open_serve_blob_store(options, layout_)),
      embedded_tsa_(std::make_unique<tsa::EmbeddedTsa>(layout_)),
      signer_(load_log_signer(layout_)) {
  if (!options_.tsa_url.empty()) {
    if (options_.tsa_ca_file.empty()) throw Error(Errc::invalid_argument, "--tsa-url needs --tsa-ca");
    tsa_ca_pem_ = read_text_file(options_.tsa_ca_file);
    outside_tsa_ = std::make_unique<HttpTimeStamper>(options_.tsa_url, tsa_ca_pem_);
    stamper_ = outside_tsa_.get();
  } else {
    stamper_ = embedded_tsa_.get();
    tsa_ca_pem_ = embedded_tsa_->ca_pem();
    tsa_cert_pem_ = embedded_tsa_->cert_pem();
  }
  log_key_ = signer_.verifier().to_string();
  checkpointer_ = std::make_unique<Checkpointer>(*index_, signer_, *stamper_);
  workers_ = std::make_unique<Workers>(options_.worker_threads ? options_.worker_threads
                                                                  : ServeOptions{}.worker_threads);
  stream_workers_ = std::make_unique<Workers>(std::max(2u, std::thread::hardware_concurrency()));
  // One for a whole-store audit, one for scoped audits, one per export slot.
  audit_workers_ = std::make_unique<Workers>(options_.max_exports + 2);
  MediaJobOptions media;
  media.scan_at_start = options_.media_scan;
  media_jobs_ = std::make_unique<MediaJobs>(*index_, *blobs_, layout_, media);
  pipeline_ = std::make_unique<IngestPipeline>(*index_, *group_commit_, *stamper_, *checkpointer_, metrics_, *workers_,
                                               media_jobs_.get(), ReceiptKeys{log_key_, tsa_ca_pem_});
  add_system_routes(*this);
  add_user_routes(*this);
  add_evidence_routes(*this);
  add_audit_routes(*this);  // before the case routes: /cases/{+}/export
  add_case_routes(*this);
  add_log_routes(*this);
  add_tus_routes(*this);
  add_hold_routes(*this);
}

Service::~Service() {
  workers_->pool.join();
  stream_workers_->pool.join();
  audit_workers_->pool.join();
}

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
