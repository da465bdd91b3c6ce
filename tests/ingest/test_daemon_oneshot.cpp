// One-shot uploads, receipts, reading, auth and bad input, against the real daemon.
#include <catch2/catch.hpp>
#include <fstream>

#include "tests/ingest/daemon_fixture.h"
#include "verify/receipt.h"

using namespace evidence;
using namespace evidence::test;
namespace json = boost::json;

namespace {

std::string upload_url(const Daemon& d, const std::string& extra = "") {
  return d.api("/evidence?officer=" + pct("Officer Jo") + "&device=cam-7&recorded_at=" +
               pct("2026-11-27T10:00:00+01:00") + "&filename=clip.mp4" + extra);
}

}  // namespace

TEST_CASE("one-shot upload answers a receipt that verifies and content reads back with ranges", "[daemon]") {
  TempDir dir;
  Daemon d(dir.path() / "data");
  const std::string data = random_bytes_string(300000, 7);
  auto r = http("POST", upload_url(d, "&case=" + pct("K-1")), d.admin_token(), data,
                {{"Content-Digest", "sha-256=:" + sha256_b64(data) + ":"}});
  REQUIRE(r.status == 201);
  auto receipt = obj(r);
  const std::string id(receipt["evidence_id"].as_string());
  CHECK(receipt["sha256"].as_string() == sha256_hex(data));
  CHECK(receipt["size"].to_number<std::uint64_t>() == data.size());
  CHECK(receipt["officer"].as_string() == "Officer Jo");
  CHECK(receipt["device"].as_string() == "cam-7");
  CHECK(receipt["cases"].as_array().size() == 1);
  CHECK(receipt["recorded_at"].as_string() == "2026-11-27T10:00:00+01:00");
  CHECK(!receipt["received_at"].as_string().empty());
  CHECK(!receipt["timestamp_token"].as_string().empty());
  CHECK(!receipt["log_entry"].as_string().empty());
  CHECK(receipt["inclusion_proof"].as_object()["index"] == receipt["log_index"]);
  CHECK(receipt["checkpoint"].as_string().find("— ") != json::string::npos);

  // The receipt checks offline with the verify/ receipt checker.
  const auto path = dir.path() / "clip.mp4";
  { std::ofstream(path, std::ios::binary) << data; }
  const auto check = verify_receipt(receipt, path, std::nullopt, std::nullopt);
  INFO(json::serialize(check.to_json()));
  CHECK(check.ok());

  auto rec = http("GET", d.api("/evidence/" + id), d.admin_token());
  REQUIRE(rec.status == 200);
  CHECK(obj(rec)["id"].as_string() == id);
  CHECK(obj(rec)["sha256"].as_string() == sha256_hex(data));

  auto content = http("GET", d.api("/evidence/" + id + "/content"), d.admin_token());
  REQUIRE(content.status == 200);
  CHECK(content.body == data);
  CHECK(content.header("etag") == "\"" + sha256_hex(data) + "\"");
  CHECK(content.header("accept-ranges") == "bytes");
  CHECK(content.header("repr-digest") == "sha-256=:" + sha256_b64(data) + ":");
  CHECK(content.header("content-type") == "video/mp4");

  auto part = http("GET", d.api("/evidence/" + id + "/content"), d.admin_token(), "", {{"Range", "bytes=100-199"}});
  REQUIRE(part.status == 206);
  CHECK(part.body == data.substr(100, 100));
  CHECK(part.header("content-range") == "bytes 100-199/" + std::to_string(data.size()));
  auto tail = http("GET", d.api("/evidence/" + id + "/content"), d.admin_token(), "", {{"Range", "bytes=-10"}});
  REQUIRE(tail.status == 206);
  CHECK(tail.body == data.substr(data.size() - 10));
  auto beyond = http("GET", d.api("/evidence/" + id + "/content"), d.admin_token(), "",
                     {{"Range", "bytes=" + std::to_string(data.size()) + "-"}});
  CHECK(beyond.status == 416);
  CHECK(beyond.header("content-range") == "bytes */" + std::to_string(data.size()));

  // The time stamp verifies with nothing but openssl and the instance's CA.
  auto ts = http("GET", d.api("/evidence/" + id + "/timestamp"), d.admin_token());
  REQUIRE(ts.status == 200);
  CHECK(ts.header("content-type") == "application/timestamp-reply");
  const auto tsr = dir.path() / "token.tsr";
  { std::ofstream(tsr, std::ios::binary) << ts.body; }
  auto ossl = run_process({"/usr/bin/openssl", "ts", "-verify", "-data", path.string(), "-in", tsr.string(), "-CAfile",
                           (d.data_dir() / "keys" / "tsa-ca.pem").string()});
  INFO(ossl.out << ossl.err);
  CHECK(ossl.exit_code == 0);
  CHECK(ossl.out.find("Verification: OK") != std::string::npos);

  // Views and downloads are custody events with inclusion proofs.
  auto custody = http("GET", d.api("/evidence/" + id + "/custody"), d.admin_token());
  REQUIRE(custody.status == 200);
  std::vector<std::string> actions;
  const auto custody_json = obj(custody);  // kept alive: the loop walks into it
  for (auto& e : custody_json.at("entries").as_array()) {
    actions.emplace_back(e.as_object().at("action").as_string());
    CHECK(e.as_object().at("inclusion_proof").is_object());
  }
  REQUIRE(!actions.empty());
  CHECK(actions.front() == "ingest");
  CHECK(std::count(actions.begin(), actions.end(), "view") == 1);
  // Three reads sent bytes (whole, range, suffix); the 416 sent none and is no download.
  CHECK(std::count(actions.begin(), actions.end(), "download") == 3);
}

TEST_CASE("bad one-shot input answers a JSON 4xx and stores nothing", "[daemon]") {
  TempDir dir;
  Daemon d(dir.path() / "data");
  const std::string data = random_bytes_string(5000, 3);
  const std::string t = d.admin_token();
  const auto base = d.api("/evidence?");
  struct Case {
    std::string name, url;
    Headers headers;
    long status;
  };
  const std::vector<Case> cases = {
      {"missing officer", base + "device=c", {}, 400},
      {"missing device", base + "officer=o", {}, 400},
      {"bad recorded_at", base + "officer=o&device=c&recorded_at=yesterday", {}, 400},
      {"empty case", base + "officer=o&device=c&case=", {}, 400},
      {"case too long", base + "officer=o&device=c&case=" + std::string(129, 'x'), {}, 400},
      {"case with control char", base + "officer=o&device=c&case=a%01b", {}, 400},
      {"case not UTF-8", base + "officer=o&device=c&case=%FF%FE", {}, 400},
      {"digest mismatch", base + "officer=o&device=c",
       {{"Content-Digest", "sha-256=:" + sha256_b64("other") + ":"}}, 400},
      {"legacy digest mismatch", base + "officer=o&device=c", {{"Digest", "SHA-256=" + sha256_b64("other")}}, 400},
      {"malformed digest", base + "officer=o&device=c", {{"Content-Digest", "sha-256=:zz:"}}, 400},
  };
  for (const auto& c : cases) {
    SECTION(c.name) {
      auto r = http("POST", c.url, t, data, c.headers);
      CHECK(r.status == c.status);
      auto o = obj(r);
      CHECK(o["error"].is_string());
      CHECK(o["message"].is_string());
      CHECK(stored_files(d.data_dir()) == 0);
      // The daemon keeps serving.
      CHECK(http("GET", d.api("/healthz")).status == 200);
    }
  }
  SECTION("legacy Digest header that matches is accepted") {
    auto r = http("POST", base + "officer=o&device=c", t, data, {{"Digest", "SHA-256=" + sha256_b64(data)}});
    CHECK(r.status == 201);
  }
}

TEST_CASE("unknown routes, wrong methods and oversized headers answer 404, 405, 431", "[daemon]") {
  TempDir dir;
  Daemon d(dir.path() / "data");
  auto nf = http("GET", d.api("/nothing/here"), d.admin_token());
  CHECK(nf.status == 404);
  CHECK(obj(nf)["error"].as_string() == "not_found");
  CHECK(http("GET", d.url() + "/elsewhere").status == 404);
  auto m = http("PUT", d.api("/evidence"), d.admin_token(), "x");
  CHECK(m.status == 405);
  CHECK(obj(m)["error"].as_string() == "method_not_allowed");
  auto big = http("GET", d.api("/healthz"), "", "", {{"X-Padding", std::string(40000, 'a')}});
  CHECK(big.status == 431);
  CHECK(http("GET", d.api("/evidence/01ARZ3NDEKTSV4RRFFQ69G5FAV"), d.admin_token()).status == 404);
  CHECK(http("GET", d.api("/healthz")).status == 200);
}

TEST_CASE("bearer tokens and roles: 401 without a valid token, 403 for the wrong role", "[daemon]") {
  TempDir dir;
  Daemon d(dir.path() / "data");
  const std::string officer = d.add_user("jo", "officer");
  const std::string other = d.add_user("al", "officer");
  const std::string reviewer = d.add_user("rev", "reviewer");
  const std::string auditor = d.add_user("aud", "auditor");
  CHECK(officer.size() >= 43);

  CHECK(http("GET", d.api("/cases")).status == 401);
  CHECK(http("GET", d.api("/cases"), "not-a-token").status == 401);
  CHECK(http("GET", d.api("/cases"), officer).status == 403);
  CHECK(http("GET", d.api("/cases"), reviewer).status == 200);
  CHECK(http("POST", d.api("/users"), reviewer, R"({"name":"x","role":"admin"})").status == 403);
  CHECK(http("POST", d.api("/users"), d.admin_token(), R"({"name":"x","role":"wizard"})").status == 400);
  CHECK(http("POST", d.api("/users"), d.admin_token(), R"({"name":"jo","role":"officer"})").status == 409);
  CHECK(http("POST", d.api("/evidence?officer=o&device=c"), reviewer, "data").status == 403);
  CHECK(http("GET", d.api("/log/entries"), officer).status == 403);
  CHECK(http("GET", d.api("/log/entries"), auditor).status == 200);
  CHECK(http("GET", d.api("/metrics"), auditor).status == 200);

  auto up = http("POST", d.api("/evidence?officer=jo&device=c"), officer, "mine");
  REQUIRE(up.status == 201);
  const std::string id(obj(up)["evidence_id"].as_string());
  CHECK(http("GET", d.api("/evidence/" + id), officer).status == 200);
  CHECK(http("GET", d.api("/evidence/" + id + "/content"), officer).body == "mine");
  // Another officer cannot see it; reviewers and auditors can.
  CHECK(http("GET", d.api("/evidence/" + id), other).status == 404);
  CHECK(http("GET", d.api("/evidence/" + id + "/content"), other).status == 404);
  CHECK(http("GET", d.api("/evidence/" + id), reviewer).status == 200);
  CHECK(http("GET", d.api("/evidence/" + id), auditor).status == 200);
  // Only reviewers and admins link.
  CHECK(http("POST", d.api("/evidence/" + id + "/cases"), officer, R"({"case":"C-1"})").status == 403);
  CHECK(http("POST", d.api("/evidence/" + id + "/cases"), reviewer, R"({"case":"C-1"})").status == 201);
}

TEST_CASE("keys, checkpoint, healthz and metrics", "[daemon]") {
  TempDir dir;
  Daemon d(dir.path() / "data");
  auto up = http("POST", d.api("/evidence?officer=o&device=c"), d.admin_token(), "abc");
  REQUIRE(up.status == 201);
  auto keys = obj(http("GET", d.api("/keys"), d.admin_token()));
  CHECK(keys["log_key"].as_string().find("+") != json::string::npos);
  CHECK(keys["tsa_ca_pem"].as_string().find("BEGIN CERTIFICATE") != json::string::npos);
  CHECK(keys["tsa_cert_pem"].as_string().find("BEGIN CERTIFICATE") != json::string::npos);
  auto cp = http("GET", d.api("/log/checkpoint"), d.admin_token());
  REQUIRE(cp.status == 200);
  CHECK(cp.body.find("\n— ") != std::string::npos);
  auto incl = http("GET", d.api("/log/proof/inclusion?index=0&size=1"), d.admin_token());
  CHECK(incl.status == 200);
  CHECK(http("GET", d.api("/log/proof/consistency?old=1&new=1"), d.admin_token()).status == 200);
  CHECK(http("GET", d.api("/log/proof/inclusion?index=5&size=1"), d.admin_token()).status == 400);
  auto entries = obj(http("GET", d.api("/log/entries?start=0&end=10"), d.admin_token()));
  REQUIRE(entries["entries"].as_array().size() >= 1);
  CHECK(entries["entries"].as_array()[0].as_object().at("action").as_string() == "ingest");
  auto metrics = http("GET", d.api("/metrics"), d.admin_token());
  CHECK(metrics.body.find("evidence_uploads_total 1") != std::string::npos);
  CHECK(metrics.body.find("evidence_http_request_duration_seconds_bucket") != std::string::npos);
  CHECK(metrics.body.find("evidence_log_size") != std::string::npos);
}

TEST_CASE("SIGTERM stops the daemon with exit 0 and a final checkpoint", "[daemon]") {
  TempDir dir;
  Daemon d(dir.path() / "data");
  REQUIRE(http("POST", d.api("/evidence?officer=o&device=c"), d.admin_token(), "abc").status == 201);
  CHECK(d.stop() == 0);
  d.start();
  auto cp = http("GET", d.api("/log/checkpoint"), d.admin_token());
  REQUIRE(cp.status == 200);
  CHECK(cp.body.find("\n1\n") != std::string::npos);
}
