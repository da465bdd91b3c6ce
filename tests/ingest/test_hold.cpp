// Legal hold on the local backend: POST/DELETE /api/v1/evidence/{id}/hold (admin only),
// recorded in the index and in the custody log.
#include <catch2/catch.hpp>

#include "tests/ingest/daemon_fixture.h"

using namespace evidence;
using namespace evidence::test;
namespace json = boost::json;

namespace {

std::string upload(const Daemon& d, const std::string& token, const std::string& data) {
  auto r = http("POST",
                d.api("/evidence?officer=jo&device=cam-1&recorded_at=" + pct("2026-11-27T10:00:00Z") +
                      "&filename=a.mp4&case=H-1"),
                token, data);
  REQUIRE(r.status == 201);
  return std::string(obj(r)["evidence_id"].as_string());
}

// The custody entries of an item with this action: (actor, detail or null).
std::vector<json::object> custody(const Daemon& d, const std::string& id, const std::string& action) {
  auto r = http("GET", d.api("/evidence/" + id + "/custody"), d.admin_token());
  REQUIRE(r.status == 200);
  std::vector<json::object> out;
  const auto body = obj(r);
  for (const auto& e : body.at("entries").as_array()) {
    if (e.as_object().at("action").as_string() == action) out.push_back(e.as_object());
  }
  return out;
}

bool held(const Daemon& d, const std::string& id) {
  auto rec = obj(http("GET", d.api("/evidence/" + id), d.admin_token()));
  return rec.contains("legal_hold") && rec["legal_hold"] == true;
}

}  // namespace

TEST_CASE("legal hold: an admin sets and clears it, each a custody entry, others get 403", "[daemon][hold]") {
  TempDir dir;
  Daemon d(dir.path() / "data");
  const std::string officer = d.add_user("jo", "officer");
  const std::string reviewer = d.add_user("rita", "reviewer");
  const std::string auditor = d.add_user("al", "auditor");
  const std::string id = upload(d, officer, random_bytes_string(4000, 1));
  CHECK_FALSE(held(d, id));

  for (const auto& t : {officer, reviewer, auditor}) {
    CHECK(http("POST", d.api("/evidence/" + id + "/hold"), t).status == 403);
    CHECK(http("DELETE", d.api("/evidence/" + id + "/hold"), t).status == 403);
  }
  CHECK(http("POST", d.api("/evidence/" + id + "/hold")).status == 401);
  CHECK(custody(d, id, "hold").empty());
  CHECK_FALSE(held(d, id));

  auto on = http("POST", d.api("/evidence/" + id + "/hold?reason=" + pct("court order 2026/17")), d.admin_token());
  REQUIRE(on.status == 200);
  CHECK(obj(on)["legal_hold"] == true);
  CHECK(held(d, id));
  auto holds = custody(d, id, "hold");
  REQUIRE(holds.size() == 1);
  CHECK(holds[0]["actor"].as_string() == "admin");
  CHECK(holds[0]["role"].as_string() == "admin");
  CHECK(holds[0]["evidence"].as_string() == id);
  CHECK(holds[0]["detail"].as_object()["reason"].as_string() == "court order 2026/17");
  CHECK(holds[0]["index"] == obj(on)["log_index"]);

  auto off = http("DELETE", d.api("/evidence/" + id + "/hold"), d.admin_token());
  REQUIRE(off.status == 200);
  CHECK(obj(off)["legal_hold"] == false);
  CHECK_FALSE(held(d, id));
  REQUIRE(custody(d, id, "release").size() == 1);

  CHECK(http("POST", d.api("/evidence/01ARZ3NDEKTSV4RRFFQ69G5FAV/hold"), d.admin_token()).status == 404);
  CHECK(http("POST", d.api("/evidence/" + id + "/hold?reason=" + pct("a\nb")), d.admin_token()).status == 400);

  // The log with hold entries still verifies.
  auto v = run_process({EVIDENCED_PATH, "verify", "--data", d.data_dir().string(), "--json"}, {}, {}, 300);
  INFO(v.out << v.err);
  CHECK(v.exit_code == 0);
}

TEST_CASE("legal hold: items that share content are held independently", "[daemon][hold]") {
  TempDir dir;
  Daemon d(dir.path() / "data");
  const std::string data = random_bytes_string(3000, 2);
  const std::string a = upload(d, d.admin_token(), data);
  const std::string b = upload(d, d.admin_token(), data);
  REQUIRE(http("POST", d.api("/evidence/" + a + "/hold"), d.admin_token(), R"({"reason":"warrant 12"})",
               {{"Content-Type", "application/json"}})
              .status == 200);
  auto holds = custody(d, a, "hold");
  REQUIRE(holds.size() == 1);
  CHECK(holds[0]["detail"].as_object()["reason"].as_string() == "warrant 12");
  REQUIRE(http("POST", d.api("/evidence/" + b + "/hold"), d.admin_token()).status == 200);
  REQUIRE(http("DELETE", d.api("/evidence/" + a + "/hold"), d.admin_token()).status == 200);
  CHECK_FALSE(held(d, a));
  CHECK(held(d, b));
  // A hold survives a restart (it is in the index).
  d.stop();
  d.start();
  CHECK(held(d, b));
}
