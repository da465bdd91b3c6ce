// evidencectl dock: a docking station's folder, against the real daemon.
#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <fstream>

#include "tests/tools/ctl_fixture.h"

using namespace evidence::test;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

std::size_t count_files(const fs::path& dir) {
  if (!fs::exists(dir)) return 0;
  std::size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file()) ++n;
  return n;
}

std::size_t count_lines(const fs::path& file) {
  if (!fs::exists(file)) return 0;
  const auto text = read_file(file);
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

}  // namespace

TEST_CASE("dock uploads three complete files, keeps verified receipts, and moves the originals",
          "[evidencectl][daemon][dock]") {
  TempDir tmp;
  Daemon d(tmp / "data");
  Ctl ctl(tmp / "home");
  ctl.server = d.url();
  ctl.token = d.add_user("station-4", "station");
  const auto watch = tmp / "dock";
  fs::create_directories(watch);
  const std::vector<std::pair<std::string, std::size_t>> recordings{
      {"REC0001.MP4", 1536 * 1024}, {"REC0002.MP4", 700 * 1024}, {"REC0003.WAV", 10}};
  std::map<std::string, std::string> sha;
  unsigned seed = 40;
  for (const auto& [name, size] : recordings) {
    write_random_file(watch / name, size, seed++);
    sha[name] = sha256_hex_of_file(watch / name);
  }
  // A file still being copied in is not touched.
  write_random_file(watch / "REC0004.MP4.part", 1000, 9);

  const std::vector<std::string> dock{"dock", "--watch", watch.string(), "--officer", "officer-17", "--device",
                                      "dock-4", "--once", "--interval", "0.3", "--chunk-size", "512K"};
  const auto r = ctl.run(dock);
  INFO("stdout: " << r.out << "\nstderr: " << r.err << "\ndaemon: " << d.stderr_text());
  REQUIRE(r.exit_code == 0);
  for (const auto& [name, size] : recordings) {
    CHECK_FALSE(fs::exists(watch / name));
    REQUIRE(fs::exists(watch / "uploaded" / name));
    const auto receipt = watch / "receipts" / (name + ".receipt.json");
    REQUIRE(fs::exists(receipt));
    const auto rj = json::parse(read_file(receipt)).as_object();
    CHECK(rj.at("sha256").as_string() == sha[name]);
    CHECK(rj.at("officer").as_string() == "officer-17");
    CHECK(rj.at("device").as_string() == "dock-4");
    // Each step is in the log.
    CHECK(r.err.find(name + " is complete") != std::string::npos);
    CHECK(r.err.find(name + ": uploaded as") != std::string::npos);
  }
  CHECK(fs::exists(watch / "REC0004.MP4.part"));
  CHECK(count_lines(watch / ".evidencectl" / "ledger.jsonl") == 3);

  // The receipt stands on its own.
  const auto v = ctl.run({"verify-receipt", (watch / "receipts" / "REC0001.MP4.receipt.json").string(),
                          (watch / "uploaded" / "REC0001.MP4").string()});
  CHECK(v.exit_code == 0);

  SECTION("a restart never uploads the same recording twice") {
    // The recorder is docked again with a file it already offloaded.
    fs::copy_file(watch / "uploaded" / "REC0002.MP4", watch / "REC0002.MP4");
    const auto again = ctl.run(dock);
    INFO("stderr: " << again.err);
    CHECK(again.exit_code == 0);
    CHECK(again.err.find("not uploading again") != std::string::npos);
    CHECK(again.err.find("REC0002.MP4: uploading") == std::string::npos);
    CHECK_FALSE(fs::exists(watch / "REC0002.MP4"));
    CHECK(count_files(watch / "uploaded") == 4);  // kept beside the first copy
    CHECK(count_lines(watch / ".evidencectl" / "ledger.jsonl") == 3);
  }

  SECTION("--delete-after removes an original once its receipt verified") {
    write_random_file(watch / "REC0005.MP4", 5000, 77);
    auto del = dock;
    del.push_back("--delete-after");
    const auto again = ctl.run(del);
    INFO("stderr: " << again.err);
    CHECK(again.exit_code == 0);
    CHECK_FALSE(fs::exists(watch / "REC0005.MP4"));
    CHECK_FALSE(fs::exists(watch / "uploaded" / "REC0005.MP4"));
    CHECK(fs::exists(watch / "receipts" / "REC0005.MP4.receipt.json"));
    CHECK(count_lines(watch / ".evidencectl" / "ledger.jsonl") == 4);
  }
}
