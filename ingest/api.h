// The route table and what each API area's handlers may reach.
//
// The daemon (Service, service.h) owns every component. At route registration it
// builds one small context per area, a struct of references to just the components
// that area uses, and each area's add_*_routes captures its context (by value) in the
// handlers it registers. So a handler is a function of the request alone, and the
// route table hands no one the daemon.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "ingest/checkpointer.h"
#include "ingest/cursor.h"
#include "ingest/http.h"
#include "ingest/ingest_pipeline.h"
#include "ingest/metrics.h"
#include "ingest/live_state.h"
#include "ingest/upload_slots.h"
#include "store/blob_store.h"
#include "store/index.h"
#include "store/layout.h"

namespace evidence::ingest {

class MediaJobs;

using Handler = std::function<Task<Response>(Request&)>;

struct Route {
  http::verb method;
  std::string pattern;  // under /api/v1; "{}" one segment, "{+}" one or more
  bool auth = true;
  std::vector<Role> roles;          // empty: any authenticated user
  std::uint64_t body_limit = 0;     // 0: the JSON limit
  Handler handler;
};
using Routes = std::vector<Route>;

// A handler of one area, fn(api, req), bound to that area's context (copied: it is a
// few references).
template <class Api, class Fn>
Handler bind_api(Api api, Fn fn) {
  return [api, fn](Request& req) { return fn(api, req); };
}

// The public keys of this daemon, as /keys and receipts give them.
struct PublicKeys {
  std::string log_name;      // the checkpoint signer's name
  std::string log_key;       // its verifier key
  std::string tsa_ca_pem;    // the CA of the TSA in use
  std::string tsa_cert_pem;  // the embedded TSA's certificate (empty with --tsa-url)
};

// api_system.cpp: /healthz, /metrics, /keys.
struct SystemApi {
  Index& index;
  Workers& workers;
  Metrics& metrics;
  const PublicKeys& keys;
};
void add_system_routes(Routes& routes, SystemApi api);

// api_users.cpp: /whoami, people (admin).
struct UsersApi {
  Index& index;
  Workers& workers;
  LastSeen& last_seen;
};
void add_user_routes(Routes& routes, UsersApi api);

// api_evidence.cpp: one-shot upload, records, content, time stamp, custody, case links.
struct EvidenceApi {
  Index& index;
  Workers& workers;
  Workers& stream_workers;  // hashing and writing of upload bodies
  BlobStore& blobs;
  Checkpointer& checkpointer;
  Metrics& metrics;
  UploadSlots& upload_slots;
  IngestPipeline& pipeline;
  std::uint64_t max_upload_bytes;
};
void add_evidence_routes(Routes& routes, EvidenceApi api);

// api_media.cpp: /evidence/{id}/thumbnail and /evidence/{id}/clips.
struct MediaApi {
  Index& index;
  Workers& workers;
  BlobStore& blobs;
  const Layout& layout;
  MediaJobs& jobs;
  IngestPipeline& pipeline;
};
void add_media_routes(Routes& routes, MediaApi api);

// api_cases.cpp: cases and search.
struct CasesApi {
  Index& index;
  Workers& workers;
  const CursorSealer& cursors;
};
void add_case_routes(Routes& routes, CasesApi api);
// api_reviews.cpp: case-file reviews, /cases/{+}/reviews (before the case routes).
void add_review_routes(Routes& routes, CasesApi api);

// api_timeline.cpp: GET /cases/{+}/timeline (reviewer, auditor, admin). Registered
// before the case routes: "/cases/{+}" would otherwise take "/cases/C/timeline" as
// the case "C/timeline".
struct TimelineApi {
  Index& index;
  Workers& workers;
};
void add_timeline_routes(Routes& routes, TimelineApi api);

// api_log.cpp: checkpoint, entries, proofs.
struct LogApi {
  Index& index;
  Workers& workers;
  Checkpointer& checkpointer;
};
void add_log_routes(Routes& routes, LogApi api);

// tus.cpp: resumable uploads at /uploads.
struct TusApi {
  Index& index;
  Workers& workers;
  Workers& stream_workers;
  BlobStore& blobs;
  const Layout& layout;
  Metrics& metrics;
  UploadRegistry& uploads;
  UploadSlots& upload_slots;
  IngestPipeline& pipeline;
  std::uint64_t max_upload_bytes;
  std::chrono::seconds upload_expiry;
};
void add_tus_routes(Routes& routes, TusApi api);
// Removes expired partial tus uploads (file and session); run by the sweeper. Blocks.
void sweep_expired_uploads(Index& index, UploadRegistry& uploads, const Layout& layout);

// api_hold.cpp: legal hold (admin).
struct HoldApi {
  Index& index;
  Workers& workers;
  BlobStore& blobs;
  // Serialises legal-hold changes of this daemon: one decision at a time sees every
  // other holder of an object version.
  std::mutex& hold_mutex;
};
void add_hold_routes(Routes& routes, HoldApi api);

}  // namespace evidence::ingest
