// Who may upload in whose name (DESIGN.md, "Custody that proves itself"): an officer
// only in their own, a docking station (role station) in any officer's; a station
// reads what it uploaded and nothing else.
#include <catch2/catch.hpp>

#include "tests/ingest/daemon_fixture.h"

using namespace evidence;
using namespace evidence::test;

namespace {
const Headers kTus{{"Tus-Resumable", "1.0.0"}};
}

TEST_CASE("an officer naming another officer is a 403 and stores nothing, a station may", "[daemon][station]") {
  TempDir dir;
  Daemon d(dir.path() / "data");
  const std::string jo = d.add_user("Officer Jo", "officer");
  const std::string station = d.add_user("dock-3", "station");

  auto bad = http("POST", d.api("/evidence?officer=" + pct("Officer Al") + "&device=cam"), jo, "not mine");
  CHECK(bad.status == 403);
  CHECK(obj(bad)["error"].as_string() == "officer_mismatch");
  auto bad_tus = http("POST", d.api("/uploads"), jo, "",
                      {{"Tus-Resumable", "1.0.0"}, {"Upload-Length", "5"},
                       {"Upload-Metadata", "officer " + b64("Officer Al") + ",device " + b64("cam")}});
  CHECK(bad_tus.status == 403);
  CHECK(obj(bad_tus)["error"].as_string() == "officer_mismatch");
  CHECK(stored_files(d.data_dir()) == 0);
  CHECK(obj(http("GET", d.api("/search"), d.admin_token()))["items"].as_array().empty());

  // Their own name: fine.
  auto own = http("POST", d.api("/evidence?officer=" + pct("Officer Jo") + "&device=cam"), jo, "mine");
  REQUIRE(own.status == 201);
  const std::string jo_item(obj(own)["evidence_id"].as_string());

  // The station uploads for Officer Al, by one-shot and by tus.
  auto docked = http("POST", d.api("/evidence?officer=" + pct("Officer Al") + "&device=cam-9"), station, "docked");
  REQUIRE(docked.status == 201);
  const std::string item(obj(docked)["evidence_id"].as_string());
  auto rec = obj(http("GET", d.api("/evidence/" + item), station));
  CHECK(rec["officer"].as_string() == "Officer Al");
  CHECK(rec["uploaded_by"].as_string() == "dock-3");
  auto t = http("POST", d.api("/uploads"), station, "",
                {{"Tus-Resumable", "1.0.0"}, {"Upload-Length", "5"},
                 {"Upload-Metadata", "officer " + b64("Officer Al") + ",device " + b64("cam-9")}});
  CHECK(t.status == 201);
  // The custody entry names the station as the actor, with its role.
  auto custody = obj(http("GET", d.api("/evidence/" + item + "/custody"), d.admin_token()));
  const auto& first = custody["entries"].as_array().at(0).as_object();
  CHECK(first.at("actor").as_string() == "dock-3");
  CHECK(first.at("role").as_string() == "station");

  // A station reads its own uploads only, and does nothing a reviewer or auditor does.
  CHECK(http("GET", d.api("/evidence/" + jo_item), station).status == 404);
  auto found = obj(http("GET", d.api("/search"), station))["items"].as_array();
  CHECK(found.size() == 1);
  CHECK(http("POST", d.api("/evidence/" + item + "/cases"), station, R"({"case":"K-1"})",
             {{"Content-Type", "application/json"}})
            .status == 403);
  CHECK(http("GET", d.api("/log/entries?start=0&end=10"), station).status == 403);
  CHECK(http("GET", d.api("/cases"), station).status == 403);
}
