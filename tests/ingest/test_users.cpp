// People who come and go (DESIGN.md "Hardening", users): list, disable, change,
// rotate a token; every change a `user` custody entry; an officer whose certificate
// has lapsed still uploads, flagged.
#include <catch2/catch.hpp>
#include <thread>

#include "tests/ingest/daemon_fixture.h"

using namespace evidence;
using namespace evidence::test;
namespace json = boost::json;

namespace {

json::object find_user(const Daemon& d, const std::string& name) {
  auto r = http("GET", d.api("/users"), d.admin_token());
  REQUIRE(r.status == 200);
  const json::object body = obj(r);
  for (const auto& u : body.at("users").as_array()) {
    if (u.as_object().at("name").as_string() == name) return u.as_object();
  }
  FAIL("no user " << name << " in GET /users");
  return {};
}

std::vector<json::object> user_entries(const Daemon& d) {
  auto r = http("GET", d.api("/log/entries?start=0&end=100000"), d.admin_token());
  REQUIRE(r.status == 200);
  std::vector<json::object> out;
  const json::object body = obj(r);
  for (const auto& e : body.at("entries").as_array()) {
    if (e.as_object().at("action").as_string() == "user") out.push_back(e.as_object());
  }
  return out;
}

}  // namespace

TEST_CASE("admins list users, and change, disable and re-enable them, each change logged", "[daemon][users]") {
  TempDir dir;
  Daemon d(dir.path() / "data");
  auto created = http("POST", d.api("/users"), d.admin_token(),
                      R"({"name":"o.wang","role":"officer","badge":"031234","unit":"汉台分局",)"
                      R"("certificate":{"number":"ZF-1","valid_until":"2030-01-01T00:00:00Z"}})");
  REQUIRE(created.status == 201);
  const std::string token(obj(created).at("token").as_string());
  CHECK(obj(created).at("badge").as_string() == "031234");

  auto u = find_user(d, "o.wang");
  CHECK(u.at("role").as_string() == "officer");
  CHECK(u.at("disabled").as_bool() == false);
  CHECK(u.at("unit").as_string() == "汉台分局");
  CHECK(u.at("certificate").as_object().at("number").as_string() == "ZF-1");
  CHECK(!u.contains("token"));
  CHECK(u.at("created_at").is_string());

  // last_seen follows use.
  CHECK(http("GET", d.api("/search?officer=o.wang"), token).status == 200);
  CHECK(find_user(d, "o.wang").at("last_seen").is_string());

  // Change badge, unit and role; a bad field changes nothing.
  auto bad = http("PATCH", d.api("/users/o.wang"), d.admin_token(), R"({"role":"king","badge":"9"})");
  CHECK(bad.status == 400);
  CHECK(find_user(d, "o.wang").at("badge").as_string() == "031234");
  CHECK(http("PATCH", d.api("/users/o.wang"), d.admin_token(), R"({"password":"x"})").status == 400);
  auto changed = http("PATCH", d.api("/users/o.wang"), d.admin_token(), R"({"badge":"031235","role":"reviewer"})");
  REQUIRE(changed.status == 200);
  CHECK(obj(changed).at("role").as_string() == "reviewer");
  CHECK(find_user(d, "o.wang").at("badge").as_string() == "031235");
  CHECK(http("PATCH", d.api("/users/nobody"), d.admin_token(), R"({"badge":"1"})").status == 404);

  // Disabled: the very next request with the token is 401; enabled again, it works.
  REQUIRE(http("PATCH", d.api("/users/o.wang"), d.admin_token(), R"({"disabled":true})").status == 200);
  CHECK(http("GET", d.api("/cases?prefix="), token).status == 401);
  CHECK(find_user(d, "o.wang").at("disabled").as_bool() == true);
  REQUIRE(http("PATCH", d.api("/users/o.wang"), d.admin_token(), R"({"disabled":false})").status == 200);
  CHECK(http("GET", d.api("/cases?prefix="), token).status == 200);

  // Only admins manage people; an admin cannot lock themselves out.
  CHECK(http("GET", d.api("/users"), token).status == 403);
  CHECK(http("PATCH", d.api("/users/o.wang"), token, R"({"badge":"1"})").status == 403);
  CHECK(http("PATCH", d.api("/users/admin"), d.admin_token(), R"({"disabled":true})").status == 409);

  // Each change is a `user` entry naming who did it to whom, and no token.
  const auto entries = user_entries(d);
  REQUIRE(entries.size() == 4);  // create, badge+role, disable, enable
  CHECK(entries[0].at("detail").as_object().at("op").as_string() == "create");
  for (const auto& e : entries) {
    CHECK(e.at("actor").as_string() == "admin");
    CHECK(e.at("detail").as_object().at("user").as_string() == "o.wang");
    CHECK(json::serialize(e).find(token) == std::string::npos);
  }
  CHECK(entries[1].at("detail").as_object().at("changes").as_object().at("role").as_string() == "reviewer");
  CHECK(entries[2].at("detail").as_object().at("changes").as_object().at("disabled").as_bool() == true);
  CHECK(d.stop() == 0);
}

TEST_CASE("a rotated token replaces the old one at once", "[daemon][users]") {
  TempDir dir;
  Daemon d(dir.path() / "data");
  const std::string old_token = d.add_user("o.li", "officer");
  CHECK(http("GET", d.api("/search?officer=o.li"), old_token).status == 200);
  auto r = http("POST", d.api("/users/o.li/token"), d.admin_token());
  REQUIRE(r.status == 200);
  const std::string new_token(obj(r).at("token").as_string());
  CHECK(new_token != old_token);
  CHECK(http("GET", d.api("/search?officer=o.li"), old_token).status == 401);
  CHECK(http("GET", d.api("/search?officer=o.li"), new_token).status == 200);
  CHECK(http("POST", d.api("/users/nobody/token"), d.admin_token()).status == 404);
  // The rotation survives a restart, and so does last_seen.
  d.stop();
  d.start();
  CHECK(http("GET", d.api("/search?officer=o.li"), old_token).status == 401);
  CHECK(http("GET", d.api("/search?officer=o.li"), new_token).status == 200);
  CHECK(find_user(d, "o.li").at("last_seen").is_string());
  const auto entries = user_entries(d);
  REQUIRE(entries.size() == 2);
  CHECK(entries[1].at("detail").as_object().at("op").as_string() == "token");
  CHECK(d.stop() == 0);
}

TEST_CASE("an upload by an officer whose certificate has lapsed is kept and flagged", "[daemon][users]") {
  TempDir dir;
  Daemon d(dir.path() / "data");
  auto mk = [&](const std::string& name, const std::string& until) {
    auto r = http("POST", d.api("/users"), d.admin_token(),
                  R"({"name":")" + name + R"(","role":"officer","certificate":{"number":"ZF-9","valid_until":")" +
                      until + R"("}})");
    REQUIRE(r.status == 201);
    return std::string(obj(r).at("token").as_string());
  };
  const std::string lapsed = mk("o.lapsed", "2020-01-01T00:00:00Z");
  const std::string valid = mk("o.valid", "2099-01-01T00:00:00Z");
  auto a = http("POST", d.api("/evidence?officer=o.lapsed&device=cam"), lapsed, "lapsed footage");
  REQUIRE(a.status == 201);
  auto b = http("POST", d.api("/evidence?officer=o.valid&device=cam"), valid, "valid footage");
  REQUIRE(b.status == 201);
  auto rec_a = http("GET", d.api("/evidence/" + std::string(obj(a).at("evidence_id").as_string())), d.admin_token());
  auto rec_b = http("GET", d.api("/evidence/" + std::string(obj(b).at("evidence_id").as_string())), d.admin_token());
  REQUIRE(obj(rec_a).contains("flags"));
  CHECK(obj(rec_a).at("flags").as_array().size() == 1);
  CHECK(obj(rec_a).at("flags").as_array()[0].as_string() == "certificate_expired");
  CHECK_FALSE(obj(rec_b).contains("flags"));
  // A malformed certificate date is refused when the user is made.
  CHECK(http("POST", d.api("/users"), d.admin_token(),
             R"({"name":"o.x","role":"officer","certificate":{"number":"1","valid_until":"soon"}})")
            .status == 400);
  // And the audit is clean: the flag is part of the record its entry hashes.
  CHECK(run_process({EVIDENCED_PATH, "verify", "--data", d.data_dir().string()}).exit_code == 0);
  CHECK(d.stop() == 0);
}
