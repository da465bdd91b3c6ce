// Audit routes (POST /verify, GET /cases/{C}/export) and the background verifier.
//
// Export: Response streams pull-style with a known length, and write_bundle pushes a
// tar whose length is known only at the end. So the bundle is first spooled to an
// anonymous scratch file in DIR/incoming (store/scratch.h: no name, so nothing is left
// behind by a crash), then served from it with its exact length. Memory stays at one chunk; disk needs the bundle's
// size once more while it is served.
#include "ingest/audit_api.h"

#include <memory>

#include "ingest/headers.h"
#include "ingest/logging.h"
#include "ingest/api.h"
#include "ingest/api_common.h"
#include "store/data_dir.h"
#include "base/error.h"
#include "store/ids.h"
#include "store/scratch.h"
#include "base/timefmt.h"
#include "verify/bundle.h"

namespace evidence::ingest {
namespace {

// ---------------------------------------------------------------------------------
// POST /verify

AuditScope parse_scope(const json::object& body) {
  auto bad = [](const std::string& why) { return HttpError{http::status::bad_request, "invalid_argument", why}; };
  const auto* scope = body.if_contains("scope");
  if (!scope || !scope->is_string()) throw bad("\"scope\" must be \"all\", \"case\" or \"evidence\"");
  const auto* id = body.if_contains("id");
  const std::string kind(scope->as_string());
  if (kind == "all") {
    if (id && !id->is_null() && !(id->is_string() && id->as_string().empty())) {
      throw bad("scope \"all\" takes no \"id\"");
    }
    return AuditScope::all();
  }
  if (kind != "case" && kind != "evidence") throw bad("\"scope\" must be \"all\", \"case\" or \"evidence\"");
  if (!id || !id->is_string() || id->as_string().empty()) throw bad("scope \"" + kind + "\" needs a string \"id\"");
  std::string value(id->as_string());
  if (kind == "case") {
    check_case_number(value);
    return AuditScope::of_case(std::move(value));
  }
  if (!is_evidence_id(value)) throw HttpError{http::status::not_found, "not_found", "no evidence " + value};
  return AuditScope::of_evidence(std::move(value));
}

// Holds one of `slots` for a request, or answers 429 busy.
class SlotGuard {
 public:
  SlotGuard(Slots& slots, const char* what) : slots_(slots) {
    if (!slots_.try_take()) {
      throw HttpError{http::status::too_many_requests, "busy", std::string(what) + "; try again later",
                      {{"Retry-After", "30"}}};
    }
  }
  ~SlotGuard() { slots_.give_back(); }
  SlotGuard(const SlotGuard&) = delete;
  SlotGuard& operator=(const SlotGuard&) = delete;

 private:
  Slots& slots_;
};

Task<Response> post_verify(AuditApi s, Request& req) {
  const json::object body = co_await read_json_object(req);
  const AuditScope scope = parse_scope(body);
  const AuthUser who = req.who();
  std::optional<SlotGuard> whole;
  if (scope.kind == AuditScope::Kind::all) whole.emplace(s.whole_verify_slot, "a whole-store audit is running");
  json::object report = co_await blocking(s.audit_workers, [&s, &scope, &who] {
    const AuditReport rep = run_audit(s.layout, s.index, s.blobs, scope, daemon_audit_options(s));
    append_verify_event(s, who.name, role_name(who.role), scope, rep);
    if (scope.kind == AuditScope::Kind::all) s.metrics.verify_done(rep.ok, rep.problems.size());
    return rep.to_json();
  });
  co_return Response::json(http::status::ok, report);
}

// ---------------------------------------------------------------------------------
// GET /cases/{+}/export

Task<Response> export_case(AuditApi s, Request& req) {
  const std::string case_number = req.params[0];
  check_case_number(case_number);
  const AuthUser who = req.who();
  // Held until the bundle has been sent (or the reader gone): the stream owns it.
  auto slot = std::make_shared<SlotGuard>(s.export_slots, "as many exports as --max-exports allows are running");
  std::shared_ptr<ScratchFile> spool = co_await blocking(s.audit_workers, [&s, &case_number, &who] {
    auto& index = s.index;
    // Every entry up to now, including each item's latest link, is proved in the bundle.
    const StoredCheckpoint cp = s.checkpointer.ensure(index.log_size());
    const auto items = index.items_in_case(case_number);
    if (items.empty()) throw HttpError{http::status::not_found, "not_found", "no items in case " + case_number};
    // The spool shares the disk with incoming evidence: never fill it with a bundle.
    std::uint64_t content = 0;
    for (const auto& id : items) {
      if (auto rec = index.get_evidence(id)) content += rec->size;
    }
    const auto available = Scratch(s.layout).available_bytes();
    const std::uint64_t reserve = 64ull << 20;  // left for uploads
    if (available && *available < content + reserve) {
      throw HttpError{http::status::insufficient_storage, "no_space",
                      "exporting " + std::to_string(content) + " bytes of content would leave less than 64 MiB free for uploads"};
    }
    auto file = std::make_shared<ScratchFile>(Scratch(s.layout).anonymous("export"));
    Sha256 hash;
    BundleOptions opts;
    opts.checkpoint = cp;
    write_bundle(index, s.blobs, s.layout, case_number,
                 [&file, &hash](std::span<const std::uint8_t> data) {
                   hash.update(data);
                   file->write(data);
                 },
                 opts);
    const std::string bundle_sha256 = hash.finish().hex();
    // One export entry per item, all in one transaction, after the bundle is complete.
    std::vector<CustodyEvent> events;
    for (const auto& id : items) {
      CustodyEvent ev = custody_event(who, "export");
      ev.evidence = id;
      ev.case_number = case_number;
      ev.detail = json::object{{"bundle_sha256", bundle_sha256},
                               {"bundle_bytes", file->size()},
                               {"checkpoint_size", cp.size}};
      events.push_back(std::move(ev));
    }
    index.append_events(events);
    log_line("info", "case_exported", {{"actor", who.name},
                                       {"items", std::to_string(items.size())},
                                       {"bytes", std::to_string(file->size())},
                                       {"bundle_sha256", bundle_sha256}});
    return file;
  });
  Response res;
  res.headers.set(http::field::content_type, "application/x-tar");
  // Case numbers are data: the plain filename is a hash, the RFC 5987 one percent-encoded.
  const std::string short_hash = Sha256::of(case_number).hex().substr(0, 16);
  const std::string encoded = percent_encode(case_number, ExtValueKeep::attr_char);
  res.headers.set(http::field::content_disposition, "attachment; filename=\"case-" + short_hash +
                                                        ".tar\"; filename*=UTF-8''case-" + encoded + ".tar");
  res.headers.set(http::field::cache_control, "private, no-store");
  res.stream_size = spool->size();
  res.stream = [spool, slot, offset = std::uint64_t{0}](std::span<std::uint8_t> out) mutable {
    const std::size_t n = spool->read_at(offset, out);
    offset += n;
    return n;
  };
  co_return res;
}

}  // namespace

// ---------------------------------------------------------------------------------

AuditOptions daemon_audit_options(const AuditApi& s) {
  AuditOptions o;
  auto v = note::Verifier::parse(s.keys.log_key);
  if (!v) throw Error(Errc::internal, "the daemon's own log key does not parse");
  o.log_verifier = *v;
  // The embedded TSA's CA (tokens from before a move to an outside TSA), then the CA
  // of the TSA in use, when that is another one.
  std::string pem = read_embedded_tsa_ca(s.layout);
  if (!s.keys.tsa_ca_pem.empty() && pem.find(s.keys.tsa_ca_pem) == std::string::npos) {
    if (!pem.empty() && pem.back() != '\n') pem.push_back('\n');
    pem += s.keys.tsa_ca_pem;
  }
  if (!pem.empty()) o.tsa_ca_pem = std::move(pem);
  return o;
}

std::uint64_t append_verify_event(const AuditApi& s, const std::string& actor, const std::string& role,
                                  const AuditScope& scope, const AuditReport& report) {
  CustodyEvent ev;
  ev.time = format_rfc3339(now_us());
  ev.actor = actor;
  ev.role = role;
  ev.action = "verify";
  const char* scope_name = "all";
  if (scope.kind == AuditScope::Kind::evidence) {
    ev.evidence = scope.id;
    scope_name = "evidence";
  } else if (scope.kind == AuditScope::Kind::case_number) {
    ev.case_number = scope.id;
    scope_name = "case";
  }
  ev.detail = json::object{{"scope", scope_name},
                           {"ok", report.ok},
                           {"checked", report.checked},
                           {"problems", report.problems.size()},
                           {"hints", report.hints.size()}};
  return s.index.append_event(ev);
}

std::optional<std::chrono::seconds> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::uint64_t unit = 1;
  switch (text.back()) {
    case 's': unit = 1; text.remove_suffix(1); break;
    case 'm': unit = 60; text.remove_suffix(1); break;
    case 'h': unit = 3600; text.remove_suffix(1); break;
    case 'd': unit = 86400; text.remove_suffix(1); break;
    default: break;
  }
  if (text.empty() || text.size() > 9) return std::nullopt;
  std::uint64_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  n *= unit;
  if (n == 0 || n > 366ull * 86400) return std::nullopt;
  return std::chrono::seconds(static_cast<std::chrono::seconds::rep>(n));
}

// ---------------------------------------------------------------------------------
// Background verifier

BackgroundVerifier::BackgroundVerifier(AuditApi s, std::chrono::seconds interval) : s_(s), interval_(interval) {}

BackgroundVerifier::~BackgroundVerifier() { stop(); }

void BackgroundVerifier::start() {
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { loop(); });
}

void BackgroundVerifier::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void BackgroundVerifier::loop() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      if (cv_.wait_for(lock, interval_, [this] { return stopping_.load(); })) return;
    }
    run_once();
  }
}

void BackgroundVerifier::run_once() {
  const auto started = std::chrono::steady_clock::now();
  try {
    AuditOptions o = daemon_audit_options(s_);
    o.low_priority = true;
    o.cancel = &stopping_;
    const AuditScope scope = AuditScope::all();
    const AuditReport rep = run_audit(s_.layout, s_.index, s_.blobs, scope, o);
    const std::uint64_t at = append_verify_event(s_, "system", "system", scope, rep);
    s_.metrics.verify_done(rep.ok, rep.problems.size());
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::string kinds;
    for (const auto& p : rep.problems) {
      const std::string_view kind = problem_kind_name(p.kind);
      if (kinds.find(kind) != std::string::npos) continue;
      if (!kinds.empty()) kinds += ",";
      kinds += kind;
    }
    log_line(rep.ok ? "info" : "error", "verify_done",
             {{"ok", rep.ok ? "true" : "false"},
              {"checked", std::to_string(rep.checked)},
              {"problems", std::to_string(rep.problems.size())},
              {"kinds", kinds},
              {"hints", std::to_string(rep.hints.size())},
              {"bytes", std::to_string(rep.bytes_hashed)},
              {"seconds", std::to_string(secs)},
              {"log_index", std::to_string(at)}});
  } catch (const Error& e) {
    if (stopping_ && e.code() == Errc::unavailable) return;  // cancelled at shutdown
    s_.metrics.verify_failed();
    log_line("error", "verify_failed", {{"error", e.what()}});
  } catch (const std::exception& e) {
    s_.metrics.verify_failed();
    log_line("error", "verify_failed", {{"error", e.what()}});
  }
}

// ---------------------------------------------------------------------------------

void add_audit_routes(Routes& routes, AuditApi api) {
  routes.push_back({http::verb::post, "/verify", true, {Role::auditor, Role::admin}, 0, bind_api(api, post_verify)});
  routes.push_back({http::verb::get, "/cases/{+}/export", true, {Role::reviewer, Role::auditor, Role::admin}, 0,
                    bind_api(api, export_case)});
}

}  // namespace evidence::ingest
