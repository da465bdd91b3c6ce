#include "store/records.h"

#include <boost/json.hpp>

#include "base/error.h"
#include "store/format.h"
#include "base/timefmt.h"

namespace evidence {

namespace json = boost::json;

namespace {

Bytes versioned(std::uint8_t version, const json::object& o) {
  std::string text = json::serialize(o);
  Bytes out;
  out.reserve(text.size() + 1);
  out.push_back(version);
  out.insert(out.end(), text.begin(), text.end());
  return out;
}

json::object unversioned(std::span<const std::uint8_t> bytes, std::uint8_t version, const char* what) {
  if (bytes.empty() || bytes[0] != version)
    throw Error(Errc::corrupt, std::string(what) + ": unknown encoding version");
  boost::system::error_code ec;
  auto v = json::parse(as_chars(bytes.subspan(1)), ec);
  if (ec || !v.is_object()) throw Error(Errc::corrupt, std::string(what) + ": not a JSON object");
  return std::move(v.as_object());
}

std::string str(const json::object& o, const char* key, const char* what) {
  auto* v = o.if_contains(key);
  if (!v || !v->is_string()) throw Error(Errc::corrupt, std::string(what) + ": missing " + key);
  return std::string(v->as_string());
}

std::uint64_t u64(const json::object& o, const char* key, const char* what) {
  auto* v = o.if_contains(key);
  if (!v) throw Error(Errc::corrupt, std::string(what) + ": missing " + key);
  if (v->is_uint64()) return v->as_uint64();
  if (v->is_int64() && v->as_int64() >= 0) return static_cast<std::uint64_t>(v->as_int64());
  throw Error(Errc::corrupt, std::string(what) + ": " + key + " is not a count");
}

std::optional<std::string> opt_str(const json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  if (!v || !v->is_string()) return std::nullopt;
  return std::string(v->as_string());
}

json::array string_array(const std::vector<std::string>& v) {
  json::array a;
  for (auto& s : v) a.emplace_back(s);
  return a;
}

}  // namespace

// --- EvidenceRecord ---------------------------------------------------------------

json::object EvidenceRecord::to_json() const {
  json::object o;
  o["id"] = id;
  o["sha256"] = sha256.hex();
  o["size"] = size;
  o["cases"] = string_array(cases);
  o["officer"] = officer;
  o["device"] = device;
  o["recorded_at"] = recorded_at;
  o["received_at"] = received_at;
  o["filename"] = filename;
  o["uploaded_by"] = uploaded_by;
  o["log_index"] = log_index;
  if (!blob_version.empty()) o["blob_version"] = blob_version;
  if (!flags.empty()) o["flags"] = string_array(flags);
  if (!category.empty()) o["category"] = category;
  if (late) o["late"] = true;
  return o;
}

Bytes EvidenceRecord::encode() const {
  json::object o = to_json();
  o["blob_version"] = blob_version;  // always present in the stored form
  return versioned(format::kRecordV1, o);
}

EvidenceRecord EvidenceRecord::decode(std::span<const std::uint8_t> bytes) {
  const char* what = "evidence record";
  auto o = unversioned(bytes, format::kRecordV1, what);
  EvidenceRecord r;
  r.id = str(o, "id", what);
  auto id = ContentId::from_hex(str(o, "sha256", what));
  if (!id) throw Error(Errc::corrupt, "evidence record: bad sha256");
  r.sha256 = *id;
  r.size = u64(o, "size", what);
  if (auto* c = o.if_contains("cases"); c && c->is_array()) {
    for (auto& v : c->as_array())
      if (v.is_string()) r.cases.emplace_back(v.as_string());
  }
  r.officer = str(o, "officer", what);
  r.device = str(o, "device", what);
  r.recorded_at = str(o, "recorded_at", what);
  r.received_at = str(o, "received_at", what);
  r.filename = opt_str(o, "filename").value_or("");
  r.uploaded_by = opt_str(o, "uploaded_by").value_or("");
  r.log_index = u64(o, "log_index", what);
  r.blob_version = opt_str(o, "blob_version").value_or("");
  if (auto* f = o.if_contains("flags"); f && f->is_array()) {
    for (auto& v : f->as_array())
      if (v.is_string()) r.flags.emplace_back(v.as_string());
  }
  r.category = opt_str(o, "category").value_or("");
  if (auto* l = o.if_contains("late"); l && l->is_bool()) r.late = l->as_bool();
  return r;
}

// --- CustodyEvent -----------------------------------------------------------------

json::object CustodyEvent::to_json() const {
  json::object o;
  o["time"] = time;
  o["actor"] = actor;
  o["role"] = role;
  o["action"] = action;
  if (evidence) o["evidence"] = *evidence;
  if (case_number) o["case"] = *case_number;
  if (record_hash) o["record_hash"] = *record_hash;
  if (sha256) o["sha256"] = *sha256;
  if (size) o["size"] = *size;
  if (prev) o["prev"] = *prev;
  if (case_prev) o["case_prev"] = *case_prev;
  if (detail) o["detail"] = *detail;
  return o;
}

std::string CustodyEvent::encode() const { return json::serialize(to_json()); }

CustodyEvent CustodyEvent::decode(std::string_view leaf) {
  boost::system::error_code ec;
  auto v = json::parse(leaf, ec);
  if (ec || !v.is_object()) throw Error(Errc::corrupt, "custody entry: not a JSON object");
  auto& o = v.as_object();
  const char* what = "custody entry";
  CustodyEvent e;
  e.time = str(o, "time", what);
  e.actor = str(o, "actor", what);
  e.role = str(o, "role", what);
  e.action = str(o, "action", what);
  e.evidence = opt_str(o, "evidence");
  e.case_number = opt_str(o, "case");
  e.record_hash = opt_str(o, "record_hash");
  e.sha256 = opt_str(o, "sha256");
  if (auto* z = o.if_contains("size")) {
    if (!z->is_uint64() && !(z->is_int64() && z->as_int64() >= 0)) throw Error(Errc::corrupt, "custody entry: bad size");
    e.size = z->to_number<std::uint64_t>();
  }
  auto index_field = [&](const char* key) -> std::optional<std::uint64_t> {
    auto* z = o.if_contains(key);
    if (!z) return std::nullopt;
    if (!z->is_uint64() && !(z->is_int64() && z->as_int64() >= 0))
      throw Error(Errc::corrupt, std::string("custody entry: bad ") + key);
    return z->to_number<std::uint64_t>();
  };
  e.prev = index_field("prev");
  e.case_prev = index_field("case_prev");
  if (auto* d = o.if_contains("detail"); d && d->is_object()) e.detail = d->as_object();
  return e;
}

// --- Users ------------------------------------------------------------------------

const char* role_name(Role r) {
  switch (r) {
    case Role::officer: return "officer";
    case Role::reviewer: return "reviewer";
    case Role::auditor: return "auditor";
    case Role::admin: return "admin";
    case Role::station: return "station";
  }
  return "officer";
}

std::optional<Role> parse_role(std::string_view s) {
  if (s == "officer") return Role::officer;
  if (s == "reviewer") return Role::reviewer;
  if (s == "auditor") return Role::auditor;
  if (s == "admin") return Role::admin;
  if (s == "station") return Role::station;
  return std::nullopt;
}

json::object User::to_json() const {
  json::object o;
  o["name"] = name;
  o["role"] = role_name(role);
  o["created_at"] = created_at;
  o["disabled"] = disabled;
  o["last_seen"] = last_seen.empty() ? json::value(nullptr) : json::value(last_seen);
  o["badge"] = badge;
  o["unit"] = unit;
  if (certificate) {
    o["certificate"] = json::object{{"number", certificate->number}, {"valid_until", certificate->valid_until}};
  } else {
    o["certificate"] = nullptr;
  }
  return o;
}

bool User::certificate_expired_at(std::string_view at) const {
  if (!certificate || certificate->valid_until.empty()) return false;
  const auto until = parse_rfc3339(certificate->valid_until);
  const auto when = parse_rfc3339(at);
  return until && when && *until < *when;
}

// The fields added in the second milestone are written only when set, so a user
// record made by an older store keeps its exact bytes until it is changed.
Bytes User::encode() const {
  json::object o;
  o["name"] = name;
  o["role"] = role_name(role);
  o["created_at"] = created_at;
  if (disabled) o["disabled"] = true;
  if (!badge.empty()) o["badge"] = badge;
  if (!unit.empty()) o["unit"] = unit;
  if (certificate) o["certificate"] = json::object{{"number", certificate->number}, {"valid_until", certificate->valid_until}};
  if (!last_seen.empty()) o["last_seen"] = last_seen;
  return versioned(format::kUserV1, o);
}

User User::decode(std::span<const std::uint8_t> bytes) {
  const char* what = "user";
  auto o = unversioned(bytes, format::kUserV1, what);
  User u;
  u.name = str(o, "name", what);
  auto role = parse_role(str(o, "role", what));
  if (!role) throw Error(Errc::corrupt, "user: unknown role");
  u.role = *role;
  u.created_at = opt_str(o, "created_at").value_or("");
  if (auto* d = o.if_contains("disabled"); d && d->is_bool()) u.disabled = d->as_bool();
  u.badge = opt_str(o, "badge").value_or("");
  u.unit = opt_str(o, "unit").value_or("");
  if (auto* c = o.if_contains("certificate"); c && c->is_object()) {
    u.certificate = Certificate{opt_str(c->as_object(), "number").value_or(""),
                                opt_str(c->as_object(), "valid_until").value_or("")};
  }
  u.last_seen = opt_str(o, "last_seen").value_or("");
  return u;
}

// --- UploadSession ----------------------------------------------------------------

Bytes UploadSession::encode() const {
  json::object o;
  o["id"] = id;
  o["length"] = length;
  o["offset"] = offset;
  o["metadata"] = metadata;
  o["created_at"] = created_at;
  o["expires_at"] = expires_at;
  o["owner"] = owner;
  o["owner_role"] = owner_role;
  return versioned(format::kUploadV1, o);
}

UploadSession UploadSession::decode(std::span<const std::uint8_t> bytes) {
  const char* what = "upload session";
  auto o = unversioned(bytes, format::kUploadV1, what);
  UploadSession s;
  s.id = str(o, "id", what);
  s.length = u64(o, "length", what);
  s.offset = u64(o, "offset", what);
  if (auto* m = o.if_contains("metadata"); m && m->is_object()) s.metadata = m->as_object();
  s.created_at = opt_str(o, "created_at").value_or("");
  s.expires_at = opt_str(o, "expires_at").value_or("");
  s.owner = opt_str(o, "owner").value_or("");
  s.owner_role = opt_str(o, "owner_role").value_or("");
  return s;
}

}  // namespace evidence
