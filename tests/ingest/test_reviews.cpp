// Case-file reviews over HTTP (POST/GET /cases/{C}/reviews): each review is stored with
// its `review` custody entry binding the SHA-256 of its exact stored bytes, only
// reviewers and admins write them, bad input is a JSON 400, and a review edited or
// deleted in LMDB behind the daemon's back is caught by POST /verify and by
// `evidenced verify`.
#include <catch2/catch.hpp>

#include "store/index.h"
#include "store/lmdb/lmdb_index.h"
#include "store/review.h"
#include "tests/ingest/daemon_fixture.h"

using namespace evidence;
using namespace evidence::test;
namespace json = boost::json;

namespace {

const std::string kCase = "汉台执罚〔2017〕第123号";

std::string reviews_url(const Daemon& d, const std::string& case_number = kCase) {
  return d.api("/cases/" + pct(case_number) + "/reviews");
}

void add_item(const Daemon& d, const std::string& case_number = kCase) {
  auto r = http("POST", d.api("/evidence?officer=o.rev&device=cam-r&case=" + pct(case_number)), d.admin_token(),
                "footage of " + case_number);
  REQUIRE(r.status == 201);
}

json::object post_review(const Daemon& d, const std::string& token, const json::object& body) {
  auto r = http("POST", reviews_url(d), token, json::serialize(body));
  INFO(r.body);
  REQUIRE(r.status == 201);
  return obj(r);
}

json::object log_entry(const Daemon& d, std::uint64_t index) {
  auto r = http("GET", d.api("/log/entries?start=" + std::to_string(index) + "&end=" + std::to_string(index + 1)),
                d.admin_token());
  REQUIRE(r.status == 200);
  const auto entries = obj(r).at("entries").as_array();
  REQUIRE(entries.size() == 1);
  return entries.front().as_object();
}

json::object verify_all(const Daemon& d, const std::string& scope = "all", const std::string& id = {}) {
  json::object body{{"scope", scope}};
  if (!id.empty()) body["id"] = id;
  auto r = http("POST", d.api("/verify"), d.admin_token(), json::serialize(body));
  INFO(r.body);
  REQUIRE(r.status == 200);
  return obj(r);
}

// The review_mismatch problems of an audit report, as their details.
std::vector<std::string> review_problems(const json::object& report) {
  std::vector<std::string> out;
  for (const auto& p : report.at("problems").as_array()) {
    if (p.at("kind").as_string() == "review_mismatch") out.emplace_back(p.at("detail").as_string());
  }
  return out;
}

bool any_names(const std::vector<std::string>& details, const std::string& what) {
  for (const auto& d : details)
    if (d.find(what) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("reviews: a posted review is listed oldest first with its sha256, and its review entry binds its stored bytes",
          "[daemon][reviews]") {
  TempDir dir;
  std::string first_id, second_id, first_sha;
  {
    Daemon d(dir.path() / "data");
    const std::string reviewer = d.add_user("r.li", "reviewer");
    const std::string auditor = d.add_user("a.zhao", "auditor");
    add_item(d);
    const json::object checklist{{"scene_recorded", false}, {"devices", 2}, {"remarks", json::array{"no audio"}}};
    const auto first = post_review(
        d, reviewer, json::object{{"verdict", "incomplete"}, {"notes", "缺少现场录像 08:15-08:20"}, {"checklist", checklist}});
    CHECK(first.at("case").as_string() == kCase);
    CHECK(first.at("reviewer").as_string() == "r.li");
    CHECK(first.at("role").as_string() == "reviewer");
    CHECK(first.at("verdict").as_string() == "incomplete");
    CHECK(first.at("notes").as_string() == "缺少现场录像 08:15-08:20");
    CHECK(first.at("checklist").as_object() == checklist);
    CHECK(first.at("sha256").as_string().size() == 64);
    first_id = std::string(first.at("id").as_string());
    first_sha = std::string(first.at("sha256").as_string());
    const auto second = post_review(d, d.admin_token(), json::object{{"verdict", "complete"}});
    second_id = std::string(second.at("id").as_string());
    CHECK(second.at("role").as_string() == "admin");
    CHECK(second.at("notes").as_string().empty());
    CHECK(second.at("checklist").as_object().empty());

    // The auditor reads them, oldest first, each as it was answered.
    auto list = http("GET", reviews_url(d), auditor);
    REQUIRE(list.status == 200);
    const auto body = obj(list);
    CHECK(body.at("case").as_string() == kCase);
    const auto& reviews = body.at("reviews").as_array();
    REQUIRE(reviews.size() == 2);
    CHECK(reviews[0].as_object() == first);
    CHECK(reviews[1].as_object() == second);

    // Each review's entry in the log: action review, the case, the hash, the id.
    for (const auto& r : {first, second}) {
      const auto e = log_entry(d, json::value_to<std::uint64_t>(r.at("log_index")));
      CHECK(e.at("action").as_string() == "review");
      CHECK(e.at("case").as_string() == kCase);
      CHECK(e.at("record_hash").as_string() == r.at("sha256").as_string());
      CHECK(e.at("detail").as_object().at("review").as_string() == r.at("id").as_string());
      CHECK(e.at("actor").as_string() == r.at("reviewer").as_string());
      CHECK_FALSE(e.contains("evidence"));
    }
    // An intact store with reviews audits clean.
    const auto report = verify_all(d);
    CHECK(report.at("ok").as_bool());
    CHECK(review_problems(report).empty());
    CHECK(d.stop() == 0);
  }
  // The sha256 is over the exact bytes the index stores.
  LmdbIndex index(Layout(dir.path() / "data"), OpenMode::read_only);
  const auto stored = index.review_bytes(first_id);
  REQUIRE(stored);
  CHECK(Sha256::of(*stored).hex() == first_sha);
  CHECK(index.reviews_in_case(kCase) == std::vector<std::string>{first_id, second_id});
}

TEST_CASE("reviews: only reviewers and admins post, auditors read, and bad input is a JSON 400 that stores nothing",
          "[daemon][reviews]") {
  TempDir dir;
  Daemon d(dir.path() / "data");
  const std::string reviewer = d.add_user("r.qian", "reviewer");
  const std::string officer = d.add_user("o.sun", "officer");
  const std::string auditor = d.add_user("a.zhou", "auditor");
  add_item(d);
  const std::string good = R"({"verdict":"complete","notes":"ok","checklist":{}})";

  CHECK(http("POST", reviews_url(d), officer, good).status == 403);
  CHECK(http("GET", reviews_url(d), officer).status == 403);
  CHECK(http("POST", reviews_url(d), auditor, good).status == 403);
  CHECK(http("POST", reviews_url(d), "", good).status == 401);
  CHECK(http("GET", reviews_url(d), auditor).status == 200);

  const std::string long_notes(kMaxReviewNotes + 1, 'n');
  const std::vector<std::string> bad = {
      "not json",
      "[1,2]",
      R"({"notes":"no verdict"})",
      R"({"verdict":"fine"})",
      R"({"verdict":"Complete"})",
      R"({"verdict":1})",
      R"({"verdict":"complete","notes":42})",
      R"({"verdict":"complete","checklist":[1]})",
      R"({"verdict":"complete","checklist":"yes"})",
      R"({"verdict":"complete","verdit":"typo"})",
      json::serialize(json::object{{"verdict", "complete"}, {"notes", long_notes}}),
  };
  for (const auto& body : bad) {
    INFO(body.substr(0, 80));
    auto r = http("POST", reviews_url(d), reviewer, body);
    CHECK(r.status == 400);
    const auto o = obj(r);  // a JSON error, never an empty or HTML body
    CHECK(o.contains("error"));
    CHECK(o.contains("message"));
  }
  // A case the log has never named is unknown; a malformed case number is a 400.
  auto unknown = http("POST", reviews_url(d, "NO-SUCH-CASE"), reviewer, good);
  CHECK(unknown.status == 404);
  CHECK(obj(unknown).at("error").as_string() == "not_found");
  CHECK(http("GET", reviews_url(d, "NO-SUCH-CASE"), reviewer).status == 404);
  CHECK(http("POST", reviews_url(d, "a\u200Bb"), reviewer, good).status == 400);

  // Nothing of the refused requests was stored; a good one is.
  auto list = http("GET", reviews_url(d), reviewer);
  REQUIRE(list.status == 200);
  CHECK(obj(list).at("reviews").as_array().empty());
  CHECK(http("POST", reviews_url(d), reviewer, good).status == 201);
  CHECK(obj(http("GET", reviews_url(d), reviewer)).at("reviews").as_array().size() == 1);
  CHECK(d.stop() == 0);
}

TEST_CASE("reviews: a review edited or deleted in LMDB is caught by POST /verify and by evidenced verify",
          "[daemon][reviews][audit]") {
  TempDir dir;
  std::string edited_id, deleted_id;
  {
    Daemon d(dir.path() / "data");
    add_item(d);
    edited_id = std::string(
        post_review(d, d.admin_token(), json::object{{"verdict", "defective"}, {"notes", "录像被截断"}}).at("id").as_string());
    deleted_id = std::string(post_review(d, d.admin_token(), json::object{{"verdict", "incomplete"}}).at("id").as_string());
    CHECK(verify_all(d).at("ok").as_bool());
    CHECK(d.stop() == 0);
  }
  // Behind the daemon's back: one verdict softened, one review removed.
  {
    LmdbIndex index(Layout(dir.path() / "data"), OpenMode::read_write);
    auto r = index.get_review(edited_id);
    REQUIRE(r);
    r->verdict = "complete";
    r->notes = "一切正常";
    index.raw_put("reviews", as_bytes(edited_id), r->encode());
    index.raw_del("reviews", as_bytes(deleted_id));
  }
  auto offline = run_process({EVIDENCED_PATH, "verify", "--data", (dir.path() / "data").string(), "--json"});
  INFO(offline.out << offline.err);
  CHECK(offline.exit_code == 1);
  const auto offline_report = json::parse(offline.out).as_object();
  const auto offline_problems = review_problems(offline_report);
  CHECK(any_names(offline_problems, "review " + edited_id));
  CHECK(any_names(offline_problems, "the review was changed after it was made"));
  CHECK(any_names(offline_problems, deleted_id));

  Daemon d(dir.path() / "data");
  for (const auto& report : {verify_all(d), verify_all(d, "case", kCase)}) {
    CHECK_FALSE(report.at("ok").as_bool());
    const auto problems = review_problems(report);
    CHECK(any_names(problems, "review " + edited_id));
    CHECK(any_names(problems, deleted_id));
  }
  // The listing shows what the index now holds; the audit is what tells.
  const auto listed = obj(http("GET", reviews_url(d), d.admin_token())).at("reviews").as_array();
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].at("verdict").as_string() == "complete");
  CHECK(d.stop() == 0);
}
