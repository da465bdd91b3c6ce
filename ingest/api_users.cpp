// People (admin): create, list, change (disable, role, badge, unit, certificate) and
// issue a new token. Every change is a custody entry with action `user`, so who gave
// whom which powers, and when, is in the same log an outsider checks. Tokens are
// shown once and stored only as their SHA-256.
#include "ingest/instance.h"
#include "ingest/api.h"
#include "ingest/api_common.h"
#include "base/error.h"
#include "store/ids.h"
#include "base/timefmt.h"

namespace evidence::ingest {
namespace {

HttpError bad(std::string message) { return {http::status::bad_request, "invalid_argument", std::move(message)}; }

Role role_of(const json::value& v) {
  if (!v.is_string()) throw bad("role must be a string");
  auto r = parse_role(std::string(v.as_string()));
  if (!r) throw bad("role must be officer, reviewer, auditor or admin");
  return *r;
}

std::string text_field(const json::value& v, const char* what) {
  if (!v.is_string()) throw bad(std::string(what) + " must be a string");
  std::string s(v.as_string());
  if (!s.empty()) {
    if (auto p = name_problem(what, s); !p.empty()) throw bad(p);
  }
  return s;
}

// {"number": TEXT, "valid_until": RFC 3339} or null (no certificate).
std::optional<Certificate> certificate_of(const json::value& v) {
  if (v.is_null()) return std::nullopt;
  if (!v.is_object()) throw bad("certificate must be an object {number, valid_until} or null");
  const auto& o = v.as_object();
  Certificate c;
  const auto* number = o.if_contains("number");
  const auto* until = o.if_contains("valid_until");
  if (!number || !until) throw bad("certificate needs number and valid_until");
  c.number = text_field(*number, "certificate number");
  if (!until->is_string() || !parse_rfc3339(until->as_string())) {
    throw bad("certificate valid_until must be an RFC 3339 date-time");
  }
  c.valid_until = std::string(until->as_string());
  return c;
}

// The profile fields a create or a change may carry; the names applied are added to
// `changed` (what the custody entry records).
void apply_profile(const json::object& body, User& u, json::object& changed) {
  for (const auto& [key, value] : body) {
    if (key == "role") {
      u.role = role_of(value);
      changed["role"] = role_name(u.role);
    } else if (key == "disabled") {
      if (!value.is_bool()) throw bad("disabled must be true or false");
      u.disabled = value.as_bool();
      changed["disabled"] = u.disabled;
    } else if (key == "badge") {
      u.badge = text_field(value, "badge");
      changed["badge"] = u.badge;
    } else if (key == "unit") {
      u.unit = text_field(value, "unit");
      changed["unit"] = u.unit;
    } else if (key == "certificate") {
      u.certificate = certificate_of(value);
      changed["certificate"] = value;
    } else if (key != "name") {
      throw bad("unknown field " + std::string(key) + " (name, role, disabled, badge, unit, certificate)");
    }
  }
}

CustodyEvent user_event(const AuthUser& who, const std::string& name, std::string op, json::object changed) {
  CustodyEvent ev = custody_event(who, "user");
  json::object detail{{"user", name}, {"op", std::move(op)}};
  if (!changed.empty()) detail["changes"] = std::move(changed);
  ev.detail = std::move(detail);
  return ev;
}

json::object user_json(UsersApi svc, const User& u) {
  json::object o = u.to_json();
  // The sweeper writes last_seen now and then; the latest is in memory.
  if (auto seen = svc.last_seen.get(u.name); seen && *seen > u.last_seen) o["last_seen"] = *seen;
  return o;
}

std::string user_name_param(const Request& req) {
  const std::string& name = req.params.at(0);
  if (auto p = name_problem("name", name); !p.empty()) throw HttpError{http::status::not_found, "not_found", "no user " + name};
  return name;
}

}  // namespace

void add_user_routes(Routes& routes, UsersApi api) {
  // Who holds this token (the console shows it; nothing secret).
  routes.push_back({http::verb::get, "/whoami", true, {}, 0, bind_api(api, [](UsersApi, Request& req) -> Task<Response> {
                 co_return Response::json(http::status::ok,
                                          json::object{{"name", req.who().name}, {"role", role_name(req.who().role)}});
               })});

  routes.push_back({http::verb::post, "/users", true, {Role::admin}, 0, bind_api(api, [](UsersApi svc, Request& req) -> Task<Response> {
                 json::object body = co_await read_json_object(req);
                 const auto* name = body.if_contains("name");
                 if (!name || !name->is_string() || !body.if_contains("role")) {
                   throw bad("name and role are required strings");
                 }
                 User u;
                 u.name = std::string(name->as_string());
                 if (auto p = user_name_problem(u.name); !p.empty()) throw bad(p);
                 json::object changed;
                 apply_profile(body, u, changed);
                 u.created_at = format_rfc3339(now_us());
                 const std::string token = new_token();
                 const CustodyEvent ev = user_event(req.who(), u.name, "create", changed);
                 co_await blocking(svc.workers,
                                   [&svc, &u, &token, &ev] { svc.index.put_user(u, Sha256::of(token), &ev); });
                 json::object out = user_json(svc, u);
                 out["token"] = token;
                 co_return Response::json(http::status::created, out);
               })});

  routes.push_back({http::verb::get, "/users", true, {Role::admin}, 0, bind_api(api, [](UsersApi svc, Request&) -> Task<Response> {
                 auto users = co_await blocking(svc.workers, [&svc] { return svc.index.users(); });
                 std::sort(users.begin(), users.end(), [](const User& a, const User& b) { return a.name < b.name; });
                 json::array list;
                 for (const auto& u : users) list.push_back(user_json(svc, u));
                 co_return Response::json(http::status::ok, json::object{{"users", std::move(list)}});
               })});

  routes.push_back({http::verb::patch, "/users/{}", true, {Role::admin}, 0, bind_api(api, [](UsersApi svc, Request& req) -> Task<Response> {
                 const std::string name = user_name_param(req);
                 json::object body = co_await read_json_object(req);
                 if (body.empty()) throw bad("nothing to change");
                 // Validate before the write, so a bad field changes nothing.
                 User probe;
                 json::object changed;
                 apply_profile(body, probe, changed);
                 if (name == req.who().name && (body.contains("disabled") || body.contains("role"))) {
                   throw HttpError{http::status::conflict, "self_change",
                                   "an admin may not disable or change the role of their own account"};
                 }
                 const CustodyEvent ev = user_event(req.who(), name, "change", changed);
                 User after;
                 co_await blocking(svc.workers, [&svc, &name, &body, &ev, &after] {
                   svc.index.update_user(
                       name,
                       [&](User& u) {
                         json::object ignored;
                         apply_profile(body, u, ignored);
                         after = u;
                       },
                       ev);
                 });
                 co_return Response::json(http::status::ok, user_json(svc, after));
               })});

  routes.push_back({http::verb::post, "/users/{}/token", true, {Role::admin}, 0,
               bind_api(api, [](UsersApi svc, Request& req) -> Task<Response> {
                 const std::string name = user_name_param(req);
                 const std::string token = new_token();
                 const CustodyEvent ev = user_event(req.who(), name, "token", {});
                 co_await blocking(svc.workers, [&svc, &name, &token, &ev] {
                   svc.index.replace_user_token(name, Sha256::of(token), ev);
                 });
                 co_return Response::json(http::status::ok, json::object{{"name", name}, {"token", token}});
               })});
}

}  // namespace evidence::ingest
