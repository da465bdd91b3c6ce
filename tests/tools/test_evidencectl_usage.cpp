// evidencectl's usage errors: exit 2 with a message that says what is wrong. No
// daemon needed: these never reach a server.
#include <catch2/catch.hpp>

#include <fstream>

#include "tests/tools/ctl_fixture.h"

using namespace evidence::test;

namespace {
void expect_usage_error(const ProcResult& r, const std::string& says) {
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find(says) != std::string::npos);
}
}  // namespace

TEST_CASE("evidencectl usage errors exit 2 and name the problem", "[evidencectl][usage]") {
  TempDir tmp;
  Ctl ctl(tmp / "home");
  const auto file = tmp / "clip.mp4";
  write_random_file(file, 1000);

  expect_usage_error(ctl.run({}), "no command given");
  expect_usage_error(ctl.run({"frobnicate"}), "frobnicate");
  expect_usage_error(ctl.run({"upload"}), "files is required");
  expect_usage_error(ctl.run({"upload", file.string(), "--device", "cam"}), "--officer is required");
  expect_usage_error(ctl.run({"upload", (tmp / "absent.mp4").string(), "--officer", "o", "--device", "d"}),
                     "does not exist");
  expect_usage_error(ctl.run({"upload", file.string(), "--officer", "o", "--device", "d", "--chunk-size", "lots"}),
                     "not a size");
  expect_usage_error(ctl.run({"upload", file.string(), file.string(), "--officer", "o", "--device", "d",
                              "--receipt", (tmp / "r.json").string()}),
                     "--receipt");
  expect_usage_error(ctl.run({"users", "add", "bob", "--role", "king"}), "king");
  expect_usage_error(ctl.run({"verify", "--case", "A", "--evidence", "B"}), "excludes");
  expect_usage_error(ctl.run({"verify-receipt", file.string()}), "file is required");
  expect_usage_error(ctl.run({"dock", "--watch", (tmp / "nowhere").string(), "--officer", "o", "--device", "d"}),
                     "not a folder");
  // No server configured: said plainly, not a libcurl error.
  expect_usage_error(ctl.run({"cases"}), "no server");
}

TEST_CASE("evidencectl verify-receipt refuses a receipt that is not JSON with exit 2", "[evidencectl][usage]") {
  TempDir tmp;
  Ctl ctl(tmp / "home");
  const auto file = tmp / "clip.mp4";
  write_random_file(file, 1000);
  std::ofstream(tmp / "receipt.json") << "not json";
  expect_usage_error(ctl.run({"verify-receipt", (tmp / "receipt.json").string(), file.string()}), "not a receipt");
}

TEST_CASE("evidencectl --help on a command exits 0 and documents it", "[evidencectl][usage]") {
  TempDir tmp;
  Ctl ctl(tmp / "home");
  for (const char* cmd : {"upload", "dock", "cases", "case", "get", "verify", "export", "verify-bundle",
                          "verify-receipt"}) {
    const auto r = ctl.run({cmd, "--help"});
    INFO(cmd << ": " << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("Usage:") != std::string::npos);
  }
}

TEST_CASE("evidencectl says the server cannot be reached with exit 2", "[evidencectl][usage]") {
  TempDir tmp;
  Ctl ctl(tmp / "home");
  ctl.server = "http://127.0.0.1:1";
  ctl.token = "x";
  const auto r = ctl.run({"cases"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("127.0.0.1:1") != std::string::npos);
}
