// A case bundle carries the case-file reviews (reviews/<id>.review, their review
// entries proved into the checkpoint), verify-bundle checks each against its entry, and
// an edited review fails it with review_mismatch and exit 1: edited inside the bundle,
// or edited in LMDB before the export.
#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <fstream>

#include "store/blob_store.h"
#include "store/index.h"
#include "store/layout.h"
#include "store/lmdb/lmdb_index.h"
#include "tests/ingest/daemon_fixture.h"
#include "tests/tools/ctl_fixture.h"
#include "verify/bundle.h"

using namespace evidence::test;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

const std::string kCase = "2026/RV-7 夜班";

void write_bundle_file(const fs::path& data, const fs::path& out, const evidence::BundleOptions& options = {}) {
  evidence::Layout layout(data);
  evidence::LmdbIndex index(layout, evidence::OpenMode::read_only);
  evidence::LocalBlobStore blobs(layout);
  std::ofstream f(out, std::ios::binary);
  evidence::write_bundle(
      index, blobs, layout, kCase,
      [&](std::span<const std::uint8_t> b) {
        f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
      },
      options);
}

// A daemon's data directory with one item in kCase and two reviews of it; returns the
// reviews' ids.
std::vector<std::string> reviewed_case(const fs::path& data) {
  Daemon d(data);
  auto up = http("POST", d.api("/evidence?officer=o.rv&device=cam-rv&case=" + pct(kCase)), d.admin_token(),
                 std::string(4096, 'v'));
  REQUIRE(up.status == 201);
  const std::string reviewer = d.add_user("r.zhang", "reviewer");
  std::vector<std::string> ids;
  for (const char* notes : {"NOTES-TO-EDIT-1: 执法记录仪画面完整", "second review"}) {
    auto r = http("POST", d.api("/cases/" + pct(kCase) + "/reviews"), reviewer,
                  json::serialize(json::object{{"verdict", "complete"}, {"notes", notes},
                                               {"checklist", json::object{{"audio", true}}}}));
    INFO(r.body);
    REQUIRE(r.status == 201);
    ids.emplace_back(r.json().as_object().at("id").as_string());
  }
  REQUIRE(d.stop() == 0);  // signs a last checkpoint, which covers the review entries
  return ids;
}

}  // namespace

TEST_CASE("verify-bundle checks a bundle's reviews against their entries and fails an edited one",
          "[evidencectl][bundle][reviews]") {
  TempDir tmp;
  Ctl ctl(tmp / "home");
  const auto ids = reviewed_case(tmp / "data");
  const auto bundle = tmp / "case.tar";
  write_bundle_file(tmp / "data", bundle);

  // The review's exact stored bytes are in the bundle, and it verifies.
  std::string stored;
  {
    evidence::LmdbIndex index(evidence::Layout(tmp / "data"), evidence::OpenMode::read_only);
    const auto b = index.review_bytes(ids[0]);
    REQUIRE(b);
    stored.assign(b->begin(), b->end());
  }
  auto bytes = read_file(bundle);
  CHECK(bytes.find("reviews/" + ids[0] + ".review") != std::string::npos);
  CHECK(bytes.find(stored) != std::string::npos);
  const auto ok = ctl.run({"verify-bundle", bundle.string(), "--json"});
  INFO(ok.out << ok.err);
  REQUIRE(ok.exit_code == 0);
  const auto report = json::parse(ok.out).as_object();
  CHECK(report.at("ok").as_bool());
  CHECK(json::value_to<std::uint64_t>(report.at("reviews")) == 2);
  const auto human = ctl.run({"verify-bundle", bundle.string()});
  CHECK(human.out.find("2 review(s)") != std::string::npos);

  SECTION("a review edited inside the bundle fails verify-bundle, naming the review") {
    const auto at = bytes.find("NOTES-TO-EDIT-1");
    REQUIRE(at != std::string::npos);
    bytes[at] = 'M';  // same length: the tar stays well formed, only the review changed
    std::ofstream(tmp / "edited.tar", std::ios::binary) << bytes;
    const auto bad = ctl.run({"verify-bundle", (tmp / "edited.tar").string()});
    INFO(bad.out << bad.err);
    CHECK(bad.exit_code == 1);
    CHECK(bad.out.find("PROBLEMS FOUND") != std::string::npos);
    CHECK(bad.out.find("review_mismatch") != std::string::npos);
    CHECK(bad.out.find("reviews/" + ids[0] + ".review hashes to") != std::string::npos);
    CHECK(bad.out.find("the review was changed after it was made") != std::string::npos);
  }

  SECTION("a review edited in LMDB before the export fails verify-bundle too") {
    {
      evidence::LmdbIndex index(evidence::Layout(tmp / "data"), evidence::OpenMode::read_write);
      auto r = index.get_review(ids[1]);
      REQUIRE(r);
      r->verdict = "defective";
      index.raw_put("reviews", evidence::as_bytes(ids[1]), r->encode());
    }
    write_bundle_file(tmp / "data", tmp / "from-edited.tar");
    const auto bad = ctl.run({"verify-bundle", (tmp / "from-edited.tar").string(), "--json"});
    INFO(bad.out << bad.err);
    CHECK(bad.exit_code == 1);
    const auto rep = json::parse(bad.out).as_object();
    bool named = false;
    for (const auto& p : rep.at("problems").as_array()) {
      named = named || (p.at("kind").as_string() == "review_mismatch" &&
                        std::string(p.at("detail").as_string()).find(ids[1]) != std::string::npos);
    }
    CHECK(named);
  }

  SECTION("a review left out of the bundle is missed: its proved entry has no review") {
    {
      evidence::LmdbIndex index(evidence::Layout(tmp / "data"), evidence::OpenMode::read_write);
      index.raw_del("reviews", evidence::as_bytes(ids[0]));
    }
    write_bundle_file(tmp / "data", tmp / "without.tar");
    const auto bad = ctl.run({"verify-bundle", (tmp / "without.tar").string()});
    INFO(bad.out << bad.err);
    CHECK(bad.exit_code == 1);
    CHECK(bad.out.find("the bundle does not hold that review") != std::string::npos);
  }
}

TEST_CASE("a review made after the export's checkpoint is left out and counted, and the bundle verifies",
          "[evidencectl][bundle][reviews]") {
  // As when a review is posted while an export runs: the export's checkpoint was
  // signed first, the review's entry is beyond it. That was a 409 for the whole export.
  TempDir tmp;
  Ctl ctl(tmp / "home");
  const fs::path data = tmp / "data";
  {
    Daemon d(data);
    REQUIRE(http("POST", d.api("/evidence?officer=o.rv&device=cam-rv&case=" + pct(kCase)), d.admin_token(),
                 std::string(2048, 'w'))
                .status == 201);
    REQUIRE(d.stop() == 0);
  }
  std::optional<evidence::StoredCheckpoint> before;
  {
    evidence::LmdbIndex index(evidence::Layout(data), evidence::OpenMode::read_only);
    before = index.latest_checkpoint();
  }
  REQUIRE(before);
  std::string late_id;
  {
    Daemon d(data);
    const std::string reviewer = d.add_user("r.late", "reviewer");
    auto r = http("POST", d.api("/cases/" + pct(kCase) + "/reviews"), reviewer, R"({"verdict":"complete"})");
    INFO(r.body);
    REQUIRE(r.status == 201);
    late_id = std::string(r.json().at("id").as_string());
    REQUIRE(d.stop() == 0);
  }
  evidence::BundleOptions options;
  options.checkpoint = before;
  const auto bundle = tmp / "early.tar";
  REQUIRE_NOTHROW(write_bundle_file(data, bundle, options));
  CHECK(read_file(bundle).find(late_id + ".review") == std::string::npos);
  const auto ok = ctl.run({"verify-bundle", bundle.string(), "--json"});
  INFO(ok.out << ok.err);
  CHECK(ok.exit_code == 0);
  const auto report = json::parse(ok.out).as_object();
  CHECK(json::value_to<std::uint64_t>(report.at("reviews")) == 0);
}
