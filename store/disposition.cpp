#include "store/disposition.h"

#include <boost/json.hpp>

#include "base/error.h"
#include "store/format.h"
#include "store/ids.h"

namespace evidence {

namespace json = boost::json;

namespace {

Bytes versioned(const json::object& o) {
  std::string text = json::serialize(o);
  Bytes out;
  out.reserve(text.size() + 1);
  out.push_back(format::kLifecycleV1);
  out.insert(out.end(), text.begin(), text.end());
  return out;
}

json::object unversioned(std::span<const std::uint8_t> bytes, const char* what) {
  if (bytes.empty() || bytes[0] != format::kLifecycleV1)
    throw Error(Errc::corrupt, std::string(what) + ": unknown encoding version");
  boost::system::error_code ec;
  auto v = json::parse(as_chars(bytes.subspan(1)), ec);
  if (ec || !v.is_object()) throw Error(Errc::corrupt, std::string(what) + ": not a JSON object");
  return std::move(v.as_object());
}

std::string str(const json::object& o, const char* key, const char* what, bool required = true) {
  auto* v = o.if_contains(key);
  if (v && v->is_string()) return std::string(v->as_string());
  if (required) throw Error(Errc::corrupt, std::string(what) + ": missing " + key);
  return {};
}

}  // namespace

Bytes Disposed::encode() const {
  json::object o;
  o["at"] = at;
  o["disposition"] = disposition;
  o["requested_by"] = requested_by;
  o["approved_by"] = approved_by;
  o["reason"] = reason;
  return versioned(o);
}

Disposed Disposed::decode(std::span<const std::uint8_t> bytes) {
  const char* what = "tombstone";
  auto o = unversioned(bytes, what);
  return Disposed{str(o, "at", what), str(o, "disposition", what), str(o, "requested_by", what),
                  str(o, "approved_by", what), str(o, "reason", what)};
}

const char* disposition_state_name(DispositionState s) {
  switch (s) {
    case DispositionState::pending: return "pending";
    case DispositionState::done: return "done";
    case DispositionState::rejected: return "rejected";
  }
  return "pending";
}

std::optional<DispositionState> parse_disposition_state(std::string_view s) {
  if (s == "pending") return DispositionState::pending;
  if (s == "done") return DispositionState::done;
  if (s == "rejected") return DispositionState::rejected;
  return std::nullopt;
}

Bytes Disposition::encode() const {
  json::object o;
  o["id"] = id;
  o["state"] = disposition_state_name(state);
  json::array a;
  for (const auto& i : items) a.emplace_back(i);
  o["items"] = std::move(a);
  o["reason"] = reason;
  o["requested_by"] = requested_by;
  o["requested_at"] = requested_at;
  if (!decided_by.empty()) o["decided_by"] = decided_by;
  if (!decided_at.empty()) o["decided_at"] = decided_at;
  return versioned(o);
}

Disposition Disposition::decode(std::span<const std::uint8_t> bytes) {
  const char* what = "disposition";
  auto o = unversioned(bytes, what);
  Disposition d;
  d.id = str(o, "id", what);
  auto state = parse_disposition_state(str(o, "state", what));
  if (!state) throw Error(Errc::corrupt, "disposition " + d.id + ": unknown state");
  d.state = *state;
  const auto* items = o.if_contains("items");
  if (!items || !items->is_array()) throw Error(Errc::corrupt, "disposition " + d.id + ": missing items");
  for (const auto& v : items->as_array()) {
    if (!v.is_string()) throw Error(Errc::corrupt, "disposition " + d.id + ": an item is not an id");
    d.items.emplace_back(v.as_string());
  }
  d.reason = str(o, "reason", what);
  d.requested_by = str(o, "requested_by", what);
  d.requested_at = str(o, "requested_at", what);
  d.decided_by = str(o, "decided_by", what, false);
  d.decided_at = str(o, "decided_at", what, false);
  return d;
}

std::string new_disposition_id() { return new_evidence_id(); }
bool is_disposition_id(std::string_view s) { return is_evidence_id(s); }

}  // namespace evidence
