// Case and search routes.
#include "ingest/api.h"
#include "ingest/api_common.h"
#include "base/error.h"
#include "store/ids.h"
#include "base/timefmt.h"

namespace evidence::ingest {
namespace {

const std::vector<Role> kReaders{Role::reviewer, Role::auditor, Role::admin};

// A listing shows whole records (file name, officer, device, hash): each item shown is
// a `view` entry, all of one response in one commit.
CustodyEvent listing_view(const AuthUser& who, const std::string& id, const char* listing) {
  CustodyEvent ev = custody_event(who, "view");
  ev.evidence = id;
  ev.detail = json::object{{"listing", listing}};
  return ev;
}

void append_views(CasesApi s, const std::vector<CustodyEvent>& views) {
  if (!views.empty()) s.index.append_events(views);
}

Task<Response> get_case(CasesApi s, Request& req) {
  const std::string case_number = req.params[0];
  check_case_number(case_number);
  json::object o = co_await blocking(s.workers, [&s, &case_number, &req] {
    json::array items;
    std::vector<CustodyEvent> views;
    for (const auto& id : s.index.items_in_case(case_number)) {
      if (auto rec = s.index.get_evidence(id)) {
        items.push_back(record_json(s.index, *rec));
        views.push_back(listing_view(req.who(), rec->id, "case"));
        views.back().case_number = case_number;
      }
    }
    append_views(s, views);
    return json::object{{"case", case_number}, {"items", std::move(items)}};
  });
  co_return Response::json(http::status::ok, o);
}

std::size_t parse_limit(const Request& req, std::size_t def, std::size_t max) {
  auto v = req.query("limit");
  if (!v) return def;
  std::size_t n = 0;
  if (v->empty() || v->size() > 6) throw HttpError{http::status::bad_request, "invalid_argument", "bad limit"};
  for (char c : *v) {
    if (c < '0' || c > '9') throw HttpError{http::status::bad_request, "invalid_argument", "bad limit"};
    n = n * 10 + static_cast<std::size_t>(c - '0');
  }
  if (n == 0) throw HttpError{http::status::bad_request, "invalid_argument", "limit must be at least 1"};
  return std::min(n, max);
}

Task<Response> list_cases(CasesApi s, Request& req) {
  const std::string prefix = req.query("prefix").value_or("");
  if (prefix.size() > 128) {
    throw HttpError{http::status::bad_request, "invalid_case",
                    "a case prefix is at most 128 bytes, the length of the longest case number"};
  }
  const std::size_t limit = parse_limit(req, 1000, 10000);
  auto cases = co_await blocking(s.workers, [&s, &prefix, limit] { return s.index.list_cases(prefix, limit); });
  json::array a;
  for (auto& c : cases) a.emplace_back(c);
  co_return Response::json(http::status::ok, json::object{{"cases", std::move(a)}});
}

Task<Response> search(CasesApi s, Request& req) {
  SearchQuery q;
  q.officer = req.query("officer");
  q.device = req.query("device");
  for (const auto* name : {&q.officer, &q.device}) {
    if (*name && name->value().size() > 256) {
      throw HttpError{http::status::bad_request, "invalid_argument", "an officer or device name is at most 256 bytes"};
    }
  }
  auto time_param = [&req](std::string_view key) -> std::optional<std::int64_t> {
    auto v = req.query(key);
    if (!v) return std::nullopt;
    auto t = parse_rfc3339(*v);
    if (!t) {
      throw HttpError{http::status::bad_request, "invalid_argument", std::string(key) + " is not RFC 3339: " + *v};
    }
    return to_unix_us(*t);
  };
  q.from_us = time_param("from");
  q.to_us = time_param("to");
  q.limit = parse_limit(req, 100, 1000);
  // Cursors are sealed for the caller (ingest/cursor.h): the index's own position
  // names the last item it looked at, which may be one the caller may not see.
  if (auto c = req.query("cursor"); c && !c->empty()) {
    auto opened = s.cursors.open(*c, req.who().name);
    if (!opened) {
      throw HttpError{http::status::bad_request, "invalid_cursor",
                      "the cursor is not one this server gave you (or the server has restarted): search again"};
    }
    q.cursor = *opened;
  }
  json::object o = co_await blocking(s.workers, [&s, &q, &req] {
    SearchPage page = s.index.search(q);
    json::array items;
    std::vector<CustodyEvent> views;
    for (const auto& rec : page.items) {
      // Officers see only their own uploads; the page may come back shorter.
      if (reads_only_own_uploads(req.who().role) && rec.uploaded_by != req.who().name) continue;
      items.push_back(record_json(s.index, rec));
      views.push_back(listing_view(req.who(), rec.id, "search"));
    }
    append_views(s, views);
    json::object out;
    out["items"] = std::move(items);  // not an initializer list: Boost.JSON reads an empty array there as an object
    out["next"] = page.next.empty() ? json::value(nullptr) : json::value(s.cursors.seal(page.next, req.who().name));
    return out;
  });
  co_return Response::json(http::status::ok, o);
}

}  // namespace

void add_case_routes(Routes& routes, CasesApi api) {
  routes.push_back({http::verb::get, "/cases", true, kReaders, 0, bind_api(api, list_cases)});
  routes.push_back({http::verb::get, "/cases/{+}", true, kReaders, 0, bind_api(api, get_case)});
  routes.push_back({http::verb::get, "/search", true, {}, 0, bind_api(api, search)});
}

}  // namespace evidence::ingest
