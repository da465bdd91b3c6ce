// GET /cases/{+}/timeline: the case's timeline (verify/timeline.h holds the rules).
#include <charconv>
#include <cmath>

#include "ingest/api.h"
#include "ingest/api_common.h"
#include "base/error.h"
#include "store/ids.h"
#include "verify/timeline.h"

namespace evidence::ingest {
namespace {

const std::vector<Role> kReaders{Role::reviewer, Role::auditor, Role::admin};

// min_gap in seconds: a non-negative decimal number (fractions allowed), at most about
// 31 years. Default 5.
std::int64_t parse_min_gap(const Request& req) {
  const auto v = req.query("min_gap");
  if (!v) return timeline::kDefaultMinGapUs;
  auto bad = [&v] {
    return HttpError{http::status::bad_request, "invalid_argument",
                     "min_gap is a number of seconds, at least 0: " + v->substr(0, 32)};
  };
  if (v->empty() || v->size() > 32 || v->front() == '-') throw bad();
  double seconds = 0;
  const char* end = v->data() + v->size();
  const auto [ptr, ec] = std::from_chars(v->data(), end, seconds, std::chars_format::fixed);
  if (ec != std::errc{} || ptr != end || !std::isfinite(seconds) || seconds < 0 || seconds > 1e9) throw bad();
  return std::llround(seconds * 1e6);
}

Task<Response> get_timeline(TimelineApi s, Request& req) {
  const std::string case_number = req.params[0];
  check_case_number(case_number);
  const std::int64_t min_gap_us = parse_min_gap(req);
  json::object o = co_await blocking(s.workers, [&s, &case_number, &req, min_gap_us] {
    json::object t;
    try {
      t = timeline::case_timeline(s.index, case_number, min_gap_us);
    } catch (const Error& e) {
      if (e.code() != Errc::not_found) throw;
      throw HttpError{http::status::not_found, "not_found", "no items in case " + case_number};
    }
    // Like a case listing, it shows each item's officer, device and times: each is a
    // `view` entry, all in one commit.
    std::vector<CustodyEvent> views;
    for (const auto& it : t.at("items").as_array()) {
      CustodyEvent ev = custody_event(req.who(), "view");
      ev.evidence = std::string(it.at("evidence").as_string());
      ev.case_number = case_number;
      ev.detail = json::object{{"listing", "timeline"}};
      views.push_back(std::move(ev));
    }
    if (!views.empty()) s.index.append_events(views);
    return t;
  });
  co_return Response::json(http::status::ok, o);
}

}  // namespace

void add_timeline_routes(Routes& routes, TimelineApi api) {
  routes.push_back({http::verb::get, "/cases/{+}/timeline", true, kReaders, 0, bind_api(api, get_timeline)});
}

}  // namespace evidence::ingest
