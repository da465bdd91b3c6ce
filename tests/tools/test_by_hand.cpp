// The by-hand checks of docs/auditing.md, run exactly as written there: the Python
// receipt check against receipts the daemon issued (and tampered copies of them), and
// the bundle guide's checkpoint-signature steps against an exported bundle (and one
// whose bundled log key was replaced and its checkpoint re-signed with the new one).
#include <catch2/catch.hpp>

#include <fstream>
#include <regex>

#include "tests/ingest/daemon_fixture.h"

using namespace evidence;
using namespace evidence::test;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

std::string docs() { return read_file(fs::path(EVIDENCE_SOURCE_DIR) / "docs" / "auditing.md"); }

// The fenced block that follows `marker` in docs/auditing.md.
std::string block_after(const std::string& marker, const std::string& fence) {
  const std::string text = docs();
  const auto at = text.find(marker);
  REQUIRE(at != std::string::npos);
  const auto open = text.find(fence, at);
  REQUIRE(open != std::string::npos);
  const auto start = text.find('\n', open) + 1;
  const auto end = text.find("\n```", start);
  REQUIRE(end != std::string::npos);
  return text.substr(start, end - start + 1);
}

void write(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

struct Run {
  int code;
  std::string out;
};

Run check_receipt(const fs::path& script, const json::object& receipt, const fs::path& dir, const fs::path& file,
                  const std::string& vkey, const fs::path& ca) {
  const fs::path r = dir / "receipt.json";
  write(r, json::serialize(receipt));
  auto p = run_process({"/usr/bin/python3", script.string(), r.string(), file.string(), vkey, ca.string()});
  return {p.exit_code, p.out + p.err};
}

}  // namespace

TEST_CASE("docs/auditing.md: the by-hand receipt check passes real receipts and fails tampered ones",
          "[by_hand][receipt]") {
  TempDir dir;
  const fs::path script = dir.path() / "check_receipt.py";
  write(script, block_after("<!-- by-hand receipt check -->", "```python"));
  Daemon d(dir.path() / "data");
  const std::string vkey(obj(http("GET", d.api("/keys"), d.admin_token()))["log_key"].as_string());
  const fs::path ca = d.data_dir() / "keys" / "tsa-ca.pem";

  // Several items, so the proofs have interior nodes; each receipt checks as issued.
  std::vector<json::object> receipts;
  std::vector<fs::path> files;
  for (unsigned i = 0; i < 7; ++i) {
    const std::string data = random_bytes_string(3000 + i, i + 1);
    files.push_back(dir.path() / ("f" + std::to_string(i)));
    write(files.back(), data);
    auto r = http("POST", d.api("/evidence?officer=admin&device=cam-" + std::to_string(i)), d.admin_token(), data);
    REQUIRE(r.status == 201);
    receipts.push_back(obj(r));
    auto run = check_receipt(script, receipts.back(), dir.path(), files.back(), vkey, ca);
    INFO(run.out);
    CHECK(run.code == 0);
    for (const char* step : {"content", "timestamp", "log_entry", "record", "inclusion_proof", "checkpoint_signature"}) {
      CHECK(run.out.find(std::string("ok    ") + step) != std::string::npos);
    }
  }

  // The first item against today's checkpoint: a proof from leaf 0 through a larger tree.
  json::object fresh = receipts[0];
  const std::string cp = http("GET", d.api("/log/checkpoint"), d.admin_token()).body;
  const std::string size = cp.substr(cp.find('\n') + 1, cp.find('\n', cp.find('\n') + 1) - cp.find('\n') - 1);
  auto proof = obj(http("GET", d.api("/log/proof/inclusion?index=0&size=" + size), d.admin_token()));
  REQUIRE(proof["hashes"].as_array().size() >= 3);
  fresh["checkpoint"] = cp;
  fresh["inclusion_proof"] = proof;
  {
    auto run = check_receipt(script, fresh, dir.path(), files[0], vkey, ca);
    INFO(run.out);
    CHECK(run.code == 0);
  }

  auto expect_fail = [&](const json::object& receipt, const fs::path& file, const std::string& key,
                         const fs::path& tsa_ca, const std::string& step) {
    auto run = check_receipt(script, receipt, dir.path(), file, key, tsa_ca);
    INFO(run.out);
    CHECK(run.code != 0);
    CHECK(run.out.find("FAIL  " + step) != std::string::npos);
  };
  SECTION("another file") { expect_fail(receipts[1], files[2], vkey, ca, "content"); }
  SECTION("a record swapped for another item's") {
    json::object r = receipts[1];
    r["record"] = receipts[2]["record"];
    expect_fail(r, files[1], vkey, ca, "record");
  }
  SECTION("a proof hash altered") {
    json::object r = fresh;
    auto& hashes = r["inclusion_proof"].as_object()["hashes"].as_array();
    hashes[1] = hashes[0];
    expect_fail(r, files[0], vkey, ca, "inclusion_proof");
  }
  SECTION("another log's key, even when the receipt carries that log's key") {
    TempDir other;
    REQUIRE(run_process({EVIDENCED_PATH, "init", "--data", (other.path() / "d").string()}).exit_code == 0);
    const std::string other_key = read_file(other.path() / "d" / "keys" / "log-ed25519.pub");
    json::object r = receipts[3];
    r["log_key"] = other_key;
    expect_fail(r, files[3], other_key, ca, "checkpoint_signature");
  }
  SECTION("another TSA's CA") {
    TempDir other;
    REQUIRE(run_process({EVIDENCED_PATH, "init", "--data", (other.path() / "d").string()}).exit_code == 0);
    expect_fail(receipts[4], files[4], vkey, other.path() / "d" / "keys" / "tsa-ca.pem", "timestamp");
  }
}

TEST_CASE("docs/auditing.md: the bundle guide's signature steps refuse a bundle whose log key was replaced",
          "[by_hand][bundle]") {
  TempDir dir;
  Daemon d(dir.path() / "data");
  const std::string vkey(obj(http("GET", d.api("/keys"), d.admin_token()))["log_key"].as_string());
  REQUIRE(http("POST", d.api("/evidence?officer=admin&device=c&case=BY-HAND-1"), d.admin_token(), "footage").status == 201);
  auto tar = http("GET", d.api("/cases/BY-HAND-1/export"), d.admin_token());
  REQUIRE(tar.status == 200);
  const fs::path x = dir.path() / "x";
  fs::create_directories(x);
  write(dir.path() / "case.tar", tar.body);
  REQUIRE(run_process({"/usr/bin/tar", "-xf", (dir.path() / "case.tar").string(), "-C", x.string()}).exit_code == 0);
  REQUIRE(fs::exists(x / "checkpoint.txt"));
  write(x / "log.vkey", vkey);

  // The guide's lines from the trusted key to the signature check, as written.
  const std::string guide = block_after("### By hand\n\nA court's expert", "```sh");
  const auto from = guide.find("vkey=$(cat log.vkey)");
  const auto to = guide.find("openssl pkeyutl -verify");
  REQUIRE(from != std::string::npos);
  REQUIRE(to != std::string::npos);
  const std::string steps = "set -e\ncd '" + x.string() + "'\n" + guide.substr(from, guide.find('\n', to) + 1 - from);
  auto genuine = run_process({"/bin/bash", "-c", steps});
  INFO(steps << genuine.out << genuine.err);
  CHECK(genuine.exit_code == 0);

  // A forger replaces the bundle's key files with their own and re-signs the
  // checkpoint (same origin and key id): the guide uses the trusted vkey, so it fails.
  const std::string forge =
      "set -e\ncd '" + x.string() + "'\n"
      "openssl genpkey -algorithm ed25519 -out forged.key\n"
      "openssl pkey -in forged.key -pubout -out keys/log.pem\n"
      "awk '/^$/{exit} {print}' checkpoint.txt > body\n"
      "openssl pkeyutl -sign -inkey forged.key -rawin -in body -out sig\n"
      "line=$(grep '^— ' checkpoint.txt | head -n 1)\n"
      "id=$(echo \"$line\" | awk '{print $3}' | base64 -d | head -c 4 | base64)\n"
      "sig=$( { echo \"$id\" | base64 -d; cat sig; } | base64 -w0)\n"
      "{ cat body; echo; echo \"$(echo \"$line\" | awk '{print $1\" \"$2}') $sig\"; } > checkpoint.txt\n";
  auto f = run_process({"/bin/bash", "-c", forge});
  INFO(f.out << f.err);
  REQUIRE(f.exit_code == 0);
  // The forged checkpoint verifies with the replaced bundle key (what the old guide used)...
  auto old_guide = run_process({"/bin/bash", "-c", "cd '" + x.string() +
                                                       "' && openssl pkeyutl -verify -pubin -inkey keys/log.pem -rawin "
                                                       "-in body -sigfile sig"});
  CHECK(old_guide.exit_code == 0);
  // ...and not with the guide as written now.
  auto forged = run_process({"/bin/bash", "-c", steps});
  INFO(forged.out << forged.err);
  CHECK(forged.exit_code != 0);
}
