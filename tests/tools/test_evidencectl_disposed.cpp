// evidencectl verify-receipt on a disposed item's receipt (DESIGN.md, "Lifecycle"):
// with a server it says plainly that the item was disposed of, when, by which
// disposition and by whom, and exits 0 without the (deleted) file.
#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <fstream>

#include "tests/tools/ctl_fixture.h"

using namespace evidence::test;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

const Headers kJson{{"Content-Type", "application/json"}};

std::string bytes_of(unsigned seed) { return "lifecycle test item " + std::to_string(seed) + std::string(4000, 'x'); }

// Uploads over HTTP with a category; writes the receipt (the answer) to `receipt`.
std::string upload(const Daemon& d, const std::string& data, const std::string& category, const fs::path& receipt) {
  auto r = http("POST", d.api("/evidence?officer=jo&device=cam-1&filename=a.mp4&category=" + category),
                d.admin_token(), data);
  INFO(r.body);
  REQUIRE(r.status == 201);
  std::ofstream(receipt, std::ios::binary) << r.body;
  return std::string(json::parse(r.body).as_object().at("evidence_id").as_string());
}

}  // namespace

TEST_CASE("evidencectl verify-receipt reports a disposed item plainly and exits 0 without its file",
          "[evidencectl][daemon][lifecycle]") {
  TempDir tmp;
  Daemon d(tmp / "data", {"--min-retention-days", "0"});
  const std::string second = d.add_user("ada", "admin");
  REQUIRE(http("PUT", d.api("/retention/categories/brief"), d.admin_token(), R"({"days": 0})", kJson).status == 200);
  Ctl ctl(tmp / "home");
  ctl.server = d.url();
  ctl.token = d.add_user("al", "auditor");

  const fs::path gone_receipt = tmp / "gone.receipt.json", live_receipt = tmp / "live.receipt.json";
  const std::string gone = upload(d, bytes_of(5), "brief", gone_receipt);
  const std::string live_bytes = bytes_of(6);
  upload(d, live_bytes, "routine", live_receipt);
  auto req = http("POST", d.api("/dispositions"), d.admin_token(),
                  R"({"items": [")" + gone + R"("], "reason": "retention over"})", kJson);
  REQUIRE(req.status == 201);
  const std::string disp(json::parse(req.body).as_object().at("id").as_string());
  REQUIRE(http("POST", d.api("/dispositions/" + disp + "/approve"), second).status == 200);

  const auto v = ctl.run({"verify-receipt", gone_receipt.string()});
  INFO(v.out << v.err);
  CHECK(v.exit_code == 0);
  CHECK(v.out.find("receipt verified") != std::string::npos);
  CHECK(v.out.find("DISPOSED: " + gone + " was disposed of on ") != std::string::npos);
  CHECK(v.out.find("disposition " + disp) != std::string::npos);
  CHECK(v.out.find("approved by ada") != std::string::npos);
  CHECK(v.out.find("log entries: approval ") != std::string::npos);

  const auto j = ctl.run({"verify-receipt", gone_receipt.string(), "--json"});
  INFO(j.out << j.err);
  CHECK(j.exit_code == 0);
  const auto o = json::parse(j.out).as_object();
  CHECK(o.at("ok") == true);
  CHECK(o.at("disposed").at("disposition").as_string() == disp);
  CHECK(o.at("disposed").at("approved_by") == "ada");
  CHECK(o.at("disposed").at("dispose_entry").is_number());
  REQUIRE(o.at("disposed").at("approve_entry").is_number());
  // The approval is the entry just before the item's dispose entry, by the second admin.
  CHECK(o.at("disposed").at("approve_entry").to_number<std::uint64_t>() + 1 ==
        o.at("disposed").at("dispose_entry").to_number<std::uint64_t>());

  // A live item's receipt still needs its file; a server that does not answer cannot say.
  CHECK(ctl.run({"verify-receipt", live_receipt.string()}).exit_code == 2);
  const fs::path live_file = tmp / "live.bin";
  std::ofstream(live_file, std::ios::binary) << live_bytes;
  const auto lv = ctl.run({"verify-receipt", live_receipt.string(), live_file.string()});
  INFO(lv.out << lv.err);
  CHECK(lv.exit_code == 0);
  CHECK(lv.out.find("DISPOSED") == std::string::npos);
  ctl.server = "http://127.0.0.1:1";
  CHECK(ctl.run({"verify-receipt", gone_receipt.string()}).exit_code == 2);
}
