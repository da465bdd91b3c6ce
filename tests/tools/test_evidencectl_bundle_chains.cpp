// evidencectl verify-bundle and the custody chains (DESIGN.md, "Gaps are visible
// offline"): a bundle with any one custody entry of its case left out, from
// custody.json, custody/<i>.leaf and the manifest alike (so the bundle agrees with
// itself apart from the gap), fails; the untouched bundle passes.
#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "tests/tools/ctl_fixture.h"
#include "tests/verify/test_audit_fixture.h"
#include "verify/bundle.h"

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

const std::string kCase = "2026/CR-0077";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void spill(const fs::path& p, const std::string& bytes) { std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes; }

int sh(const std::string& cmd) { return std::system(cmd.c_str()); }

// A copy of `tar` without custody entry `gone`: its leaf file, its custody.json entry
// and its place in every manifest item's "entries".
void drop_entry(const fs::path& tar, std::uint64_t gone, const fs::path& out, const fs::path& work) {
  fs::remove_all(work);
  fs::create_directories(work);
  REQUIRE(sh("tar -xf '" + tar.string() + "' -C '" + work.string() + "'") == 0);
  const fs::path leaf = work / "custody" / (std::to_string(gone) + ".leaf");
  REQUIRE(fs::exists(leaf));
  fs::remove(leaf);

  auto custody = json::parse(slurp(work / "custody.json")).as_object();
  json::array kept;
  for (auto& e : custody.at("entries").as_array()) {
    if (e.as_object().at("index").to_number<std::uint64_t>() != gone) kept.push_back(e);
  }
  REQUIRE(kept.size() + 1 == custody.at("entries").as_array().size());
  custody["entries"] = std::move(kept);
  spill(work / "custody.json", json::serialize(custody));

  auto manifest = json::parse(slurp(work / "manifest.json")).as_object();
  for (auto& iv : manifest.at("items").as_array()) {
    auto& item = iv.as_object();
    json::array entries;
    for (auto& i : item.at("entries").as_array()) {
      if (i.to_number<std::uint64_t>() != gone) entries.push_back(i);
    }
    item["entries"] = std::move(entries);
  }
  spill(work / "manifest.json", json::serialize(manifest));
  fs::remove(out);
  REQUIRE(sh("tar -C '" + work.string() + "' -cf '" + out.string() + "' .") == 0);
}

}  // namespace

TEST_CASE("verify-bundle fails a case bundle with any one custody entry left out", "[evidencectl][bundle][chains]") {
  using namespace evidence;
  test::audit::Store s;
  auto named = [](const std::string& action, const std::string& id, std::optional<std::string> c = {}) {
    auto e = test::audit::event(action);
    e.evidence = id;
    e.case_number = std::move(c);
    return e;
  };
  const auto a = s.add("bodycam A", {kCase}).record.id;                  // 0 ingest A into the case
  s.index->append_event(named("view", a));                               // 1
  const auto b = s.add("bodycam B", {}).record.id;                       // 2 ingest B, no case
  s.index->append_event(named("view", b));                               // 3
  s.index->append_event(named("view", a, kCase));                        // 4 A's newest
  s.index->link_case(b, kCase, test::audit::event("link"));              // 5 B's newest
  const auto x = s.add("bodycam X", {kCase}).record.id;                  // 6 ingest X into the case
  s.index->unlink_case(x, kCase, test::audit::event("unlink"));          // 7 the case's newest
  REQUIRE(s.index->log_size() == 8);
  {
    // The chains the engine wrote, as the test relies on them.
    auto at = [&](std::uint64_t i) { return CustodyEvent::decode(s.index->log_entry(i)->leaf); };
    CHECK(at(4).prev == 1u);
    CHECK(at(4).case_prev == 0u);
    CHECK(at(5).case_prev == 4u);
    CHECK(at(7).case_prev == 6u);
    CHECK(at(7).prev == 6u);
  }
  s.checkpoint();

  const fs::path tar = s.dir.path() / "case.tar";
  {
    std::ofstream out(tar, std::ios::binary);
    write_bundle(*s.index, *s.blobs, s.layout, kCase, [&](std::span<const std::uint8_t> bytes) {
      out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    });
  }
  test::Ctl ctl(s.dir.path() / "home");

  const auto ok = ctl.run({"verify-bundle", tar.string()});
  INFO(ok.out << ok.err);
  REQUIRE(ok.exit_code == 0);
  CHECK(ok.out.find("intact") != std::string::npos);
  // X's entries are in the bundle through the case's chain, though X is no longer in it.
  const auto whole = verify_bundle(tar, std::nullopt);
  CHECK(whole.ok);
  CHECK(whole.entries == 8);
  CHECK(whole.items == 2);
  CHECK(whole.hints.empty());
  (void)a;

  for (std::uint64_t gone = 0; gone < 8; ++gone) {
    INFO("custody entry " << gone << " left out");
    const fs::path cut = s.dir.path() / ("cut-" + std::to_string(gone) + ".tar");
    drop_entry(tar, gone, cut, s.dir.path() / "work");
    const auto r = verify_bundle(cut, std::nullopt);
    INFO(json::serialize(r.to_json()));
    CHECK_FALSE(r.ok);
    CHECK(r.entries == 7);
    const auto bad = ctl.run({"verify-bundle", cut.string()});
    INFO(bad.out << bad.err);
    CHECK(bad.exit_code == 1);
    // The finding names what broke: the chain and the missing index, or the membership.
    const bool chain = bad.out.find("chain broken") != std::string::npos &&
                       bad.out.find("follows entry " + std::to_string(gone)) != std::string::npos;
    const bool membership = bad.out.find("case_membership") != std::string::npos;
    CHECK((chain || membership));
    if (gone == 7) CHECK(bad.out.find(x) != std::string::npos);  // X is still in the case by the replay
    if (gone == 5) CHECK(bad.out.find(b) != std::string::npos);
  }
}
