// evidencectl log monitor: follows a custody log from outside and reports a fork. The
// fork here is real: two daemons started from copies of one data directory, then fed
// different uploads, sign two histories with the same key.
#include <catch2/catch.hpp>

#include "tests/ingest/daemon_fixture.h"
#include "tests/tools/ctl_fixture.h"

using namespace evidence;
using namespace evidence::test;
namespace fs = std::filesystem;

namespace {

// The log's verifier key, as GET /keys gives it to an auditor.
std::string log_vkey(const Daemon& d) {
  auto r = http("GET", d.api("/keys"), d.admin_token());
  REQUIRE(r.status == 200);
  return std::string(obj(r)["log_key"].as_string());
}

void upload(const Daemon& d, const std::string& content) {
  auto r = http("POST", d.api("/evidence?officer=o&device=c"), d.admin_token(), content);
  INFO(r.body);
  REQUIRE(r.status == 201);
}

}  // namespace

TEST_CASE("log monitor keeps the first checkpoint, follows growth, and reports a fork without moving", "[monitor]") {
  TempDir dir;
  const fs::path a_dir = dir.path() / "a", b_dir = dir.path() / "b";
  Ctl ctl(dir.path() / "home");
  const fs::path state = dir.path() / "monitor.json";
  std::string key;
  {
    Daemon a(a_dir);
    upload(a, "common history");
    key = log_vkey(a);
    REQUIRE(a.stop() == 0);
  }
  fs::copy(a_dir, b_dir, fs::copy_options::recursive);

  Daemon a(a_dir);
  ctl.server = a.url();
  ctl.token = a.admin_token();
  auto first = ctl.run({"log", "monitor", "--state", state.string(), "--log-key", key});
  INFO(first.out << first.err);
  REQUIRE(first.exit_code == 0);
  CHECK(first.out.find("first checkpoint kept") != std::string::npos);
  REQUIRE(fs::exists(state));

  upload(a, "only on a");
  auto grown = ctl.run({"log", "monitor", "--state", state.string()});
  INFO(grown.out << grown.err);
  REQUIRE(grown.exit_code == 0);
  CHECK(grown.out.find("consistent: ") != std::string::npos);
  const std::string kept = read_file(state);

  // B shares the first history, then takes another upload: same key, other leaves.
  Daemon b(b_dir);
  REQUIRE(log_vkey(b) == key);  // one key, two histories
  upload(b, "only on b");
  Ctl ctl_b = ctl;
  ctl_b.server = b.url();
  ctl_b.token = b.admin_token();
  auto fork = ctl_b.run({"log", "monitor", "--state", state.string()});
  INFO(fork.out << fork.err);
  CHECK(fork.exit_code == 1);
  CHECK(fork.err.find("FORK") != std::string::npos);
  CHECK(read_file(state) == kept);
  // Grown past A, B is still not an extension of what the monitor kept.
  upload(b, "more on b");
  upload(b, "and more on b");
  auto fork2 = ctl_b.run({"log", "monitor", "--state", state.string()});
  INFO(fork2.out << fork2.err);
  CHECK(fork2.exit_code == 1);
  CHECK(read_file(state) == kept);
  // A, the history the monitor follows, still passes.
  upload(a, "a again");
  CHECK(ctl.run({"log", "monitor", "--state", state.string()}).exit_code == 0);
}

TEST_CASE("log monitor refuses a checkpoint signed by another key, or without its witnesses, and keeps no state",
          "[monitor]") {
  TempDir dir;
  Daemon d(dir.path() / "data");
  upload(d, "x");
  std::string other_key;
  {
    Daemon other(dir.path() / "other");
    other_key = log_vkey(other);
  }
  Ctl ctl(dir.path() / "home");
  ctl.server = d.url();
  ctl.token = d.admin_token();
  const fs::path state = dir.path() / "monitor.json";
  auto wrong = ctl.run({"log", "monitor", "--state", state.string(), "--log-key", other_key});
  CHECK(wrong.exit_code == 1);
  CHECK_FALSE(fs::exists(state));

  // A witness the checkpoint carries no cosignature from.
  auto w = run_process({EVIDENCE_WITNESS_PATH, "init", "--data", (dir.path() / "witness").string(), "--name", "w.test/1"});
  REQUIRE(w.exit_code == 0);
  const std::string wkey = w.out.substr(0, w.out.find('\n'));
  auto unwitnessed = ctl.run({"log", "monitor", "--state", state.string(), "--log-key", log_vkey(d),
                              "--witness-key", wkey});
  CHECK(unwitnessed.exit_code == 1);
  CHECK(unwitnessed.err.find("cosignature") != std::string::npos);
  CHECK_FALSE(fs::exists(state));
  // --quorum 0 accepts it (the witness is reported, not required).
  CHECK(ctl.run({"log", "monitor", "--state", state.string(), "--log-key", log_vkey(d), "--witness-key", wkey,
                 "--quorum", "0"})
            .exit_code == 0);
  // Usage errors: no key on a first run elsewhere, a witness key that is a log key.
  CHECK(ctl.run({"log", "monitor", "--state", (dir.path() / "new.json").string()}).exit_code == 2);
  CHECK(ctl.run({"log", "monitor", "--state", state.string(), "--witness-key", log_vkey(d)}).exit_code == 2);
}
