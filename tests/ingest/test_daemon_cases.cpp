// Case links, case listing (CJK, '/', spaces) and search pagination over HTTP.
#include <catch2/catch.hpp>
#include <set>

#include "tests/ingest/daemon_fixture.h"

using namespace evidence;
using namespace evidence::test;
namespace json = boost::json;

namespace {

std::string upload(const Daemon& d, const std::string& token, const std::string& officer, const std::string& device,
                   const std::string& recorded_at, const std::string& body, const std::string& case_number = {}) {
  std::string url = d.api("/evidence?officer=" + pct(officer) + "&device=" + pct(device) +
                          "&recorded_at=" + pct(recorded_at));
  if (!case_number.empty()) url += "&case=" + pct(case_number);
  auto r = http("POST", url, token, body);
  REQUIRE(r.status == 201);
  return std::string(obj(r)["evidence_id"].as_string());
}

std::vector<std::string> ids_of(const json::array& items) {
  std::vector<std::string> out;
  for (auto& i : items) out.emplace_back(i.as_object().at("id").as_string());
  return out;
}

}  // namespace

TEST_CASE("cases: link, unlink and list, with CJK, '/' and spaces round-tripping", "[daemon][cases]") {
  TempDir dir;
  Daemon d(dir.path() / "data");
  const std::string rev = d.add_user("rev", "reviewer");
  const std::string t = d.admin_token();
  const std::string cjk = "汉台执罚〔2017〕第123号";
  const std::string slashy = "PD/2026/ 001 a";
  const std::string a = upload(d, t, "jo", "cam", "2026-01-01T00:00:00Z", "aaa", cjk);
  const std::string b = upload(d, t, "jo", "cam", "2026-01-02T00:00:00Z", "bbb");

  auto link = http("POST", d.api("/evidence/" + b + "/cases"), rev, json::serialize(json::object{{"case", cjk}}));
  CHECK(link.status == 201);
  CHECK(http("POST", d.api("/evidence/" + b + "/cases"), rev, json::serialize(json::object{{"case", cjk}})).status ==
        409);
  CHECK(http("POST", d.api("/evidence/" + a + "/cases"), rev, json::serialize(json::object{{"case", slashy}})).status ==
        201);
  CHECK(http("POST", d.api("/evidence/" + a + "/cases"), rev, R"({"case":""})").status == 400);
  CHECK(http("POST", d.api("/evidence/" + a + "/cases"), rev, R"({"nope":1})").status == 400);
  CHECK(http("POST", d.api("/evidence/" + a + "/cases"), rev, "not json").status == 400);

  auto c = http("GET", d.api("/cases/" + pct(cjk)), rev);
  REQUIRE(c.status == 200);
  CHECK(obj(c)["case"].as_string() == cjk);
  auto items = ids_of(obj(c)["items"].as_array());
  CHECK(std::set<std::string>(items.begin(), items.end()) == std::set<std::string>{a, b});

  // '/' inside a case number: encoded as %2F, or sent raw in the path.
  auto s1 = http("GET", d.api("/cases/" + pct(slashy)), rev);
  REQUIRE(s1.status == 200);
  CHECK(obj(s1)["case"].as_string() == slashy);
  CHECK(ids_of(obj(s1)["items"].as_array()) == std::vector<std::string>{a});
  auto s2 = http("GET", d.api("/cases/PD/2026/%20001%20a"), rev);
  REQUIRE(s2.status == 200);
  CHECK(obj(s2)["case"].as_string() == slashy);

  auto list = http("GET", d.api("/cases?prefix=" + pct("PD/")), rev);
  REQUIRE(list.status == 200);
  CHECK(obj(list)["cases"].as_array() == json::array{json::value(slashy)});
  auto all = obj(http("GET", d.api("/cases"), rev))["cases"].as_array();
  CHECK(all.size() == 2);

  // The record lists its current cases.
  auto rec = obj(http("GET", d.api("/evidence/" + a), rev));
  CHECK(rec["cases"].as_array().size() == 2);

  auto un = http("DELETE", d.api("/evidence/" + b + "/cases/" + pct(cjk)), rev);
  CHECK(un.status == 200);
  CHECK(http("DELETE", d.api("/evidence/" + b + "/cases/" + pct(cjk)), rev).status == 404);
  CHECK(http("DELETE", d.api("/evidence/" + a + "/cases/" + pct(slashy)), rev).status == 200);
  CHECK(ids_of(obj(http("GET", d.api("/cases/" + pct(cjk)), rev))["items"].as_array()) ==
        std::vector<std::string>{a});

  // Every link and unlink is in the custody log.
  auto entries = obj(http("GET", d.api("/log/entries"), t))["entries"].as_array();
  std::multiset<std::string> actions;
  for (auto& e : entries) actions.insert(std::string(e.as_object().at("action").as_string()));
  CHECK(actions.count("link") == 2);
  CHECK(actions.count("unlink") == 2);
}

TEST_CASE("search filters by officer, device and time and pages with a cursor", "[daemon][cases]") {
  TempDir dir;
  Daemon d(dir.path() / "data");
  const std::string t = d.admin_token();
  std::vector<std::string> jo;
  for (int i = 0; i < 7; ++i) {
    jo.push_back(upload(d, t, "jo", i % 2 ? "cam-1" : "cam-2", "2026-03-0" + std::to_string(i + 1) + "T12:00:00Z",
                        "item" + std::to_string(i)));
  }
  upload(d, t, "al", "cam-1", "2026-03-01T12:00:00Z", "other");

  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    std::string url = d.api("/search?officer=jo&limit=3");
    if (!cursor.empty()) url += "&cursor=" + pct(cursor);
    auto r = http("GET", url, t);
    REQUIRE(r.status == 200);
    auto o = obj(r);
    auto page = ids_of(o["items"].as_array());
    CHECK(page.size() <= 3);
    seen.insert(seen.end(), page.begin(), page.end());
    cursor = o["next"].is_string() ? std::string(o["next"].as_string()) : std::string();
    ++pages;
  } while (!cursor.empty() && pages < 10);
  CHECK(pages == 3);
  CHECK(std::set<std::string>(seen.begin(), seen.end()) == std::set<std::string>(jo.begin(), jo.end()));

  auto dev = obj(http("GET", d.api("/search?device=cam-1"), t))["items"].as_array();
  CHECK(dev.size() == 4);
  auto range = obj(http("GET", d.api("/search?officer=jo&from=" + pct("2026-03-02T00:00:00Z") + "&to=" +
                                     pct("2026-03-04T00:00:00Z")),
                        t))["items"]
                   .as_array();
  CHECK(ids_of(range).size() == 2);
  CHECK(http("GET", d.api("/search?from=tomorrow"), t).status == 400);
  CHECK(http("GET", d.api("/search?limit=abc"), t).status == 400);

  // Officers only find their own uploads (not the seven the admin uploaded in jo's name).
  const std::string jo_token = d.add_user("jo", "officer");
  upload(d, jo_token, "jo", "cam-9", "2026-03-01T12:00:00Z", "own");
  auto own = obj(http("GET", d.api("/search?officer=jo"), jo_token))["items"].as_array();
  CHECK(own.size() == 1);
}
