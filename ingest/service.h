// The daemon's state shared by every connection: the index, blobs, keys, time-stamp
// authority, checkpointer, tus upload registry and metrics; and the route table.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ingest/api_common.h"
#include "ingest/checkpointer.h"
#include "ingest/cursor.h"
#include "ingest/group_commit.h"
#include "ingest/http.h"
#include "ingest/ingest_pipeline.h"
#include "ingest/media_jobs.h"
#include "ingest/metrics.h"
#include "ingest/options.h"
#include "ingest/upload_slots.h"
#include "store/blob_store.h"
#include "store/content_id.h"
#include "store/index.h"
#include "store/instance_lock.h"
#include "store/layout.h"
#include "verify/keys.h"
#include "verify/tsa.h"

namespace evidence::ingest {

// In-memory state of tus uploads while the daemon lives: which upload a PATCH is
// writing right now (a second one is refused), and a running SHA-256 of the durable
// prefix so completion need not re-read the file. After a restart the hash is
// rebuilt from the file.
class UploadRegistry {
 public:
  struct Running {
    Sha256 hash;
    std::uint64_t hashed = 0;  // bytes fed to `hash`
  };
  // false when a PATCH on `id` is already running.
  bool try_lock(const std::string& id);
  void unlock(const std::string& id);
  // Takes the running hash out for the duration of a PATCH (nullopt: none kept).
  std::optional<Running> take_hash(const std::string& id);
  void put_hash(const std::string& id, Running r);
  void forget(const std::string& id);

 private:
  std::mutex mu_;
  std::set<std::string> busy_;
  std::map<std::string, Running> hashes_;
};

// When each user was last seen (an authenticated request), kept in memory and
// written to the index by the sweeper: a write per request would put an fsync in
// front of every read.
class LastSeen {
 public:
  void saw(const std::string& name, std::string when);
  // The times recorded since the last take (name -> RFC 3339).
  std::vector<std::pair<std::string, std::string>> take();
  std::optional<std::string> get(const std::string& name);

 private:
  std::mutex mu_;
  std::map<std::string, std::string> latest_, pending_;
};

// At most `max` holders at once; try_take() is false past that (the caller answers 429).
class Slots {
 public:
  explicit Slots(unsigned max) : max_(max) {}
  bool try_take() {
    unsigned n = used_.load();
    do {
      if (n >= max_) return false;
    } while (!used_.compare_exchange_weak(n, n + 1));
    return true;
  }
  void give_back() { --used_; }

 private:
  const unsigned max_;
  std::atomic<unsigned> used_{0};
};

class Service;
class MediaJobs;
using Handler = std::function<Task<Response>(Service&, Request&)>;

struct Route {
  http::verb method;
  std::string pattern;  // under /api/v1; "{}" one segment, "{+}" one or more
  bool auth = true;
  std::vector<Role> roles;          // empty: any authenticated user
  std::uint64_t body_limit = 0;     // 0: the JSON limit
  Handler handler;
};

class Service {
 public:
  explicit Service(const ServeOptions& options);
  ~Service();

  const ServeOptions& options() const { return options_; }
  const Layout& layout() const { return layout_; }
  Index& index() { return *index_; }
  // New items go through here: concurrent commits share one transaction.
  GroupCommit& group_commit() { return *group_commit_; }
  BlobStore& blobs() { return *blobs_; }
  tsa::TimeStamper& stamper() { return *stamper_; }
  Checkpointer& checkpointer() { return *checkpointer_; }
  Metrics& metrics() { return metrics_; }
  UploadRegistry& uploads() { return uploads_; }
  UploadSlots& upload_slots() { return upload_slots_; }
  Workers& workers() { return *workers_; }
  // Hashing and writing of upload bodies (ingest/body_pump.h), kept off the pool
  // that runs commits so a burst of uploads cannot delay their answers.
  Workers& stream_workers() { return *stream_workers_; }
  // Audits and exports, which read the whole store or a whole case: threads of their
  // own, so neither can hold up the commits of uploads. Whole-store audits run one at
  // a time, exports at most --max-exports at once (api_audit.cpp).
  Workers& audit_workers() { return *audit_workers_; }
  Slots& whole_verify_slot() { return whole_verify_; }
  Slots& export_slots() { return export_slots_; }
  const std::string& log_key() const { return log_key_; }
  const std::string& log_name() const { return signer_.name; }
  const std::string& tsa_ca_pem() const { return tsa_ca_pem_; }
  const std::string& tsa_cert_pem() const { return tsa_cert_pem_; }
  const std::vector<Route>& routes() const { return routes_; }

  // Bearer token -> user (nullopt for an unknown token or a disabled user).
  std::optional<AuthUser> authenticate(std::string_view token);
  LastSeen& last_seen() { return last_seen_; }
  const CursorSealer& cursors() const { return cursors_; }

  void add_route(Route r) { routes_.push_back(std::move(r)); }

  // The media jobs (thumbnails, segments, clips): started with the daemon.
  MediaJobs& media_jobs() { return *media_jobs_; }
  // Stamp -> group commit -> media queue -> receipt, for every new item.
  IngestPipeline& pipeline() { return *pipeline_; }
  // Serialises legal-hold changes of this daemon (api_hold.cpp): one decision at a
  // time sees every other holder of an object version.
  std::mutex& hold_mutex() { return hold_mu_; }

 private:
  ServeOptions options_;
  Layout layout_;
  InstanceLock lock_;  // before anything opens the directory for writing
  std::unique_ptr<Index> index_;
  std::unique_ptr<GroupCommit> group_commit_;
  std::unique_ptr<BlobStore> blobs_;
  std::unique_ptr<tsa::EmbeddedTsa> embedded_tsa_;
  std::unique_ptr<tsa::TimeStamper> outside_tsa_;
  tsa::TimeStamper* stamper_ = nullptr;
  LogSigner signer_;
  std::unique_ptr<Checkpointer> checkpointer_;
  Metrics metrics_;
  UploadRegistry uploads_;
  LastSeen last_seen_;
  CursorSealer cursors_;
  UploadSlots upload_slots_{options_.max_uploads_per_user};
  std::unique_ptr<Workers> workers_;
  std::unique_ptr<Workers> stream_workers_;
  std::unique_ptr<Workers> audit_workers_;
  Slots whole_verify_{1};
  Slots export_slots_{options_.max_exports};
  std::string log_key_, tsa_ca_pem_, tsa_cert_pem_;
  std::vector<Route> routes_;
  std::mutex hold_mu_;
  // Near last, so it is destroyed first: its threads use the index and blob store above.
  std::unique_ptr<MediaJobs> media_jobs_;
  std::unique_ptr<IngestPipeline> pipeline_;  // refers to the media jobs
};

// Route registration, one function per API area (api_*.cpp, tus.cpp).
void add_system_routes(Service& s);
void add_user_routes(Service& s);  // api_users.cpp: people (admin)
void add_evidence_routes(Service& s);
void add_case_routes(Service& s);
void add_log_routes(Service& s);
void add_tus_routes(Service& s);
void add_hold_routes(Service& s);  // api_hold.cpp: legal hold (admin)

// Removes expired partial tus uploads (file and session); run by the sweeper.
void sweep_expired_uploads(Service& s);

}  // namespace evidence::ingest
