// evidencectl verify-bundle on a bundle of a case uploaded through the real daemon.
// The bundle is written from the stopped daemon's data directory (verify/bundle.h),
// so this holds whether or not the export route is there; `export` is tested too.
#include <catch2/catch.hpp>

#include <fstream>

#include "store/blob_store.h"
#include "store/index.h"
#include "store/lmdb/lmdb_index.h"
#include "store/layout.h"
#include "tests/tools/ctl_fixture.h"
#include "verify/bundle.h"
#include "verify/signed_note.h"

using namespace evidence::test;
namespace fs = std::filesystem;

namespace {

void write_bundle_file(const fs::path& data, const std::string& case_number, const fs::path& out) {
  evidence::Layout layout(data);
  evidence::LmdbIndex index(layout, evidence::OpenMode::read_only);
  evidence::LocalBlobStore blobs(layout);
  std::ofstream f(out, std::ios::binary);
  evidence::write_bundle(index, blobs, layout, case_number, [&](std::span<const std::uint8_t> b) {
    f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  });
}

}  // namespace

TEST_CASE("verify-bundle passes an intact case bundle and fails a damaged one", "[evidencectl][daemon][bundle]") {
  TempDir tmp;
  Ctl ctl(tmp / "home");
  const std::string case_number = "2026/CR-0042 night shift";
  const auto file = tmp / "clip.mp4";
  write_random_file(file, 300 * 1024, 3);
  {
    Daemon d(tmp / "data");
    ctl.server = d.url();
    ctl.token = d.add_user("dana", "officer");
    const auto up = ctl.run({"upload", file.string(), "--officer", "dana", "--device", "cam-9", "--case", case_number});
    INFO(up.out << up.err);
    REQUIRE(up.exit_code == 0);
    REQUIRE(d.stop() == 0);  // the daemon signs a last checkpoint on shutdown
  }
  const auto bundle = tmp / "case.tar";
  write_bundle_file(tmp / "data", case_number, bundle);

  const auto ok = ctl.run({"verify-bundle", bundle.string()});
  INFO(ok.out << ok.err);
  CHECK(ok.exit_code == 0);
  CHECK(ok.out.find("intact") != std::string::npos);

  SECTION("one flipped bit in the content is a problem") {
    auto bytes = read_file(bundle);
    const auto content = read_file(file);
    const auto at = bytes.find(content.substr(1000, 64));
    REQUIRE(at != std::string::npos);
    bytes[at] = static_cast<char>(bytes[at] ^ 0x01);
    std::ofstream(tmp / "damaged.tar", std::ios::binary) << bytes;
    const auto bad = ctl.run({"verify-bundle", (tmp / "damaged.tar").string()});
    INFO(bad.out << bad.err);
    CHECK(bad.exit_code == 1);
    CHECK(bad.out.find("content_mismatch") != std::string::npos);
  }

  SECTION("a log key other than the bundle's fails the signature") {
    const auto other = evidence::note::Ed25519Key::generate();
    const auto vkey = evidence::note::Verifier::for_key("someone.else/log", other.public_key()).to_string();
    const auto bad = ctl.run({"verify-bundle", bundle.string(), "--log-key", vkey});
    INFO(bad.out << bad.err);
    CHECK(bad.exit_code == 1);
  }

  SECTION("a file that is not a bundle cannot be checked: exit 2") {
    std::ofstream(tmp / "junk.tar") << "not a tar at all";
    const auto bad = ctl.run({"verify-bundle", (tmp / "junk.tar").string()});
    CHECK(bad.exit_code == 2);
    CHECK(bad.err.find("cannot read the bundle") != std::string::npos);
  }
}

TEST_CASE("export downloads a case bundle that verify-bundle accepts", "[evidencectl][daemon][bundle][export]") {
  TempDir tmp;
  Daemon d(tmp / "data");
  Ctl ctl(tmp / "home");
  ctl.server = d.url();
  ctl.token = d.add_user("erin", "officer");
  const auto file = tmp / "clip.mp4";
  write_random_file(file, 100 * 1024, 4);
  const auto up = ctl.run({"upload", file.string(), "--officer", "erin", "--device", "cam-1", "--case", "CASE-7"});
  REQUIRE(up.exit_code == 0);
  ctl.token = d.admin_token();
  const auto ex = ctl.run({"export", "CASE-7", "-o", (tmp / "b.tar").string()});
  INFO(ex.out << ex.err);
  REQUIRE(ex.exit_code == 0);
  const auto v = ctl.run({"verify-bundle", (tmp / "b.tar").string()});
  INFO(v.out << v.err);
  CHECK(v.exit_code == 0);
}
