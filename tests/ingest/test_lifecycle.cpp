// Lifecycle through the real daemon (DESIGN.md, "Lifecycle: retention, disposition,
// deadlines"): categories and their floor, an item's category, due items, two-admin
// disposition with its tombstones, 410s and blob deletion, and the bodies refused.
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "tests/ingest/daemon_fixture.h"

using namespace evidence;
using namespace evidence::test;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

std::string upload(const Daemon& d, const std::string& token, const std::string& data, const std::string& extra = {}) {
  auto r = http("POST",
                d.api("/evidence?officer=jo&device=cam-1&filename=a.mp4&recorded_at=" +
                      pct("2026-11-27T10:00:00Z") + extra),
                token, data);
  INFO(r.body);
  REQUIRE(r.status == 201);
  return std::string(obj(r)["evidence_id"].as_string());
}

HttpResponse call(const Daemon& d, const std::string& method, const std::string& path, const std::string& token,
                  const std::string& body = {}) {
  return http(method, d.api(path), token, body, kJson);
}

json::object record(const Daemon& d, const std::string& id) {
  auto r = http("GET", d.api("/evidence/" + id), d.admin_token());
  REQUIRE(r.status == 200);
  return obj(r);
}

std::string category_of(const Daemon& d, const std::string& id) {
  return std::string(record(d, id).at("retention").at("category").as_string());
}

std::set<std::string> due_ids(const Daemon& d, const std::string& token) {
  auto r = http("GET", d.api("/retention/due?limit=1000"), token);
  INFO(r.body);
  REQUIRE(r.status == 200);
  std::set<std::string> out;
  const auto body = obj(r);
  for (const auto& i : body.at("items").as_array()) out.insert(std::string(i.at("id").as_string()));
  return out;
}

json::array log_entries(const Daemon& d) {
  json::array all;
  for (std::uint64_t start = 0;;) {
    auto r = http("GET", d.api("/log/entries?start=" + std::to_string(start)), d.admin_token());
    REQUIRE(r.status == 200);
    auto page = obj(r)["entries"].as_array();
    if (page.empty()) return all;
    start += page.size();
    for (auto& e : page) all.push_back(e);
  }
}

std::size_t count_action(const json::array& entries, const std::string& action, const std::string& evidence = {}) {
  std::size_t n = 0;
  for (const auto& e : entries) {
    const auto& o = e.as_object();
    if (o.at("action").as_string() != action) continue;
    if (!evidence.empty() && (!o.contains("evidence") || o.at("evidence").as_string() != evidence)) continue;
    ++n;
  }
  return n;
}

fs::path blob_file(const fs::path& data, const std::string& content) {
  const std::string hex = sha256_hex(content);
  return data / "blobs" / "sha256" / hex.substr(0, 2) / hex;
}

// The reasons a 409 gives for one item (empty when it is not named).
std::set<std::string> refused_for(const json::object& answer, const std::string& id) {
  std::set<std::string> out;
  for (const auto& i : answer.at("items").as_array()) {
    if (i.at("id").as_string() != id) continue;
    for (const auto& r : i.at("reasons").as_array()) out.insert(std::string(r.as_string()));
  }
  return out;
}

void settle() { std::this_thread::sleep_for(std::chrono::milliseconds(20)); }

}  // namespace

TEST_CASE("lifecycle: categories are listed to all, set by admins with a custody entry, bad bodies are 400",
          "[daemon][lifecycle]") {
  TempDir dir;
  Daemon d(dir.path() / "data", {"--min-retention-days", "0"});
  const std::string officer = d.add_user("jo", "officer");

  auto list = http("GET", d.api("/retention/categories"), officer);
  REQUIRE(list.status == 200);
  std::map<std::string, json::object> by_name;
  const auto categories = obj(list);
  for (const auto& c : categories.at("categories").as_array()) by_name[std::string(c.at("name").as_string())] = c.as_object();
  REQUIRE(by_name.count("routine"));
  CHECK(by_name["routine"].at("days") == 180);
  CHECK(by_name["routine"].at("permanent") == false);
  for (const char* p : {"evidence", "obstruction", "major_incident", "complex_case"}) {
    INFO(p);
    REQUIRE(by_name.count(p));
    CHECK(by_name[p].at("permanent") == true);
    CHECK(by_name[p].at("days").is_null());
  }

  auto put = call(d, "PUT", "/retention/categories/traffic", d.admin_token(), R"({"days": 0})");
  INFO(put.body);
  REQUIRE(put.status == 200);
  CHECK(obj(put).at("days") == 0);
  CHECK(call(d, "PUT", "/retention/categories/inquest", d.admin_token(), R"({"permanent": true})").status == 200);
  const auto entries = log_entries(d);
  CHECK(count_action(entries, "retention") == 2);

  CHECK(call(d, "PUT", "/retention/categories/traffic", officer, R"({"days": 5})").status == 403);
  for (const char* body : {"{}", R"({"days": -1})", R"({"days": "7"})", R"({"days": 1.5})", R"({"days": 1, "permanent": true})",
                           R"({"permanent": false})", R"({"days": 99999999})", "[1]", "not json"}) {
    INFO(body);
    auto r = call(d, "PUT", "/retention/categories/traffic", d.admin_token(), body);
    CHECK(r.status == 400);
    CHECK(obj(r).contains("error"));
  }
  CHECK(call(d, "PUT", "/retention/categories/" + pct("Bad Name"), d.admin_token(), R"({"days": 5})").status == 400);
  CHECK(call(d, "PUT", "/retention/categories/9lives", d.admin_token(), R"({"days": 5})").status == 400);
  // Items in cases are `evidence`: it stays permanent.
  CHECK(call(d, "PUT", "/retention/categories/evidence", d.admin_token(), R"({"days": 5})").status == 409);
  // Nothing refused was stored or logged.
  CHECK(count_action(log_entries(d), "retention") == 2);
}

TEST_CASE("lifecycle: without --min-retention-days a 10-day category is a 400", "[daemon][lifecycle]") {
  TempDir dir;
  Daemon d(dir.path() / "data");
  auto r = call(d, "PUT", "/retention/categories/short", d.admin_token(), R"({"days": 10})");
  CHECK(r.status == 400);
  CHECK(obj(r).at("error") == "below_minimum");
  CHECK(call(d, "PUT", "/retention/categories/short", d.admin_token(), R"({"days": 180})").status == 200);
  CHECK(count_action(log_entries(d), "retention") == 1);
}

TEST_CASE("lifecycle: upload category, item category changes, case links raise it", "[daemon][lifecycle]") {
  TempDir dir;
  Daemon d(dir.path() / "data", {"--min-retention-days", "0"});
  const std::string officer = d.add_user("jo", "officer");
  const std::string reviewer = d.add_user("rita", "reviewer");
  REQUIRE(call(d, "PUT", "/retention/categories/traffic", d.admin_token(), R"({"days": 0})").status == 200);

  // Default routine, 180 days from received_at; a named category is kept.
  const std::string plain = upload(d, officer, "plain bytes");
  auto rec = record(d, plain);
  CHECK(rec.at("retention").at("category") == "routine");
  REQUIRE(rec.at("retention").at("retain_until").is_string());
  CHECK(std::string(rec.at("retention").at("retain_until").as_string()) > std::string(rec.at("received_at").as_string()));
  const std::string traffic = upload(d, officer, "traffic bytes", "&category=traffic");
  CHECK(category_of(d, traffic) == "traffic");
  CHECK(record(d, traffic).at("category") == "traffic");  // stored in the record itself
  // An upload naming a case is evidence at once.
  const std::string in_case = upload(d, officer, "case bytes", "&category=traffic&case=C-1");
  CHECK(category_of(d, in_case) == "evidence");
  CHECK(record(d, in_case).at("retention").at("retain_until").is_null());

  // Unknown or malformed categories: 400 before anything is stored (one-shot and tus).
  const auto files = stored_files(d.data_dir());
  auto unknown = http("POST", d.api("/evidence?officer=jo&device=cam-1&category=nope"), officer, "x");
  CHECK(unknown.status == 400);
  CHECK(obj(unknown).at("error") == "unknown_category");
  CHECK(http("POST", d.api("/evidence?officer=jo&device=cam-1&category=" + pct("No Way")), officer, "x").status == 400);
  auto tus = http("POST", d.api("/uploads"), officer, "",
                  {{"Tus-Resumable", "1.0.0"},
                   {"Upload-Length", "10"},
                   {"Upload-Metadata", "officer " + b64("jo") + ",device " + b64("cam-1") + ",category " + b64("nope")}});
  CHECK(tus.status == 400);
  CHECK(stored_files(d.data_dir()) == files);

  // The item's category: reviewer and admin, with a custody entry; officers 403.
  CHECK(call(d, "PUT", "/evidence/" + traffic + "/retention", officer, R"({"category": "routine"})").status == 403);
  auto change = call(d, "PUT", "/evidence/" + traffic + "/retention", reviewer, R"({"category": "routine"})");
  INFO(change.body);
  REQUIRE(change.status == 200);
  CHECK(category_of(d, traffic) == "routine");
  CHECK(count_action(log_entries(d), "retention", traffic) == 1);
  for (const char* body : {"{}", R"({"category": 5})", R"({"category": "nope"})", R"({"category": "Bad Name"})", "nope"}) {
    INFO(body);
    CHECK(call(d, "PUT", "/evidence/" + traffic + "/retention", reviewer, body).status == 400);
  }
  CHECK(category_of(d, traffic) == "routine");
  // An item in a case keeps a permanent category.
  auto lower = call(d, "PUT", "/evidence/" + in_case + "/retention", reviewer, R"({"category": "routine"})");
  CHECK(lower.status == 409);
  CHECK(call(d, "PUT", "/evidence/" + in_case + "/retention", reviewer, R"({"category": "obstruction"})").status == 200);

  // A 0-day item is due at once; linking it to a case stops that (with a custody entry).
  REQUIRE(call(d, "PUT", "/evidence/" + traffic + "/retention", reviewer, R"({"category": "traffic"})").status == 200);
  settle();
  CHECK(due_ids(d, d.admin_token()).count(traffic) == 1);
  CHECK(call(d, "POST", "/evidence/" + traffic + "/cases", reviewer, R"({"case": "C-9"})").status == 201);
  CHECK(category_of(d, traffic) == "evidence");
  CHECK(due_ids(d, d.admin_token()).count(traffic) == 0);
  CHECK(count_action(log_entries(d), "retention", traffic) == 3);
  // A permanent category is not lowered by a link.
  const std::string obstruction = upload(d, officer, "obstruction bytes", "&category=obstruction");
  CHECK(call(d, "POST", "/evidence/" + obstruction + "/cases", reviewer, R"({"case": "C-9"})").status == 201);
  CHECK(category_of(d, obstruction) == "obstruction");
  CHECK(count_action(log_entries(d), "retention", obstruction) == 0);
}

TEST_CASE("lifecycle: two admins dispose of due items, tombstones, 410s, blobs, custody and a clean audit",
          "[daemon][lifecycle]") {
  TempDir dir;
  const fs::path data = dir.path() / "data";
  Daemon d(data, {"--min-retention-days", "0"});
  const std::string officer = d.add_user("jo", "officer");
  const std::string auditor = d.add_user("al", "auditor");
  const std::string second = d.add_user("ada", "admin");
  REQUIRE(call(d, "PUT", "/retention/categories/traffic", d.admin_token(), R"({"days": 0})").status == 200);

  const std::string shared_bytes = random_bytes_string(5000, 1), own_bytes = random_bytes_string(6000, 2);
  const std::string a = upload(d, officer, shared_bytes, "&category=traffic");  // due; its bytes stay for b
  const std::string b = upload(d, officer, shared_bytes);                      // routine: not due
  const std::string c = upload(d, officer, own_bytes, "&category=traffic");     // due; its blob goes
  const std::string held = upload(d, officer, random_bytes_string(100, 3), "&category=traffic");
  const std::string permanent = upload(d, officer, random_bytes_string(100, 4), "&category=major_incident");
  REQUIRE(http("POST", d.api("/evidence/" + held + "/hold"), d.admin_token()).status == 200);
  settle();

  // Due: past retain_until, not permanent, not held.
  const auto due = due_ids(d, auditor);
  CHECK(due.count(a) == 1);
  CHECK(due.count(c) == 1);
  CHECK(due.count(b) == 0);
  CHECK(due.count(held) == 0);
  CHECK(due.count(permanent) == 0);
  CHECK(http("GET", d.api("/retention/due"), officer).status == 403);

  // A request naming items that may not go is 409 naming every one of them, and stores nothing.
  auto refused = call(d, "POST", "/dispositions", d.admin_token(),
                      R"({"items": [")" + a + "\",\"" + held + "\",\"" + permanent + "\",\"" + b + R"("], "reason": "x"})");
  INFO(refused.body);
  REQUIRE(refused.status == 409);
  const auto no = obj(refused);
  CHECK(refused_for(no, a).empty());
  CHECK(refused_for(no, held).count("held") == 1);
  CHECK(refused_for(no, permanent).count("permanent") == 1);
  CHECK(refused_for(no, b).count("not_due") == 1);
  CHECK(obj(http("GET", d.api("/dispositions"), auditor)).at("items").as_array().empty());

  // Bad bodies: 400; unknown items: 404.
  for (const std::string& body : std::vector<std::string>{std::string("{}"), std::string(R"({"items": "x", "reason": "r"})"),
                                 std::string(R"({"items": [], "reason": "r"})"), std::string(R"({"items": ["nope"], "reason": "r"})"),
                                 R"({"items": [")" + a + "\",\"" + a + R"("], "reason": "r"})",
                                 R"({"items": [")" + a + R"("]})", R"({"items": [")" + a + R"("], "reason": 7})",
                                 R"({"items": [")" + a + R"("], "reason": ""})", std::string("[]"), std::string("nope")}) {
    INFO(body);
    CHECK(call(d, "POST", "/dispositions", d.admin_token(), body).status == 400);
  }
  std::string unknown = a;
  unknown.back() = unknown.back() == '0' ? '1' : '0';
  CHECK(call(d, "POST", "/dispositions", d.admin_token(), R"({"items": [")" + unknown + R"("], "reason": "r"})").status == 404);

  auto req = call(d, "POST", "/dispositions", d.admin_token(),
                  R"({"items": [")" + a + "\",\"" + c + R"("], "reason": "retention over"})");
  INFO(req.body);
  REQUIRE(req.status == 201);
  const std::string disp(obj(req).at("id").as_string());
  CHECK(obj(req).at("state") == "pending");

  // Four eyes: the requester may not approve.
  auto own = http("POST", d.api("/dispositions/" + disp + "/approve"), d.admin_token());
  CHECK(own.status == 403);
  CHECK(obj(own).at("error") == "four_eyes");
  CHECK(obj(http("GET", d.api("/dispositions/" + disp), auditor)).at("state") == "pending");
  CHECK(http("GET", d.api("/evidence/" + a + "/content"), d.admin_token()).status == 200);
  CHECK(http("POST", d.api("/dispositions/" + disp + "/approve"), auditor).status == 403);

  auto done = http("POST", d.api("/dispositions/" + disp + "/approve"), second);
  INFO(done.body);
  REQUIRE(done.status == 200);
  CHECK(obj(done).at("state") == "done");
  CHECK(obj(done).at("disposed").as_array().size() == 2);
  CHECK(http("POST", d.api("/dispositions/" + disp + "/approve"), second).status == 409);
  CHECK(http("POST", d.api("/dispositions/" + disp + "/reject"), second).status == 409);

  // Tombstones; the content, thumbnail and clips of a disposed item are 410.
  for (const auto& id : {a, c}) {
    INFO(id);
    const auto rec = record(d, id);
    REQUIRE(rec.contains("disposed"));
    CHECK(rec.at("disposed").at("approved_by") == "ada");
    CHECK(rec.at("disposed").at("disposition").as_string() == disp);
    CHECK(rec.at("disposed").at("reason") == "retention over");
    auto content = http("GET", d.api("/evidence/" + id + "/content"), d.admin_token());
    CHECK(content.status == 410);
    CHECK(obj(content).at("error") == "disposed");
    CHECK(http("GET", d.api("/evidence/" + id + "/thumbnail"), d.admin_token()).status == 410);
    CHECK(call(d, "POST", "/evidence/" + id + "/clips", d.admin_token(), R"({"start": 0, "end": 1})").status == 410);
  }
  CHECK_FALSE(record(d, b).contains("disposed"));
  CHECK(call(d, "POST", "/evidence/" + a + "/cases", d.admin_token(), R"({"case": "X-1"})").status == 409);
  // c's blob is gone; a's bytes still serve b.
  CHECK_FALSE(fs::exists(blob_file(data, own_bytes)));
  CHECK(fs::exists(blob_file(data, shared_bytes)));
  auto kept = http("GET", d.api("/evidence/" + b + "/content"), d.admin_token());
  REQUIRE(kept.status == 200);
  CHECK(kept.body == shared_bytes);
  CHECK(due_ids(d, auditor).count(a) == 0);

  // Custody: one request, one approval, one dispose per item.
  const auto entries = log_entries(d);
  CHECK(count_action(entries, "dispose_request") == 1);
  CHECK(count_action(entries, "dispose_approve") == 1);
  CHECK(count_action(entries, "dispose", a) == 1);
  CHECK(count_action(entries, "dispose", c) == 1);
  CHECK(count_action(entries, "dispose") == 2);
  auto listed = obj(http("GET", d.api("/dispositions"), auditor)).at("items").as_array();
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].at("state") == "done");
  CHECK(listed[0].at("decided_by") == "ada");

  // A second disposition, rejected: nothing goes.
  const std::string e = upload(d, officer, random_bytes_string(300, 5), "&category=traffic");
  settle();
  auto req2 = call(d, "POST", "/dispositions", second, R"({"items": [")" + e + R"("], "reason": "tidy"})");
  REQUIRE(req2.status == 201);
  const std::string disp2(obj(req2).at("id").as_string());
  auto rejected = http("POST", d.api("/dispositions/" + disp2 + "/reject"), d.admin_token());
  REQUIRE(rejected.status == 200);
  CHECK(obj(rejected).at("state") == "rejected");
  CHECK(http("POST", d.api("/dispositions/" + disp2 + "/approve"), d.admin_token()).status == 409);
  CHECK(http("GET", d.api("/evidence/" + e + "/content"), d.admin_token()).status == 200);
  CHECK(count_action(log_entries(d), "dispose_reject") == 1);
  CHECK(http("POST", d.api("/dispositions/01JAAAAAAAAAAAAAAAAAAAAAAA/approve"), second).status == 404);

  // The audit of the stopped daemon's folder is clean: absent blobs are disposed items'.
  REQUIRE(d.stop() == 0);
  auto audit = run_process({EVIDENCED_PATH, "verify", "--data", data.string(), "--json"});
  INFO(audit.out << audit.err);
  CHECK(audit.exit_code == 0);
}

TEST_CASE("lifecycle: late uploads are flagged, listed and counted", "[daemon][lifecycle]") {
  TempDir dir;
  Daemon d(dir.path() / "data", {"--upload-deadline", "90m"});
  const std::string officer = d.add_user("jo", "officer");
  const std::string auditor = d.add_user("al", "auditor");
  const std::string late = upload(d, officer, "recorded long ago");  // recorded_at 2026-11-27
  auto on_time = http("POST", d.api("/evidence?officer=jo&device=cam-1"), officer, "recorded now");
  REQUIRE(on_time.status == 201);
  const std::string fresh(obj(on_time).at("evidence_id").as_string());

  CHECK(record(d, late).at("late") == true);
  CHECK_FALSE(record(d, fresh).contains("late"));

  auto report = http("GET", d.api("/reports/late"), auditor);
  REQUIRE(report.status == 200);
  const auto items = obj(report).at("items").as_array();
  REQUIRE(items.size() == 1);
  CHECK(items[0].at("id").as_string() == late);
  CHECK(obj(http("GET", d.api("/reports/late?to=" + pct("2000-01-01T00:00:00Z")), auditor)).at("items").as_array().empty());
  CHECK(obj(http("GET", d.api("/reports/late?from=" + pct("2000-01-01T00:00:00Z")), auditor)).at("items").as_array().size() == 1);
  CHECK(http("GET", d.api("/reports/late?from=yesterday"), auditor).status == 400);
  CHECK(http("GET", d.api("/reports/late"), officer).status == 403);

  auto metrics = http("GET", d.api("/metrics"), auditor);
  REQUIRE(metrics.status == 200);
  CHECK(metrics.body.find("\nevidence_late_uploads_total 1\n") != std::string::npos);

  // A deadline that is not a duration stops serve with a usage error.
  REQUIRE(d.stop() == 0);
  auto bad = run_process({EVIDENCED_PATH, "serve", "--data", (dir.path() / "data").string(), "--listen", "127.0.0.1:0",
                          "--upload-deadline", "soon"});
  CHECK(bad.exit_code == 2);
}

TEST_CASE("lifecycle: due and disposition listings refuse bad parameters", "[daemon][lifecycle]") {
  TempDir dir;
  Daemon d(dir.path() / "data", {"--upload-deadline", "0s"});
  for (const char* q : {"/retention/due?limit=0", "/retention/due?limit=x", "/retention/due?cursor=garbage",
                        "/dispositions?limit=0", "/dispositions?cursor=garbage"}) {
    INFO(q);
    auto r = http("GET", d.api(q), d.admin_token());
    CHECK(r.status == 400);
    CHECK(obj(r).contains("error"));
  }
  CHECK(http("GET", d.api("/dispositions/not-an-id"), d.admin_token()).status == 404);
  // With a 0s deadline anything recorded before now is late.
  const std::string id = upload(d, d.admin_token(), "late at once");
  CHECK(record(d, id).at("late") == true);
}
