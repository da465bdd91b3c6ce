// Legal hold: POST /api/v1/evidence/{id}/hold sets it, DELETE clears it (admin only).
// The hold is kept in the index (derived kind "hold", with its custody entry "hold" or
// "release" in the same transaction) and on the backend's object version
// (BlobStore::legal_holds(): S3 PUT ?legal-hold; the local folder has no such capability).
//
// Order: a hold is set on the store before it is recorded, a release is recorded
// before the store's hold is cleared, so a failure in between leaves the object held.
// Several items can share one content (and so one object version): a release clears
// the store's hold only when no other item of that content is still held.
// An optional reason (query parameter `reason`, or a JSON body {"reason": "..."}; up to
// 1024 characters, no control characters) is kept in the custody entry.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <mutex>

#include "ingest/api_hold.h"
#include "ingest/api.h"
#include "ingest/api_common.h"
#include "base/error.h"
#include "base/timefmt.h"

namespace evidence::ingest {
namespace {

constexpr const char* kHoldKind = "hold";

bool held(const Index& index, const std::string& id) {
  auto v = index.get_derived(kHoldKind, id);
  if (!v) return false;
  boost::system::error_code ec;
  auto j = json::parse(*v, ec);
  if (ec || !j.is_object()) return false;
  const auto* on = j.as_object().if_contains("legal_hold");
  return on && on->is_bool() && on->as_bool();
}

// Another item whose record names the same object version and is held.
bool other_holder(Index& index, const EvidenceRecord& rec) {
  bool found = false;
  index.for_each_evidence([&](const std::string& other) {
    if (found || other == rec.id) return;
    auto r = index.get_evidence(other);
    if (r && r->sha256 == rec.sha256 && r->blob_version == rec.blob_version && held(index, other)) found = true;
  });
  return found;
}

Task<Response> change_hold(HoldApi s, Request& req, bool on) {
  const EvidenceRecord rec = co_await readable_record(s.index, s.workers, req, req.params[0]);
  std::optional<std::string> reason = req.query("reason");
  if (req.content_length && *req.content_length > 0) {
    const json::object body = co_await read_json_object(req);
    if (const auto* r = body.if_contains("reason")) {
      if (!r->is_string()) throw HttpError{http::status::bad_request, "invalid_reason", "\"reason\" must be a string"};
      reason = std::string(r->as_string());
    }
  }
  if (reason) {
    bool bad = reason->size() > 1024;
    for (unsigned char c : *reason) bad = bad || c < 0x20 || c == 0x7f;
    if (bad) throw HttpError{http::status::bad_request, "invalid_reason", "reason: up to 1024 characters, no control characters"};
  }
  json::object out = co_await blocking(s.workers, [&s, &req, &rec, &reason, on] {
    std::lock_guard lock(s.hold_mutex);
    CustodyEvent ev = custody_event(req.who(), on ? "hold" : "release");
    ev.evidence = rec.id;
    json::object detail;
    if (!rec.blob_version.empty()) detail["version"] = rec.blob_version;
    if (reason) detail["reason"] = *reason;
    if (!detail.empty()) ev.detail = detail;
    json::object value{{"legal_hold", on}, {"time", ev.time}, {"actor", ev.actor}};
    if (reason) value["reason"] = *reason;
    std::uint64_t index = 0;
    if (on) {
      if (LegalHolds* holds = s.blobs.legal_holds()) holds->set_legal_hold(rec.sha256, rec.blob_version, true);
      index = s.index.put_derived(kHoldKind, rec.id, json::serialize(value), ev);
    } else {
      index = s.index.put_derived(kHoldKind, rec.id, json::serialize(value), ev);
      if (LegalHolds* holds = s.blobs.legal_holds(); holds && !other_holder(s.index, rec))
        holds->set_legal_hold(rec.sha256, rec.blob_version, false);
    }
    return json::object{{"evidence_id", rec.id}, {"legal_hold", on}, {"log_index", index}};
  });
  co_return Response::json(http::status::ok, out);
}

Task<Response> post_hold(HoldApi s, Request& req) { co_return co_await change_hold(s, req, true); }
Task<Response> delete_hold(HoldApi s, Request& req) { co_return co_await change_hold(s, req, false); }

}  // namespace

bool has_legal_hold(const Index& index, const std::string& evidence_id) { return held(index, evidence_id); }

void add_hold_routes(Routes& routes, HoldApi api) {
  routes.push_back({http::verb::post, "/evidence/{}/hold", true, {Role::admin}, 0, bind_api(api, post_hold)});
  routes.push_back({http::verb::delete_, "/evidence/{}/hold", true, {Role::admin}, 0, bind_api(api, delete_hold)});
}

}  // namespace evidence::ingest
