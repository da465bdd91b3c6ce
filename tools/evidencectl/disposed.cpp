#include "tools/evidencectl/disposed.h"

#include <boost/json.hpp>

#include "tools/evidencectl/local_files.h"

namespace evidencectl {
namespace json = boost::json;

namespace {

std::string text(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

}  // namespace

json::object DisposedItem::to_json() const {
  json::object o{{"id", id},
                 {"at", at},
                 {"disposition", disposition},
                 {"requested_by", requested_by},
                 {"approved_by", approved_by},
                 {"reason", reason}};
  if (dispose_entry) o["dispose_entry"] = *dispose_entry; else o["dispose_entry"] = nullptr;
  if (approve_entry) o["approve_entry"] = *approve_entry; else o["approve_entry"] = nullptr;
  return o;
}

std::string DisposedItem::describe() const {
  std::string s = id + " was disposed of on " + at + " by disposition " + disposition + ", requested by " +
                  requested_by + " and approved by " + approved_by;
  if (approve_entry && dispose_entry) {
    s += " (log entries: approval " + std::to_string(*approve_entry) + ", dispose " + std::to_string(*dispose_entry) + ")";
  } else if (dispose_entry) {
    s += " (log entry " + std::to_string(*dispose_entry) + ")";
  }
  if (!reason.empty()) s += "; reason: " + reason;
  // Not proven here: the record and the entry numbers are the server's word. An auditor
  // checks the dispose and approve entries against a signed checkpoint (docs/lifecycle.md).
  s += " [as the server reports it; the log's entries prove it: docs/lifecycle.md]";
  return s;
}

std::optional<DisposedItem> fetch_disposed(Http& http, const std::string& evidence_id) {
  const auto rec = http.get_json("/api/v1/evidence/" + encode_segment(evidence_id));
  if (!rec.is_object()) cannot_run("the server's record of " + evidence_id + " is not a JSON object");
  const auto* block = rec.as_object().if_contains("disposed");
  if (!block || !block->is_object()) return std::nullopt;
  const auto& b = block->as_object();
  DisposedItem d{evidence_id, text(b, "at"), text(b, "disposition"), text(b, "requested_by"),
                 text(b, "approved_by"), text(b, "reason"), std::nullopt, std::nullopt};
  try {
    const auto custody = http.get_json("/api/v1/evidence/" + encode_segment(evidence_id) + "/custody");
    if (const auto* entries = custody.as_object().if_contains("entries"); entries && entries->is_array()) {
      for (const auto& e : entries->as_array()) {
        const auto& o = e.as_object();
        if (text(o, "action") == "dispose" && o.contains("index") && o.at("index").is_number())
          d.dispose_entry = o.at("index").to_number<std::uint64_t>();
      }
    }
  } catch (const std::exception&) {
    // The record already says it is disposed; the entry index is a convenience.
  }
  if (!d.dispose_entry || d.disposition.empty()) return d;
  Request req;  // admins and auditors only: a 403 just leaves the approval's index out
  req.target = "/api/v1/dispositions/" + encode_segment(d.disposition);
  req.headers = {{"Accept", "application/json"}};
  try {
    const Response r = http.send(req);
    if (r.status != 200) return d;
    const auto disp = r.json();
    const auto& items = disp.as_object().at("items").as_array();
    for (std::size_t pos = 0; pos < items.size(); ++pos) {
      if (!items[pos].is_string() || items[pos].as_string() != evidence_id) continue;
      if (*d.dispose_entry > pos) d.approve_entry = *d.dispose_entry - pos - 1;
    }
  } catch (const std::exception&) {
    // As above: a convenience.
  }
  return d;
}

std::optional<DisposedItem> receipt_item_disposed(const Globals& g, const json::object& receipt, bool needed) {
  if (g.server.empty()) return std::nullopt;
  const std::string id = text(receipt, "evidence_id");
  if (id.empty()) return std::nullopt;
  try {
    Http http(g);
    return fetch_disposed(http, id);
  } catch (const Failure& e) {
    if (needed) throw;
    warn(std::string("note: could not ask the server for the item's state: ") + e.what());
    return std::nullopt;
  }
}

void excuse_missing_content(evidence::ReceiptCheck& check, const DisposedItem& d) {
  for (auto& i : check.items) {
    if (i.name != "content") continue;
    i.ok = true;
    i.detail = "not checked: the item was disposed of on " + d.at + " (its content is gone)";
  }
}

}  // namespace evidencectl
