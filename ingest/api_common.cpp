// Helpers shared by the route handlers: metadata validation, custody events, records.
#include "ingest/api_common.h"

#include <boost/json/parse.hpp>

#include "ingest/api_hold.h"
#include "ingest/lifecycle.h"
#include "store/retention.h"
#include "base/error.h"
#include "store/ids.h"
#include "base/timefmt.h"
#include "verify/timeline.h"

namespace evidence::ingest {

CustodyEvent custody_event(const AuthUser& who, std::string action) {
  CustodyEvent ev;
  ev.time = format_rfc3339(now_us());
  ev.actor = who.name;
  ev.role = role_name(who.role);
  ev.action = std::move(action);
  return ev;
}

Task<EvidenceRecord> readable_record(Index& index, Workers& workers, const Request& req, const std::string& id) {
  if (!is_evidence_id(id)) throw HttpError{http::status::not_found, "not_found", "no evidence " + id};
  auto rec = co_await blocking(workers, [&index, &id] { return index.get_evidence(id); });
  // Officers read only their own uploads; others' items look absent to them.
  if (!rec || (reads_only_own_uploads(req.who().role) && rec->uploaded_by != req.who().name)) {
    throw HttpError{http::status::not_found, "not_found", "no evidence " + id};
  }
  co_return *rec;
}

json::array hashes_json(const std::vector<merkle::Hash>& hashes) {
  json::array a;
  for (const auto& h : hashes) a.emplace_back(to_base64(h));
  return a;
}

json::object entry_json(const LogEntry& e) {
  json::object o;
  o["index"] = e.index;
  o["leaf"] = to_base64(as_bytes(e.leaf));
  try {
    for (const auto& [k, v] : CustodyEvent::decode(e.leaf).to_json()) {
      if (k != "index" && k != "leaf") o[k] = v;
    }
  } catch (const Error&) {
    o["undecodable"] = true;
  }
  return o;
}

json::object record_json(Index& index, const EvidenceRecord& rec) {
  json::object o = rec.to_json();
  json::array cases;
  for (auto& c : index.cases_of(rec.id)) cases.emplace_back(c);
  o["cases"] = std::move(cases);
  if (auto media = index.get_derived("media", rec.id)) {
    boost::system::error_code ec;
    auto v = json::parse(*media, ec);
    if (!ec) o["media"] = std::move(v);
  }
  if (has_legal_hold(index, rec.id)) o["legal_hold"] = true;
  add_lifecycle_json(index, rec, o);
  return o;
}

IngestMeta validate_meta(const std::function<std::optional<std::string>(std::string_view)>& get) {
  auto bad = [](const std::string& field, const std::string& why) {
    return HttpError{http::status::bad_request, "invalid_metadata", field + ": " + why};
  };
  IngestMeta m;
  auto officer = get("officer");
  if (!officer) throw bad("officer", "required");
  if (auto p = name_problem("officer", *officer); !p.empty()) throw bad("officer", p);
  m.officer = *officer;
  auto device = get("device");
  if (!device) throw bad("device", "required");
  if (auto p = name_problem("device", *device); !p.empty()) throw bad("device", p);
  m.device = *device;
  if (auto c = get("case")) {
    if (auto p = case_number_problem(*c); !p.empty()) throw bad("case", p);
    m.case_number = *c;
  }
  if (auto t = get("recorded_at")) {
    const auto at = parse_rfc3339(*t);
    if (!at) throw bad("recorded_at", "not an RFC 3339 date-time: " + *t);
    // An offset can carry a year-0000 or year-9999 claim out of four-digit years in
    // UTC, where no RFC 3339 time (nor a timeline) can show it.
    if (!timeline::in_range(to_unix_us(*at))) {
      throw bad("recorded_at", "outside the years 0001 to 9999 in UTC: " + *t);
    }
    m.recorded_at = *t;
  }
  if (auto f = get("filename")) {
    if (auto p = name_problem("filename", *f); !p.empty()) throw bad("filename", p);
    m.filename = *f;
  }
  if (auto h = get("sha256")) {
    m.sha256 = ContentId::from_hex(*h);
    if (!m.sha256 || h->size() != 64) throw bad("sha256", "not 64 hex digits");
  }
  if (auto c = get("category")) {  // whether it is stored: check_upload_category (lifecycle.h)
    if (auto p = retention_name_problem(*c); !p.empty()) throw bad("category", p);
    m.category = *c;
  }
  return m;
}

void check_case_number(std::string_view case_number) {
  if (auto p = case_number_problem(case_number); !p.empty()) {
    throw HttpError{http::status::bad_request, "invalid_case", p};
  }
}

void check_uploader(const AuthUser& who, const IngestMeta& meta) {
  if (who.role == Role::officer && meta.officer != who.name) {
    throw HttpError{http::status::forbidden, "officer_mismatch",
                    "an officer uploads in their own name (officer=" + who.name +
                        "); a docking station (role station) uploads for others"};
  }
}

}  // namespace evidence::ingest
