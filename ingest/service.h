// The daemon object: it opens the instance, owns every component (index, group
// commit, blobs, time-stamp authority, checkpointer, worker pools, the commit
// pipeline, the media jobs, in-memory upload and user state) and builds the route
// table. Each API area gets only its own context of references (api.h); nothing
// outside this class and serve() holds the whole daemon.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "ingest/api.h"
#include "ingest/audit_api.h"
#include "ingest/checkpointer.h"
#include "ingest/cursor.h"
#include "ingest/group_commit.h"
#include "ingest/http.h"
#include "ingest/ingest_pipeline.h"
#include "ingest/lifecycle.h"
#include "ingest/live_state.h"
#include "ingest/media_jobs.h"
#include "ingest/metrics.h"
#include "ingest/options.h"
#include "ingest/upload_slots.h"
#include "store/blob_store.h"
#include "store/index.h"
#include "store/instance_lock.h"
#include "store/layout.h"
#include "verify/keys.h"
#include "verify/tsa.h"

namespace evidence::ingest {

class Service {
 public:
  explicit Service(const ServeOptions& options);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  const ServeOptions& options() const { return options_; }
  const Routes& routes() const { return routes_; }
  // Bearer token -> user (nullopt for an unknown token or a disabled user).
  std::optional<AuthUser> authenticate(std::string_view token);
  Metrics& metrics() { return metrics_; }

  // For serve(): start and stop of the background work, and draining at shutdown.
  Checkpointer& checkpointer() { return *checkpointer_; }
  Workers& workers() { return *workers_; }
  // Hashing and writing of upload bodies (ingest/body_pump.h), kept off the pool
  // that runs commits so a burst of uploads cannot delay their answers.
  Workers& stream_workers() { return *stream_workers_; }
  const std::string& log_name() const { return keys_.log_name; }
  std::uint64_t log_size() const { return index_->log_size(); }
  // What `serve --verify-every` audits with (BackgroundVerifier).
  AuditApi audit_api();
  // The sweeper's round (its first runs at start): expired tus uploads, last-seen
  // times to the index, stale LMDB readers, blobs of disposed items (lifecycle.h). Blocks: run it on the worker pool.
  void sweep();
  // Writes the last-seen times recorded since the last write (at shutdown).
  void save_last_seen();

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
  PublicKeys keys_;
  // Before the checkpointer, so it is destroyed after it (the checkpointer submits to it).
  std::unique_ptr<Witnesses> witnesses_;  // null without serve --witness
  std::unique_ptr<Checkpointer> checkpointer_;
  Metrics metrics_;
  UploadRegistry uploads_;
  LastSeen last_seen_;
  CursorSealer cursors_;
  UploadSlots upload_slots_{options_.max_uploads_per_user};
  std::unique_ptr<Workers> workers_;
  std::unique_ptr<Workers> stream_workers_;
  // Audits and exports, which read the whole store or a whole case: threads of their
  // own, so neither can hold up the commits of uploads. Whole-store audits run one at
  // a time, exports at most --max-exports at once (api_audit.cpp).
  std::unique_ptr<Workers> audit_workers_;
  Slots whole_verify_{1};
  Slots export_slots_{options_.max_exports};
  std::mutex hold_mu_;
  BlobGate blob_gate_;  // commits shared, blob deletions exclusive (lifecycle.h)
  // Near last, so it is destroyed first: its threads use the index and blob store above.
  std::unique_ptr<MediaJobs> media_jobs_;
  std::unique_ptr<IngestPipeline> pipeline_;  // refers to the media jobs
  Routes routes_;                             // handlers refer to all of the above
};

}  // namespace evidence::ingest
