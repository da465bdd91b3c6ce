// The daemon's audit surface against the real daemon: POST /verify (report, custody
// entry, tamper found while serving), case export bundles (CJK, '/', spaces) that
// verify offline, and the background verifier of `serve --verify-every`.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <set>
#include <thread>

#include "store/ids.h"
#include "tests/ingest/daemon_fixture.h"
#include "verify/bundle.h"

using namespace evidence;
using namespace evidence::test;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

std::string upload(const Daemon& d, const std::string& body, const std::string& case_number = {}) {
  std::string url = d.api("/evidence?officer=" + pct("Officer Jo") + "&device=cam-7&filename=clip.bin&recorded_at=" +
                          pct("2026-11-27T10:00:00Z"));
  if (!case_number.empty()) url += "&case=" + pct(case_number);
  auto r = http("POST", url, d.admin_token(), body);
  REQUIRE(r.status == 201);
  return std::string(obj(r)["evidence_id"].as_string());
}

json::array log_entries(const Daemon& d) {
  json::array all;
  for (std::uint64_t start = 0;; ) {
    auto r = http("GET", d.api("/log/entries?start=" + std::to_string(start)), d.admin_token());
    REQUIRE(r.status == 200);
    auto page = obj(r)["entries"].as_array();
    if (page.empty()) return all;
    start += page.size();
    for (auto& e : page) all.push_back(e);
  }
}

std::string field(const json::value& entry, const char* key) {
  const auto* v = entry.as_object().if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

// The newest entry with this action (media work appends its own entries meanwhile).
json::value last_entry(const Daemon& d, const std::string& action) {
  auto all = log_entries(d);
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    if (field(*it, "action") == action) return *it;
  }
  FAIL("no " << action << " entry in the log");
  return {};
}

json::object post_verify(const Daemon& d, const std::string& token, const std::string& body) {
  auto r = http("POST", d.api("/verify"), token, body);
  INFO(r.body);
  REQUIRE(r.status == 200);
  return obj(r);
}

fs::path blob_file(const fs::path& data, const std::string& hex) {
  return data / "blobs" / "sha256" / hex.substr(0, 2) / hex;
}

void flip_byte(const fs::path& p, std::size_t at) {
  REQUIRE(::chmod(p.c_str(), 0644) == 0);
  std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
  REQUIRE(f);
  f.seekg(static_cast<std::streamoff>(at));
  char c = 0;
  f.get(c);
  c = static_cast<char>(c ^ 0x20);
  f.seekp(static_cast<std::streamoff>(at));
  f.put(c);
  f.close();
  REQUIRE(::chmod(p.c_str(), 0444) == 0);
}

bool ascii_printable(const std::string& s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

std::string metric_line(const std::string& text, const std::string& name) {
  std::size_t at = 0;
  while ((at = text.find(name + " ", at)) != std::string::npos) {
    if (at == 0 || text[at - 1] == '\n') return text.substr(at, text.find('\n', at) - at);
    at += name.size();
  }
  return {};
}

}  // namespace

TEST_CASE("POST /verify reports an intact store, logs each run, and finds a flipped blob byte while serving",
          "[daemon][audit]") {
  TempDir dir;
  const fs::path data = dir.path() / "data";
  Daemon d(data);
  const std::string auditor = d.add_user("audrey", "auditor");
  const std::string a_data = random_bytes_string(200000, 11);
  const std::string a = upload(d, a_data, "K-9");
  const std::string b = upload(d, random_bytes_string(5000, 12));

  auto rep = post_verify(d, auditor, R"({"scope":"all"})");
  CHECK(rep["ok"].as_bool());
  CHECK(rep["checked"].to_number<std::uint64_t>() == 2);
  CHECK(rep["problems"].as_array().empty());

  // The run is itself a custody entry, naming who ran it and what it found.
  const json::value last = last_entry(d, "verify");
  CHECK(field(last, "action") == "verify");
  CHECK(field(last, "actor") == "audrey");
  CHECK(field(last, "role") == "auditor");
  REQUIRE(last.as_object().contains("detail"));
  CHECK(last.as_object().at("detail").as_object().at("ok").as_bool());
  CHECK(last.as_object().at("detail").as_object().at("checked").to_number<std::uint64_t>() == 2);
  CHECK(last.as_object().at("detail").as_object().at("problems").to_number<std::uint64_t>() == 0);

  // Scoped runs name their scope in the entry.
  auto one = post_verify(d, auditor, json::serialize(json::object{{"scope", "evidence"}, {"id", b}}));
  CHECK(one["ok"].as_bool());
  CHECK(one["checked"].to_number<std::uint64_t>() == 1);
  CHECK(field(last_entry(d, "verify"), "evidence") == b);
  auto by_case = post_verify(d, d.admin_token(), json::serialize(json::object{{"scope", "case"}, {"id", "K-9"}}));
  CHECK(by_case["checked"].to_number<std::uint64_t>() == 1);
  CHECK(field(last_entry(d, "verify"), "case") == "K-9");

  // Damage one byte of a's blob under the running daemon.
  flip_byte(blob_file(data, sha256_hex(a_data)), 1234);
  auto bad = post_verify(d, auditor, R"({"scope":"all"})");
  CHECK_FALSE(bad["ok"].as_bool());
  bool named = false;
  for (auto& p : bad["problems"].as_array()) {
    if (field(p, "kind") == "content_mismatch" && field(p, "evidence") == a) named = true;
  }
  INFO(json::serialize(bad));
  CHECK(named);
  const json::value bad_entry = last_entry(d, "verify");
  CHECK(field(bad_entry, "action") == "verify");
  CHECK_FALSE(bad_entry.as_object().at("detail").as_object().at("ok").as_bool());
  CHECK(bad_entry.as_object().at("detail").as_object().at("problems").to_number<std::uint64_t>() >= 1);

  // The offline audit sees the same while the daemon keeps serving.
  auto offline = run_process({EVIDENCED_PATH, "verify", "--data", data.string(), "--json"});
  INFO(offline.out << offline.err);
  CHECK(offline.exit_code == 1);
  auto offline_rep = json::parse(offline.out).as_object();
  CHECK_FALSE(offline_rep["ok"].as_bool());
  CHECK(offline_rep["problems"].as_array().size() >= 1);

  // The metrics show the last whole-store run.
  auto metrics = http("GET", d.api("/metrics"), auditor);
  REQUIRE(metrics.status == 200);
  CHECK(metric_line(metrics.body, "evidence_verify_last_ok") == "evidence_verify_last_ok 0");
  CHECK(metric_line(metrics.body, "evidence_verify_runs_total") == "evidence_verify_runs_total 2");

  // The other item is still intact on its own.
  CHECK(post_verify(d, auditor, json::serialize(json::object{{"scope", "evidence"}, {"id", b}}))["ok"].as_bool());
  CHECK(d.stop() == 0);
}

TEST_CASE("POST /verify: only auditors and admins, well-formed scopes, 404 for what does not exist",
          "[daemon][audit]") {
  TempDir dir;
  Daemon d(dir.path() / "data");
  const std::string officer = d.add_user("olly", "officer");
  const std::string reviewer = d.add_user("rita", "reviewer");
  const std::string auditor = d.add_user("audrey", "auditor");
  upload(d, "some bytes", "K-1");
  const std::string all = R"({"scope":"all"})";

  CHECK(http("POST", d.api("/verify"), "", all).status == 401);
  CHECK(http("POST", d.api("/verify"), officer, all).status == 403);
  CHECK(http("POST", d.api("/verify"), reviewer, all).status == 403);
  CHECK(http("POST", d.api("/verify"), auditor, all).status == 200);

  for (const char* body : {R"({"scope":"everything"})", R"({})", R"({"scope":1})", R"({"scope":"case"})",
                           R"({"scope":"evidence","id":7})", R"({"scope":"case","id":""})",
                           R"({"scope":"all","id":"x"})", "not json", "[1]"}) {
    auto r = http("POST", d.api("/verify"), auditor, body);
    INFO(body << " -> " << r.body);
    CHECK(r.status == 400);
    CHECK(obj(r).contains("error"));
  }
  CHECK(http("POST", d.api("/verify"), auditor,
             json::serialize(json::object{{"scope", "evidence"}, {"id", new_evidence_id()}}))
            .status == 404);
  CHECK(http("POST", d.api("/verify"), auditor, R"({"scope":"evidence","id":"no-such-thing"})").status == 404);
  CHECK(http("POST", d.api("/verify"), auditor, R"({"scope":"case","id":"NO-SUCH-CASE"})").status == 404);
  // Refused and failed runs leave no verify entry.
  for (auto& e : log_entries(d)) {
    if (field(e, "action") == "verify") CHECK(field(e, "actor") == "audrey");
  }
}

TEST_CASE("export streams a case bundle (CJK, '/', spaces) that verifies offline, with export custody entries",
          "[daemon][audit][export]") {
  TempDir dir;
  Daemon d(dir.path() / "data");
  const std::string reviewer = d.add_user("rita", "reviewer");
  const std::string officer = d.add_user("olly", "officer");
  const std::string cjk = "汉台执罚〔2017〕第123号";
  const std::string slashy = "PD/2026/ 001 a";
  const std::string a = upload(d, random_bytes_string(300000, 21), cjk);
  const std::string b = upload(d, random_bytes_string(70000, 22), cjk);
  REQUIRE(http("POST", d.api("/evidence/" + b + "/cases"), reviewer, json::serialize(json::object{{"case", slashy}}))
              .status == 201);
  const std::string log_key(obj(http("GET", d.api("/keys"), reviewer))["log_key"].as_string());

  auto fetch = [&](const std::string& path, const fs::path& out) {
    auto r = http("GET", d.api(path), reviewer);
    INFO(path << " -> " << r.status << " " << r.body.substr(0, 300));
    REQUIRE(r.status == 200);
    CHECK(r.header("content-type") == "application/x-tar");
    const std::string disposition = r.header("content-disposition");
    CHECK(disposition.rfind("attachment;", 0) == 0);
    CHECK(ascii_printable(disposition));  // case numbers are data, never raw header bytes
    CHECK(disposition.find("filename=\"case-") != std::string::npos);
    std::ofstream(out, std::ios::binary) << r.body;
  };

  SECTION("a CJK case number") {
    const fs::path tar = dir.path() / "cjk.tar";
    fetch("/cases/" + pct(cjk) + "/export", tar);
    const auto rep = verify_bundle(tar, log_key);
    INFO(json::serialize(rep.to_json()));
    CHECK(rep.ok);
    CHECK(rep.case_number == cjk);
    CHECK(rep.items == 2);
    auto ctl = run_process({EVIDENCECTL_PATH, "verify-bundle", tar.string(), "--log-key", log_key});
    INFO(ctl.out << ctl.err);
    CHECK(ctl.exit_code == 0);

    std::set<std::string> exported;
    for (auto& e : log_entries(d)) {
      if (field(e, "action") != "export") continue;
      CHECK(field(e, "case") == cjk);
      CHECK(field(e, "actor") == "rita");
      CHECK(field(e, "role") == "reviewer");
      CHECK(e.as_object().at("detail").as_object().at("bundle_sha256").as_string() ==
            sha256_hex(read_file(tar)));
      exported.insert(field(e, "evidence"));
    }
    CHECK(exported == std::set<std::string>{a, b});
  }

  SECTION("a case number with '/' and spaces, encoded or with raw slashes") {
    for (const std::string& path : {"/cases/" + pct(slashy) + "/export", std::string("/cases/PD/2026/%20001%20a/export")}) {
      const fs::path tar = dir.path() / "slashy.tar";
      fetch(path, tar);
      const auto rep = verify_bundle(tar, log_key);
      INFO(path << ": " << json::serialize(rep.to_json()));
      CHECK(rep.ok);
      CHECK(rep.case_number == slashy);
      CHECK(rep.items == 1);
      fs::remove(tar);
    }
    std::size_t exports = 0;
    for (auto& e : log_entries(d)) {
      if (field(e, "action") == "export" && field(e, "case") == slashy && field(e, "evidence") == b) ++exports;
    }
    CHECK(exports == 2);
    // The case itself still reads, both ways.
    for (const std::string& path : {"/cases/" + pct(slashy), std::string("/cases/PD/2026/%20001%20a")}) {
      auto r = http("GET", d.api(path), reviewer);
      REQUIRE(r.status == 200);
      CHECK(obj(r)["case"].as_string() == slashy);
    }
  }

  SECTION("unknown cases, bad case numbers and officers are refused") {
    CHECK(http("GET", d.api("/cases/NO-SUCH-CASE/export"), reviewer).status == 404);
    CHECK(http("GET", d.api("/cases/" + pct(cjk) + "/export"), officer).status == 403);
    CHECK(http("GET", d.api("/cases/" + pct(cjk) + "/export"), "").status == 401);
    CHECK(http("GET", d.api("/cases/%01bad/export"), reviewer).status == 400);
    for (auto& e : log_entries(d)) CHECK(field(e, "action") != "export");
  }
}

TEST_CASE("serve --verify-every re-verifies in the background: system custody entries and metrics",
          "[daemon][audit]") {
  TempDir dir;
  Daemon d(dir.path() / "data", {"--verify-every", "1s"});
  upload(d, random_bytes_string(10000, 31));
  bool seen = false;
  for (int i = 0; i < 300 && !seen; ++i) {  // polls for up to a minute on a loaded machine
    for (auto& e : log_entries(d)) {
      if (field(e, "action") == "verify" && field(e, "actor") == "system" && field(e, "role") == "system") {
        CHECK(e.as_object().at("detail").as_object().at("ok").as_bool());
        seen = true;
      }
    }
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  REQUIRE(seen);
  auto metrics = http("GET", d.api("/metrics"), d.admin_token());
  REQUIRE(metrics.status == 200);
  CHECK(metric_line(metrics.body, "evidence_verify_last_ok") == "evidence_verify_last_ok 1");
  CHECK(metric_line(metrics.body, "evidence_verify_problems") == "evidence_verify_problems 0");
  CHECK(metric_line(metrics.body, "evidence_verify_runs_total") != "");
  CHECK(metric_line(metrics.body, "evidence_verify_runs_total") != "evidence_verify_runs_total 0");
  CHECK(d.stderr_text().find("verify_done") != std::string::npos);
  CHECK(d.stop() == 0);
}

TEST_CASE("serve refuses a malformed --verify-every", "[daemon][audit]") {
  TempDir dir;
  const fs::path data = dir.path() / "data";
  REQUIRE(run_process({EVIDENCED_PATH, "init", "--data", data.string()}).exit_code == 0);
  for (const char* bad : {"0s", "soon", "10x", "1.5h"}) {
    auto r = run_process({EVIDENCED_PATH, "serve", "--data", data.string(), "--listen", "127.0.0.1:0",
                          "--verify-every", bad},
                         {}, {}, 30);
    INFO(bad << ": " << r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("--verify-every") != std::string::npos);
  }
}
