// Case-file reviews (案卷评查; DESIGN.md, "Case review"): POST and GET
// /cases/{C}/reviews. A review is committed with its `review` custody entry in one
// index transaction (Index::commit_review), the entry binding the SHA-256 of the
// review's stored bytes, so a review cannot be edited unseen (the audit's pass 10 and
// verify-bundle check it).
#include "base/error.h"
#include "base/timefmt.h"
#include "ingest/api.h"
#include "ingest/api_common.h"
#include "ingest/logging.h"
#include "store/ids.h"

namespace evidence::ingest {
namespace {

// Reviews are a few KiB of text: a body beyond this is not one.
constexpr std::uint64_t kReviewBodyLimit = 64 * 1024;

HttpError bad_review(std::string why) { return HttpError{http::status::bad_request, "invalid_review", std::move(why)}; }

std::string case_of(const Request& req) {
  std::string case_number = req.params[0];
  check_case_number(case_number);
  return case_number;
}

// A case exists once a custody entry has named it (an item ingested or linked into
// it): a review of a case the log has never seen is refused, as is a typo.
void need_case(const Index& index, const std::string& case_number) {
  if (!index.newest_entry_for_case(case_number) && index.items_in_case(case_number).empty()) {
    throw HttpError{http::status::not_found, "not_found", "no case " + case_number};
  }
}

json::object review_json(const CaseReview& r, const std::string& sha256) {
  json::object o = r.to_json();
  o["sha256"] = sha256;
  return o;
}

// The request's review: {"verdict", "notes"?, "checklist"?}, nothing else.
CaseReview parse_review(const json::object& body) {
  CaseReview r;
  for (const auto& [k, v] : body) {
    if (k != "verdict" && k != "notes" && k != "checklist") {
      throw bad_review("unknown field '" + std::string(k) + "': a review has verdict, notes and checklist");
    }
  }
  const auto* verdict = body.if_contains("verdict");
  if (!verdict || !verdict->is_string() || !is_review_verdict(verdict->as_string())) {
    throw bad_review("verdict must be \"complete\", \"incomplete\" or \"defective\"");
  }
  r.verdict = verdict->as_string();
  if (const auto* notes = body.if_contains("notes")) {
    if (!notes->is_string()) throw bad_review("notes must be a string");
    r.notes = notes->as_string();
    if (r.notes.size() > kMaxReviewNotes) {
      throw bad_review("notes are " + std::to_string(r.notes.size()) + " bytes; at most " +
                       std::to_string(kMaxReviewNotes));
    }
  }
  if (const auto* checklist = body.if_contains("checklist")) {
    if (!checklist->is_object()) throw bad_review("checklist must be a JSON object");
    r.checklist = checklist->as_object();
  }
  return r;
}

Task<Response> post_review(CasesApi s, Request& req) {
  const std::string case_number = case_of(req);
  const json::object body = co_await read_json_object(req);
  CaseReview r = parse_review(body);
  const AuthUser who = req.who();
  r.id = new_review_id();
  r.case_number = case_number;
  r.reviewer = who.name;
  r.role = role_name(who.role);
  r.time = format_rfc3339(now_us());
  if (auto p = review_problem(r); !p.empty()) throw bad_review(p);
  json::object out = co_await blocking(s.workers, [&s, &r, &who] {
    need_case(s.index, r.case_number);
    const CommittedReview c = s.index.commit_review(r, custody_event(who, "review"));
    log_line("info", "case_reviewed", {{"actor", who.name},
                                       {"case", c.review.case_number},
                                       {"review", c.review.id},
                                       {"verdict", c.review.verdict}});
    return review_json(c.review, c.sha256);
  });
  co_return Response::json(http::status::created, out);
}

Task<Response> list_reviews(CasesApi s, Request& req) {
  const std::string case_number = case_of(req);
  json::object o = co_await blocking(s.workers, [&s, &case_number] {
    need_case(s.index, case_number);
    json::array reviews;
    for (const auto& id : s.index.reviews_in_case(case_number)) {
      const auto bytes = s.index.review_bytes(id);
      if (!bytes) continue;
      const std::string sha256 = Sha256::of(*bytes).hex();
      try {
        reviews.push_back(review_json(CaseReview::decode(*bytes), sha256));
      } catch (const Error&) {
        // A damaged store is the audit's finding; the listing still shows the review.
        reviews.push_back(json::object{{"id", id}, {"sha256", sha256}, {"undecodable", true}});
      }
    }
    json::object out;
    out["case"] = case_number;
    out["reviews"] = std::move(reviews);  // not an initializer list: an empty array would read as an object
    return out;
  });
  co_return Response::json(http::status::ok, o);
}

}  // namespace

void add_review_routes(Routes& routes, CasesApi api) {
  routes.push_back({http::verb::post, "/cases/{+}/reviews", true, {Role::reviewer, Role::admin}, kReviewBodyLimit,
                    bind_api(api, post_review)});
  routes.push_back({http::verb::get, "/cases/{+}/reviews", true, {Role::reviewer, Role::auditor, Role::admin}, 0,
                    bind_api(api, list_reviews)});
}

}  // namespace evidence::ingest
