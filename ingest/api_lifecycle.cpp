// Lifecycle routes (DESIGN.md, "Lifecycle: retention, disposition, deadlines"):
//   GET  /retention/categories                 any role
//   PUT  /retention/categories/{name}          admin: {"days": N} | {"permanent": true}
//   PUT  /evidence/{id}/retention              reviewer, admin: {"category": NAME}
//   GET  /retention/due?limit=&cursor=         admin, auditor
//   POST /dispositions                         admin: {"items": [ID...], "reason"}
//   GET  /dispositions?limit=&cursor=, /dispositions/{id}   admin, auditor
//   POST /dispositions/{id}/approve, /reject   admin (approve: not the requester)
//   GET  /reports/late?from=&to=&limit=        admin, auditor
// Every change is a custody entry (`retention`, `dispose_request`, `dispose_approve`,
// `dispose_reject`, `dispose`); the store writes the disposal ones (store/disposal.h).
#include <boost/json/serialize.hpp>
#include <cstdlib>
#include <functional>
#include <set>
#include <string>

#include "base/error.h"
#include "base/timefmt.h"
#include "ingest/api_common.h"
#include "ingest/api_hold.h"
#include "ingest/lifecycle.h"
#include "store/disposal.h"
#include "store/ids.h"
#include "store/retention.h"

namespace evidence::ingest {
namespace {

// Test-only (EVIDENCE_FAULT=dispose_before_commit or dispose_after_commit): the process
// dies just before a disposition's commit, or between it and the blob deletions, as a
// SIGKILL there would (tests/ingest/test_lifecycle_crash.cpp).
const std::string& dispose_fault() {
  static const std::string fault = [] {
    const char* f = std::getenv("EVIDENCE_FAULT");
    return std::string(f ? f : "");
  }();
  return fault;
}

const std::vector<Role> kOverseers{Role::admin, Role::auditor};

HttpError bad(const std::string& code, const std::string& why) { return {http::status::bad_request, code, why}; }

json::object category_json(const RetentionCategory& c) {
  json::object o{{"name", c.name}, {"permanent", c.permanent()}};
  o["days"] = c.days ? json::value(*c.days) : json::value(nullptr);
  return o;
}

json::object disposition_json(const Disposition& d) {
  json::array items;
  for (const auto& id : d.items) items.emplace_back(id);
  json::object o{{"id", d.id},
                 {"state", disposition_state_name(d.state)},
                 {"reason", d.reason},
                 {"requested_by", d.requested_by},
                 {"requested_at", d.requested_at}};
  o["items"] = std::move(items);
  if (!d.decided_by.empty()) o["decided_by"] = d.decided_by;
  if (!d.decided_at.empty()) o["decided_at"] = d.decided_at;
  return o;
}

std::size_t limit_param(const Request& req, std::size_t def, std::size_t max) {
  const auto v = req.query("limit");
  if (!v) return def;
  std::size_t n = 0;
  if (v->empty() || v->size() > 6) throw bad("invalid_argument", "limit: a number from 1 to " + std::to_string(max));
  for (char c : *v) {
    if (c < '0' || c > '9') throw bad("invalid_argument", "limit: a number from 1 to " + std::to_string(max));
    n = n * 10 + static_cast<std::size_t>(c - '0');
  }
  if (n == 0) throw bad("invalid_argument", "limit must be at least 1");
  return std::min(n, max);
}

// The store's page position, sealed for the caller like search cursors (cursor.h).
std::string open_cursor(const CursorSealer& cursors, const Request& req) {
  const auto c = req.query("cursor");
  if (!c || c->empty()) return {};
  auto opened = cursors.open(*c, req.who().name);
  if (!opened) throw bad("invalid_cursor", "the cursor is not one this server gave you (or it has restarted)");
  return *opened;
}
json::value seal_next(const CursorSealer& cursors, const Request& req, const std::string& next) {
  return next.empty() ? json::value(nullptr) : json::value(cursors.seal(next, req.who().name));
}

// Text a person wrote for the log: 1 to 1024 characters, no control characters.
std::string reason_of(const json::object& body, bool required) {
  const auto* r = body.if_contains("reason");
  if (!r) {
    if (required) throw bad("invalid_reason", "\"reason\" is required");
    return {};
  }
  if (!r->is_string()) throw bad("invalid_reason", "\"reason\" must be a string");
  std::string s(r->as_string());
  bool wrong = s.size() > 1024 || (required && s.empty());
  for (unsigned char c : s) wrong = wrong || c < 0x20 || c == 0x7f;
  if (wrong) throw bad("invalid_reason", "reason: 1 to 1024 characters, no control characters");
  return s;
}

// The store's errors for the disposal calls; permission_denied is the four-eyes rule
// (the route checks roles before): a 403, never the default 500.
HttpError disposal_error(const Error& e) {
  if (e.code() == Errc::permission_denied) {
    const bool four = std::string_view(e.what()).find("four_eyes") != std::string_view::npos;
    return {http::status::forbidden, four ? "four_eyes" : "forbidden", e.what()};
  }
  return http_error_from(e);
}

// --- categories ------------------------------------------------------------------

Task<Response> list_categories(LifecycleApi s, Request&) {
  const auto all = co_await blocking(s.workers, [&s] { return s.index.retention_categories(); });
  json::array a;
  for (const auto& c : all) a.push_back(category_json(c));
  json::object out;
  out["categories"] = std::move(a);
  co_return Response::json(http::status::ok, out);
}

Task<Response> put_category(LifecycleApi s, Request& req) {
  const std::string name = req.params[0];
  if (auto p = retention_name_problem(name); !p.empty()) throw bad("invalid_category", p);
  const json::object body = co_await read_json_object(req);
  RetentionCategory c{name, std::nullopt};
  const auto* days = body.if_contains("days");
  const auto* permanent = body.if_contains("permanent");
  if ((days != nullptr) == (permanent != nullptr)) {
    throw bad("invalid_argument", "give either {\"days\": N} or {\"permanent\": true}");
  }
  if (permanent && !(permanent->is_bool() && permanent->as_bool())) {
    throw bad("invalid_argument", "\"permanent\" can only be true (give \"days\" for a limited category)");
  }
  if (days) {
    const bool whole = days->is_int64() || days->is_uint64();
    const std::int64_t n = days->is_int64() ? days->as_int64() : whole ? 36501 : -1;
    if (!whole || n < 0 || n > 36500) throw bad("invalid_argument", "\"days\" must be a whole number from 0 to 36500");
    if (n < static_cast<std::int64_t>(s.min_retention_days)) {
      throw bad("below_minimum", "a category keeps items at least " + std::to_string(s.min_retention_days) +
                                     " days (serve --min-retention-days)");
    }
    c.days = static_cast<std::uint32_t>(n);
    // Case links raise items to `evidence`: it stays permanent, or they would come due.
    if (name == "evidence") {
      throw HttpError{http::status::conflict, "evidence_permanent",
                      "the category evidence (items in a case) is permanent and stays so"};
    }
  }
  const std::uint64_t at = co_await blocking(s.workers, [&s, &req, &c] {
    std::lock_guard lock(category_mutex());
    CustodyEvent ev = custody_event(req.who(), "retention");
    json::object detail{{"category", c.name}};
    if (c.days) detail["days"] = *c.days; else detail["permanent"] = true;
    ev.detail = std::move(detail);
    std::uint64_t idx = 0;
    s.index.write([&](WriteTxn& t) {
      t.put_retention_category(c);
      idx = t.append(ev);
    });
    return idx;
  });
  // Items already in the category: their S3 Object Locks follow a longer retention
  // (never shortened) before the answer, so the bucket keeps them as long as the index.
  co_await blocking(s.workers, [&s, &c] { relock_category(s.index, s.blobs, c.name); });
  json::object out = category_json(c);
  out["log_index"] = at;
  co_return Response::json(http::status::ok, out);
}

// --- an item's category ------------------------------------------------------------

Task<Response> put_item_retention(LifecycleApi s, Request& req) {
  const json::object body = co_await read_json_object(req);
  const auto* c = body.if_contains("category");
  if (!c || !c->is_string()) throw bad("invalid_argument", "\"category\" is required, a category name");
  const std::string name(c->as_string());
  if (auto p = retention_name_problem(name); !p.empty()) throw bad("invalid_category", p);
  const EvidenceRecord rec = co_await readable_record(s.index, s.workers, req, req.params[0]);
  json::object out = co_await blocking(s.workers, [&s, &req, &rec, &name] {
    std::lock_guard lock(category_mutex());
    const auto category = s.index.retention_category(name);
    if (!category) throw bad("unknown_category", "no retention category named " + name);
    if (s.index.disposed(rec.id)) {
      throw HttpError{http::status::conflict, "disposed", rec.id + " has been disposed of"};
    }
    if (!category->permanent() && !s.index.cases_of(rec.id).empty()) {
      throw HttpError{http::status::conflict, "in_case",
                      rec.id + " is linked to a case: it keeps a permanent category while it is"};
    }
    const std::string from = s.index.item_category(rec.id).value_or(std::string(kDefaultCategory));
    CustodyEvent ev = custody_event(req.who(), "retention");
    ev.evidence = rec.id;
    ev.detail = json::object{{"category", name}, {"from", from}};
    std::uint64_t idx = 0;
    s.index.write([&](WriteTxn& t) {
      t.set_item_category(rec.id, name);
      idx = t.append(ev);
    });
    json::object o;
    add_lifecycle_json(s.index, rec, o);
    return json::object{{"evidence", rec.id}, {"retention", o["retention"]}, {"log_index", idx}};
  });
  // A longer category raises the object's lock too (never lowers it).
  co_await blocking(s.workers, [&s, &rec] { extend_blob_lock(s.index, s.blobs, rec); });
  co_return Response::json(http::status::ok, out);
}

// --- due items ---------------------------------------------------------------------

Task<Response> list_due(LifecycleApi s, Request& req) {
  const std::size_t limit = limit_param(req, 100, 1000);
  const std::string cursor = open_cursor(s.cursors, req);
  json::object out = co_await blocking(s.workers, [&s, &req, &cursor, limit] {
    const DuePage page = s.index.due(format_rfc3339(now_us()), limit, cursor);
    json::array items;
    for (const auto& d : page.items) {
      if (has_legal_hold(s.index, d.id)) continue;  // the page may come back shorter
      items.push_back(json::object{{"id", d.id}, {"category", d.category}, {"retain_until", d.retain_until}});
    }
    json::object o;
    o["items"] = std::move(items);
    o["next"] = seal_next(s.cursors, req, page.next);
    return o;
  });
  co_return Response::json(http::status::ok, out);
}

// --- dispositions ------------------------------------------------------------------

// Why each item may not be disposed of now (empty: all may). Blocks.
json::array refusals(const Index& index, const std::vector<std::string>& items) {
  const auto now = now_us();
  json::array out;
  for (const auto& id : items) {
    json::array why;
    const auto rec = index.get_evidence(id);
    if (!rec) throw HttpError{http::status::not_found, "not_found", "no evidence " + id};
    if (index.disposed(id)) why.emplace_back("disposed");
    if (has_legal_hold(index, id)) why.emplace_back("held");
    if (!index.cases_of(id).empty()) why.emplace_back("in_case");  // exports read its content
    const auto category = index.retention_category(index.item_category(id).value_or(std::string(kDefaultCategory)));
    if (category && category->permanent()) {
      why.emplace_back("permanent");
    } else {
      std::optional<TimePoint> until;
      try {
        if (category) {
          if (auto u = retain_until(rec->received_at, *category)) until = parse_rfc3339(*u);
        }
      } catch (const Error&) {
      }
      if (!until || *until >= now) why.emplace_back("not_due");
    }
    if (!why.empty()) out.push_back(json::object{{"id", id}, {"reasons", std::move(why)}});
  }
  return out;
}

Response refused(const json::array& items) {
  std::string names;
  for (const auto& i : items) names += (names.empty() ? "" : ", ") + std::string(i.as_object().at("id").as_string());
  json::object o{{"error", "not_disposable"}, {"message", "these items may not be disposed of: " + names}};
  o["items"] = items;
  return Response::json(http::status::conflict, o);
}

Task<Response> post_disposition(LifecycleApi s, Request& req) {
  const json::object body = co_await read_json_object(req);
  const auto* items_v = body.if_contains("items");
  if (!items_v || !items_v->is_array() || items_v->as_array().empty() || items_v->as_array().size() > 1000) {
    throw bad("invalid_argument", "\"items\" is required: 1 to 1000 evidence ids");
  }
  std::vector<std::string> items;
  std::set<std::string> seen;
  for (const auto& v : items_v->as_array()) {
    if (!v.is_string() || !is_evidence_id(v.as_string())) throw bad("invalid_argument", "\"items\" holds evidence ids");
    if (!seen.insert(std::string(v.as_string())).second) {
      throw bad("invalid_argument", "item " + std::string(v.as_string()) + " is named twice");
    }
    items.emplace_back(v.as_string());
  }
  const std::string reason = reason_of(body, true);
  Response res = co_await blocking(s.workers, [&s, &req, &items, &reason] {
    std::lock_guard holds(s.hold_mutex);
    std::lock_guard categories(category_mutex());
    const json::array no = refusals(s.index, items);
    if (!no.empty()) return refused(no);
    const Actor who{req.who().name, role_name(req.who().role)};
    try {
      const Disposition d = request_disposition(s.index, items, reason, who, format_rfc3339(now_us()));
      Response r = Response::json(http::status::created, disposition_json(d));
      r.headers.set(http::field::location, "/api/v1/dispositions/" + d.id);
      return r;
    } catch (const Error& e) {
      throw disposal_error(e);
    }
  });
  co_return res;
}

Disposition stored_disposition(const Index& index, const std::string& id) {
  auto d = is_disposition_id(id) ? index.get_disposition(id) : std::nullopt;
  if (!d) throw HttpError{http::status::not_found, "not_found", "no disposition " + id};
  return *d;
}

Task<Response> get_disposition(LifecycleApi s, Request& req) {
  const std::string& id = req.params[0];
  json::object out = co_await blocking(s.workers, [&s, &id] { return disposition_json(stored_disposition(s.index, id)); });
  co_return Response::json(http::status::ok, out);
}

Task<Response> list_dispositions(LifecycleApi s, Request& req) {
  const std::size_t limit = limit_param(req, 100, 1000);
  const std::string cursor = open_cursor(s.cursors, req);
  json::object out = co_await blocking(s.workers, [&s, &req, &cursor, limit] {
    const DispositionPage page = s.index.dispositions(limit, cursor);
    json::array items;
    for (const auto& d : page.items) items.push_back(disposition_json(d));
    json::object o;
    o["items"] = std::move(items);
    o["next"] = seal_next(s.cursors, req, page.next);
    return o;
  });
  co_return Response::json(http::status::ok, out);
}

Task<Response> approve_disposition(LifecycleApi s, Request& req) {
  const std::string& id = req.params[0];
  Response res = co_await blocking(s.workers, [&s, &req, &id] {
    // No hold, category change or new commit while it is checked and carried out.
    std::lock_guard holds(s.hold_mutex);
    std::lock_guard categories(category_mutex());
    const Disposition d = stored_disposition(s.index, id);
    if (d.state != DispositionState::pending) {
      throw HttpError{http::status::conflict, "not_pending", "disposition " + id + " is " + disposition_state_name(d.state)};
    }
    if (d.requested_by == req.who().name) {
      throw HttpError{http::status::forbidden, "four_eyes", "a disposition is approved by an admin other than its requester"};
    }
    // Still due, not held, not permanent: things may have changed since the request.
    const json::array no = refusals(s.index, d.items);
    if (!no.empty()) return refused(no);
    const Actor who{req.who().name, role_name(req.who().role)};
    ExecutedDisposition done;
    try {
      std::unique_lock gate(s.gate);
      if (dispose_fault() == "dispose_before_commit") std::_Exit(86);
      std::function<void()> between;
      if (dispose_fault() == "dispose_after_commit") between = [] { std::_Exit(86); };
      done = execute_disposition(s.index, s.blobs, id, who, format_rfc3339(now_us()), between);
    } catch (const Error& e) {
      throw disposal_error(e);
    }
    json::object o = disposition_json(done.disposition);
    json::array disposed;
    for (const auto& item : done.disposition.items) disposed.emplace_back(item);
    o["disposed"] = std::move(disposed);
    o["blobs"] = json::object{{"removed", done.blobs.removed.size()},
                              {"shared", done.blobs.shared.size()},
                              {"locked", done.blobs.locked.size()},
                              {"errors", done.blobs.errors.size()}};
    return Response::json(http::status::ok, o);
  });
  co_return res;
}

Task<Response> reject_disposition_route(LifecycleApi s, Request& req) {
  const std::string& id = req.params[0];
  json::object out = co_await blocking(s.workers, [&s, &req, &id] {
    stored_disposition(s.index, id);  // 404 before the store's message
    const Actor who{req.who().name, role_name(req.who().role)};
    try {
      return disposition_json(reject_disposition(s.index, id, who, format_rfc3339(now_us())));
    } catch (const Error& e) {
      if (e.code() == Errc::conflict) throw HttpError{http::status::conflict, "not_pending", e.what()};
      throw disposal_error(e);
    }
  });
  co_return Response::json(http::status::ok, out);
}

// --- late uploads ------------------------------------------------------------------

Task<Response> late_report(LifecycleApi s, Request& req) {
  auto time_param = [&req](std::string_view key) -> std::optional<TimePoint> {
    const auto v = req.query(key);
    if (!v) return std::nullopt;
    auto t = parse_rfc3339(*v);
    if (!t) throw bad("invalid_argument", std::string(key) + " is not RFC 3339: " + *v);
    return t;
  };
  const auto from = time_param("from");
  const auto to = time_param("to");
  const std::size_t limit = limit_param(req, 1000, 10000);
  // Cost: reads every record (late items have no index of their own).
  json::object out = co_await blocking(s.workers, [&s, &req, &from, &to, limit] {
    json::array items;
    std::vector<CustodyEvent> views;
    bool more = false;
    s.index.for_each_evidence([&](const std::string& id) {
      if (more) return;
      const auto rec = s.index.get_evidence(id);
      if (!rec || !rec->late) return;
      const auto received = parse_rfc3339(rec->received_at);
      if (!received || (from && *received < *from) || (to && *received >= *to)) return;
      if (items.size() == limit) {
        more = true;
        return;
      }
      items.push_back(record_json(s.index, *rec));
      CustodyEvent ev = custody_event(req.who(), "view");
      ev.evidence = rec->id;
      ev.detail = json::object{{"listing", "late"}};
      views.push_back(std::move(ev));
    });
    if (!views.empty()) s.index.append_events(views);
    json::object o;
    o["items"] = std::move(items);
    o["truncated"] = more;
    return o;
  });
  co_return Response::json(http::status::ok, out);
}

}  // namespace

void add_lifecycle_routes(Routes& routes, LifecycleApi api) {
  const std::vector<Role> admin{Role::admin};
  routes.push_back({http::verb::get, "/retention/categories", true, {}, 0, bind_api(api, list_categories)});
  routes.push_back({http::verb::put, "/retention/categories/{}", true, admin, 0, bind_api(api, put_category)});
  routes.push_back({http::verb::get, "/retention/due", true, kOverseers, 0, bind_api(api, list_due)});
  routes.push_back({http::verb::put, "/evidence/{}/retention", true, {Role::reviewer, Role::admin}, 0,
                    bind_api(api, put_item_retention)});
  routes.push_back({http::verb::post, "/dispositions", true, admin, 0, bind_api(api, post_disposition)});
  routes.push_back({http::verb::get, "/dispositions", true, kOverseers, 0, bind_api(api, list_dispositions)});
  routes.push_back({http::verb::get, "/dispositions/{}", true, kOverseers, 0, bind_api(api, get_disposition)});
  routes.push_back({http::verb::post, "/dispositions/{}/approve", true, admin, 0, bind_api(api, approve_disposition)});
  routes.push_back({http::verb::post, "/dispositions/{}/reject", true, admin, 0, bind_api(api, reject_disposition_route)});
  routes.push_back({http::verb::get, "/reports/late", true, kOverseers, 0, bind_api(api, late_report)});
}

}  // namespace evidence::ingest
