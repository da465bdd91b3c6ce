// The daemon's side of auditing (api_audit.cpp): POST /api/v1/verify,
// GET /api/v1/cases/{C}/export, and `serve --verify-every` (BackgroundVerifier).
// The audit and the bundle themselves are verify/audit.h and verify/bundle.h; this
// file supplies the keys the daemon holds and appends the custody events they call for.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "ingest/api.h"
#include "ingest/live_state.h"
#include "verify/audit.h"

namespace evidence::ingest {

// What audits and exports reach: the whole store, read-only but for their custody
// entries, on threads of their own.
struct AuditApi {
  Index& index;
  BlobStore& blobs;
  const Layout& layout;
  Checkpointer& checkpointer;
  Metrics& metrics;
  Workers& audit_workers;
  Slots& whole_verify_slot;  // whole-store audits run one at a time
  Slots& export_slots;       // exports at most --max-exports at once
  const PublicKeys& keys;
};

// POST /verify (auditor, admin) and GET /cases/{+}/export (reviewer, auditor, admin).
// Must be registered before the case routes: "/cases/{+}" would otherwise swallow
// "/cases/C/export" as the case "C/export" (a case whose number really ends in
// "/export" is still reachable as /cases/C%2Fexport).
void add_audit_routes(Routes& routes, AuditApi api);

// AuditOptions for a run inside the daemon: the log verifier of the key it signs with
// and every TSA CA it knows (the embedded one from DIR/keys and, with --tsa-url, the
// outside TSA's CA).
AuditOptions daemon_audit_options(const AuditApi& s);

// Appends the "verify" custody event of a finished run: actor and role, the evidence
// or case of a scoped run, detail {"ok", "checked", "problems": count, "hints": count,
// "scope"}. Returns the entry index.
std::uint64_t append_verify_event(const AuditApi& s, const std::string& actor, const std::string& role,
                                  const AuditScope& scope, const AuditReport& report);

// "30s", "10m", "1h", "2d" or a bare number of seconds; nullopt when malformed, zero or
// absurdly large.
std::optional<std::chrono::seconds> parse_duration(std::string_view text);

// `serve --verify-every`: a thread that, every `interval` after the previous run
// ended, audits the whole store at low priority, appends a "verify" custody entry
// (actor "system", role "system"), logs a structured line and updates the verify
// metrics. stop() cancels a run in progress (the audit's cancel flag) and joins.
class BackgroundVerifier {
 public:
  BackgroundVerifier(AuditApi s, std::chrono::seconds interval);
  ~BackgroundVerifier();
  BackgroundVerifier(const BackgroundVerifier&) = delete;
  BackgroundVerifier& operator=(const BackgroundVerifier&) = delete;

  void start();
  void stop();

 private:
  void loop();
  void run_once();

  AuditApi s_;
  std::chrono::seconds interval_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;
};

}  // namespace evidence::ingest
