// Interoperability: the reference JavaScript tus client (tus-js-client 4, Node 20)
// uploads to the real daemon, in one request and in small chunks.
#include <catch2/catch.hpp>
#include <fstream>

#include "tests/ingest/daemon_fixture.h"

using namespace evidence;
using namespace evidence::test;

namespace {

const std::filesystem::path kJsDir = std::filesystem::path(EVIDENCE_SOURCE_DIR) / "tests" / "js";

void ensure_node_modules() {
  if (std::filesystem::exists(kJsDir / "node_modules" / "tus-js-client")) return;
  auto r = run_process({"/usr/bin/npm", "ci", "--no-audit", "--no-fund", "--prefix", kJsDir.string()}, {}, {}, 300);
  if (r.exit_code != 0) {
    FAIL("tus-js-client is not installed and `npm ci --prefix tests/js` failed (exit "
         << r.exit_code << "): " << r.err << "\nRun `npm ci --prefix tests/js` with access to the npm registry.");
  }
}

}  // namespace

TEST_CASE("tus-js-client uploads a file that becomes evidence with the same bytes", "[daemon][tus][js]") {
  ensure_node_modules();
  TempDir dir;
  Daemon d(dir.path() / "data");
  const std::string token = d.add_user("Officer Tus", "officer");
  const std::string data = random_bytes_string(700000, 21);
  const auto file = dir.path() / "clip.mp4";
  { std::ofstream(file, std::ios::binary) << data; }

  for (const char* chunk : {"", "65536"}) {
    std::vector<std::string> argv{"/usr/bin/node", (kJsDir / "upload.js").string(), d.url(), token, file.string()};
    if (*chunk) argv.emplace_back(chunk);
    auto r = run_process(argv, {}, {}, 120);
    INFO("chunk size " << (*chunk ? chunk : "whole") << "\nstdout: " << r.out << "\nstderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    auto out = boost::json::parse(r.out).as_object();
    const std::string id(out["evidence_id"].as_string());
    REQUIRE(!id.empty());
    auto rec = obj(http("GET", d.api("/evidence/" + id), token));
    CHECK(rec["sha256"].as_string() == sha256_hex(data));
    CHECK(rec["officer"].as_string() == "Officer Tus");
    CHECK(http("GET", d.api("/evidence/" + id + "/content"), token).body == data);
    auto receipt = http("GET", std::string(out["upload_url"].as_string()), token);
    CHECK(receipt.status == 200);
  }
}
