// Helpers shared by the route handlers: metadata validation, custody events, the
// commit of a new item and its receipt.
#include <boost/json/parse.hpp>

#include "ingest/api_hold.h"
#include "ingest/logging.h"
#include "ingest/media_jobs.h"
#include "ingest/service.h"
#include "ingest/tsa_client.h"
#include "base/error.h"
#include "store/ids.h"
#include "base/timefmt.h"

namespace evidence::ingest {

CustodyEvent custody_event(const AuthUser& who, std::string action) {
  CustodyEvent ev;
  ev.time = format_rfc3339(now_us());
  ev.actor = who.name;
  ev.role = role_name(who.role);
  ev.action = std::move(action);
  return ev;
}

Task<EvidenceRecord> readable_record(Service& s, const Request& req, const std::string& id) {
  if (!is_evidence_id(id)) throw HttpError{http::status::not_found, "not_found", "no evidence " + id};
  auto rec = co_await blocking(s.workers(), [&s, &id] { return s.index().get_evidence(id); });
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

json::object record_json(Service& s, const EvidenceRecord& rec) {
  json::object o = rec.to_json();
  json::array cases;
  for (auto& c : s.index().cases_of(rec.id)) cases.emplace_back(c);
  o["cases"] = std::move(cases);
  if (auto media = s.index().get_derived("media", rec.id)) {
    boost::system::error_code ec;
    auto v = json::parse(*media, ec);
    if (!ec) o["media"] = std::move(v);
  }
  if (has_legal_hold(s.index(), rec.id)) o["legal_hold"] = true;
  return o;
}

json::object build_receipt(Service& s, const EvidenceRecord& rec) {
  auto& index = s.index();
  const StoredCheckpoint cp = s.checkpointer().ensure(rec.log_index + 1);
  const auto entry = index.log_entry(rec.log_index);
  if (!entry) throw Error(Errc::corrupt, "ingest entry " + std::to_string(rec.log_index) + " is missing");
  const auto token = index.timestamp_token(rec.id);
  json::object r;
  r["evidence_id"] = rec.id;
  r["sha256"] = rec.sha256.hex();
  r["size"] = rec.size;
  json::array cases;
  for (const auto& c : rec.cases) cases.emplace_back(c);
  r["cases"] = std::move(cases);
  r["officer"] = rec.officer;
  r["device"] = rec.device;
  r["recorded_at"] = rec.recorded_at;
  r["received_at"] = rec.received_at;
  r["filename"] = rec.filename;
  r["timestamp_token"] = token ? to_base64(*token) : std::string();
  r["log_index"] = rec.log_index;
  r["log_entry"] = to_base64(as_bytes(entry->leaf));
  if (const auto bytes = index.evidence_bytes(rec.id)) r["record"] = to_base64(*bytes);
  r["checkpoint"] = cp.note;
  r["inclusion_proof"] = json::object{{"index", rec.log_index},
                                      {"size", cp.size},
                                      {"hashes", hashes_json(index.inclusion_proof(rec.log_index, cp.size))}};
  r["log_key"] = s.log_key();
  r["tsa_ca_pem"] = s.tsa_ca_pem();
  return r;
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
    if (!parse_rfc3339(*t)) throw bad("recorded_at", "not an RFC 3339 date-time: " + *t);
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
  return m;
}

Task<Bytes> stamp_for_ingest(Service& s, const ContentId& id) {
  try {
    co_return co_await blocking(s.workers(), [&s, &id] { return s.stamper().stamp(id); });
  } catch (const Error& e) {
    if (e.code() == Errc::crypto && std::string_view(e.what()).starts_with(HttpTimeStamper::kTokenInvalid)) {
      throw HttpError{http::status::service_unavailable, "tsa_invalid", e.what()};
    }
    throw;
  }
}

void check_uploader(const AuthUser& who, const IngestMeta& meta) {
  if (who.role == Role::officer && meta.officer != who.name) {
    throw HttpError{http::status::forbidden, "officer_mismatch",
                    "an officer uploads in their own name (officer=" + who.name +
                        "); a docking station (role station) uploads for others"};
  }
}

Task<json::object> commit_ingest(Service& s, const AuthUser& who, const IngestMeta& meta, const BlobInfo& blob,
                                 const UploadSession* upload) {
  const Bytes token = co_await stamp_for_ingest(s, blob.id);
  const std::optional<User> officer = co_await blocking(s.workers(), [&s, &meta] { return s.index().user_by_name(meta.officer); });
  NewEvidence item;
  item.record.id = new_evidence_id();
  item.record.sha256 = blob.id;
  item.record.size = blob.size;
  if (meta.case_number) item.record.cases.push_back(*meta.case_number);
  item.record.officer = meta.officer;
  item.record.device = meta.device;
  item.record.received_at = format_rfc3339(now_us());
  item.record.recorded_at = meta.recorded_at.empty() ? item.record.received_at : meta.recorded_at;
  item.record.filename = meta.filename;
  item.record.uploaded_by = who.name;
  item.record.blob_version = blob.version;
  // Evidence is never refused for a lapsed certificate (持证上岗), but a reviewer sees it.
  if (officer && officer->role == Role::officer && officer->certificate_expired_at(item.record.received_at)) {
    item.record.flags.push_back("certificate_expired");
  }
  item.timestamp_token = token;
  item.event = custody_event(who, "ingest");
  item.event.case_number = meta.case_number;
  if (upload) item.completes_upload = *upload;
  const Committed done = co_await blocking(s.workers(), [&s, &item] { return s.group_commit().commit(std::move(item)); });
  s.metrics().upload_committed(done.record.size);
  enqueue_media(s, done.record.id);  // probe, poster frame, segments: off this thread, never awaited
  log_line("info", "evidence_committed",
           {{"id", done.record.id}, {"sha256", done.record.sha256.hex()}, {"size", std::to_string(done.record.size)},
            {"by", who.name}, {"log_index", std::to_string(done.log_index)}});
  EvidenceRecord rec = done.record;
  rec.log_index = done.log_index;
  // Lambdas given to blocking() capture by reference only: GCC 12 mishandles the
  // destruction of non-trivial temporaries inside co_await expressions.
  co_return co_await blocking(s.workers(), [&s, &rec] { return build_receipt(s, rec); });
}

}  // namespace evidence::ingest
