// Case export bundles: written from a real store, checked offline by verify_bundle,
// checked by hand with the very commands README.txt gives (run here with tar,
// sha256sum and openssl), and attacked byte by byte.
#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <set>

#include "base/error.h"
#include "tests/verify/test_audit_fixture.h"
#include "verify/bundle.h"

using namespace evidence;
using namespace evidence::test::audit;

namespace {

const std::string kCase = "汉台执罚〔2017〕第123号";

std::pair<int, std::string> sh(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(("/bin/sh -c '" + cmd + "' 2>&1").c_str(), "r");
  REQUIRE(p);
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// Quotes for a command placed inside sh -c '...'.
std::string in_single_quotes(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out;
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Exported {
  Store s;
  std::filesystem::path tar;
  std::size_t chunks = 0;
  std::size_t largest_chunk = 0;

  Exported() {
    s.add("bodycam A " + std::string(3 << 20, 'x'), {kCase});  // 3 MiB: streamed in chunks
    s.add("bodycam B", {kCase, "CASE-2"});
    s.add("bodycam B", {kCase}, "officer-2");  // same bytes, another item: one file
    s.add("unrelated", {"CASE-3"});
    s.index->link_case(s.items[3].record.id, kCase, event("link"));
    auto view = event("view");
    view.evidence = s.items[0].record.id;
    s.index->append_event(view);
    s.checkpoint();
    auto late = event("view");
    late.evidence = s.items[1].record.id;
    s.index->append_event(late);  // after the checkpoint: not provable, left out
    tar = s.dir.path() / "bundle.tar";
    std::ofstream out(tar, std::ios::binary);
    write_bundle(*s.index, *s.blobs, s.layout, kCase, [&](std::span<const std::uint8_t> b) {
      ++chunks;
      largest_chunk = std::max(largest_chunk, b.size());
      out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    });
  }

  // Flips the byte at the first occurrence of `needle` (+ skip) inside the tar.
  void flip_in_tar(const std::string& needle, std::size_t skip = 0) {
    std::string bytes = slurp(tar);
    const auto pos = bytes.find(needle);
    REQUIRE(pos != std::string::npos);
    bytes[pos + skip] = static_cast<char>(bytes[pos + skip] ^ 0x01);
    std::ofstream(tar, std::ios::binary | std::ios::trunc) << bytes;
  }
};

}  // namespace

TEST_CASE("bundle: an exported case verifies offline", "[bundle]") {
  Exported e;
  CHECK(e.chunks > 3);
  CHECK(e.largest_chunk < (3u << 20));  // content was streamed, not sent whole

  const auto r = verify_bundle(e.tar, std::nullopt);
  INFO(boost::json::serialize(r.to_json()));
  CHECK(r.ok);
  CHECK(r.problems.empty());
  CHECK(r.hints.empty());
  CHECK(r.case_number == kCase);
  CHECK(r.items == 4);
  // ingests of 0,1,2 and 3; the link of 3; the view of 0 (the late view is not in it)
  CHECK(r.entries == 6);

  // Pinned to the store's own key it still verifies.
  const auto pinned = verify_bundle(e.tar, load_log_verifier(e.s.layout).to_string(), slurp(e.s.layout.tsa_ca_cert()));
  CHECK(pinned.ok);
}

TEST_CASE("bundle: the manifest lists each item, and the late entry as not provable", "[bundle]") {
  Exported e;
  test::TempDir x;
  REQUIRE(sh("tar -xf " + e.tar.string() + " -C " + x.path().string()).first == 0);
  const auto m = boost::json::parse(slurp(x / "manifest.json")).as_object();
  CHECK(m.at("case").as_string() == kCase);
  CHECK(m.at("entries_after_checkpoint").as_int64() == 1);
  const auto& items = m.at("items").as_array();
  REQUIRE(items.size() == 4);
  std::set<std::string> files;
  for (const auto& it : items) files.insert(std::string(it.at("sha256").as_string()));
  CHECK(files.size() == 3);  // two items share "bodycam B"
  std::size_t in_files = 0;
  for (const auto& f : std::filesystem::directory_iterator(x / "files")) {
    ++in_files;
    CHECK(files.count(f.path().filename().string()));
  }
  CHECK(in_files == 3);
}

TEST_CASE("bundle: the README's commands check it by hand with sha256sum and openssl", "[bundle][byhand]") {
  Exported e;
  test::TempDir x;
  const auto dir = x.path();
  REQUIRE(sh("tar -xf " + e.tar.string() + " -C " + dir.string()).first == 0);
  const std::string readme = slurp(dir / "README.txt");
  // Step 0: the keys "obtained independently" (here the genuine ones) beside the guide.
  std::filesystem::copy_file(dir / "keys" / "log.vkey", dir / "log.vkey");
  std::filesystem::copy_file(dir / "keys" / "tsa-ca.pem", dir / "tsa-ca.pem");
  const auto m = boost::json::parse(slurp(dir / "manifest.json")).as_object();
  const auto custody = boost::json::parse(slurp(dir / "custody.json")).as_object();

  // The guide's command lines are the indented lines that start with a known tool.
  std::vector<std::string> commands;
  std::istringstream lines(readme);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("    ", 0) != 0) continue;
    const auto cmd = line.substr(4);
    for (const char* tool : {"sha256sum ", "(cd files", "openssl ", "(printf '\\000';", "awk ", "grep ", "{ printf"}) {
      if (cmd.rfind(tool, 0) == 0) commands.push_back(cmd);
    }
  }
  auto run_in = [&](std::string cmd) {
    return sh("cd " + dir.string() + " && " + in_single_quotes(cmd));
  };
  auto find_cmd = [&](const std::string& prefix) {
    for (const auto& c : commands) {
      if (c.rfind(prefix, 0) == 0) return c;
    }
    FAIL("README has no command starting with " << prefix);
    return std::string();
  };
  auto replace_all = [](std::string s, const std::string& from, const std::string& to) {
    for (std::size_t p = 0; (p = s.find(from, p)) != std::string::npos; p += to.size()) s.replace(p, from.size(), to);
    return s;
  };

  SECTION("step 1: sha256sum files/* prints each file's own name; sha256sum -c agrees") {
    const auto [code, out] = run_in(find_cmd("sha256sum files/*"));
    REQUIRE(code == 0);
    std::istringstream ls(out);
    int n = 0;
    for (std::string l; std::getline(ls, l); ++n) {
      CHECK(l.substr(0, 64) == l.substr(l.size() - 64));
    }
    CHECK(n == 3);
    CHECK(run_in(find_cmd("(cd files")).first == 0);
  }
  SECTION("step 2: openssl ts -verify accepts every item's token") {
    const auto tmpl = find_cmd("openssl ts -verify -data");
    for (const auto& it : m.at("items").as_array()) {
      auto cmd = replace_all(tmpl, "files/H", "files/" + std::string(it.at("sha256").as_string()));
      cmd = replace_all(cmd, "tokens/E.tsr", "tokens/" + std::string(it.at("evidence").as_string()) + ".tsr");
      const auto [code, out] = run_in(cmd);
      INFO(cmd << "\n" << out);
      CHECK(code == 0);
      CHECK(out.find("Verification: OK") != std::string::npos);
    }
  }
  SECTION("step 3: each record's sha256sum is its ingest entry's record_hash") {
    const auto tmpl = find_cmd("sha256sum records/E.record");
    for (const auto& it : m.at("items").as_array()) {
      const std::string id(it.at("evidence").as_string());
      const auto [code, out] = run_in(replace_all(tmpl, "E.record", id + ".record"));
      REQUIRE(code == 0);
      std::string ingest_hash;
      for (const auto& ce : custody.at("entries").as_array()) {
        if (ce.at("action").as_string() == "ingest" && ce.at("evidence").as_string() == id)
          ingest_hash = std::string(ce.at("record_hash").as_string());
      }
      CHECK(out.substr(0, 64) == ingest_hash);
    }
    // The record_hash read from the ingest entry's exact bytes, as the guide says.
    const auto grep_tmpl = find_cmd("grep -o '\"record_hash\"");
    for (const auto& ce : custody.at("entries").as_array()) {
      if (ce.at("action").as_string() != "ingest") continue;
      const auto i = std::to_string(ce.at("index").as_int64());
      const auto [code, out] = run_in(replace_all(grep_tmpl, "custody/I.leaf", "custody/" + i + ".leaf"));
      REQUIRE(code == 0);
      CHECK(out.find(std::string(ce.at("record_hash").as_string())) != std::string::npos);
    }
  }
  SECTION("step 4: the printf | openssl dgst leaf hash equals each entry's leaf_hash") {
    const auto tmpl = find_cmd("(printf '\\000';");
    for (const auto& ce : custody.at("entries").as_array()) {
      const auto i = std::to_string(ce.at("index").as_int64());
      const auto [code, out] = run_in(replace_all(tmpl, "custody/I.leaf", "custody/" + i + ".leaf"));
      REQUIRE(code == 0);
      CHECK(out.substr(0, out.find('\n')) == std::string(ce.at("leaf_hash").as_string()));
    }
  }
  SECTION("step 5: awk, grep and openssl pkeyutl verify the checkpoint signature") {
    REQUIRE(run_in(find_cmd("awk ")).first == 0);
    REQUIRE(run_in(find_cmd("grep \"^")).first == 0);
    REQUIRE(run_in(find_cmd("{ printf")).first == 0);
    REQUIRE(run_in(find_cmd("openssl pkey -pubin")).first == 0);
    const auto [code, out] = run_in(find_cmd("openssl pkeyutl -verify"));
    INFO(out);
    CHECK(code == 0);
    CHECK(out.find("Signature Verified Successfully") != std::string::npos);
    // And a tampered body fails the same command.
    std::ofstream(dir / "checkpoint.body", std::ios::app) << "extra\n";
    CHECK(run_in(find_cmd("openssl pkeyutl -verify")).first != 0);
  }
  SECTION("step 6: openssl ts -verify -digest accepts the checkpoint root's token") {
    const auto [code, out] = run_in(find_cmd("openssl ts -verify -digest"));
    INFO(out);
    CHECK(code == 0);
    CHECK(out.find("Verification: OK") != std::string::npos);
  }
}

TEST_CASE("bundle: a flipped byte in a file is content_mismatch", "[bundle][tamper]") {
  Exported e;
  e.flip_in_tar("bodycam A ", 5000);
  const auto r = verify_bundle(e.tar, std::nullopt);
  INFO(boost::json::serialize(r.to_json()));
  CHECK_FALSE(r.ok);
  CHECK(has(r.problems, "content_mismatch", e.s.items[0].record.id));
}

TEST_CASE("bundle: an altered record is record_altered", "[bundle][tamper]") {
  Exported e;
  e.flip_in_tar("\"uploaded_by\":\"officer-2\"", 15);  // in the record only
  const auto r = verify_bundle(e.tar, std::nullopt);
  INFO(boost::json::serialize(r.to_json()));
  CHECK_FALSE(r.ok);
  CHECK(has(r.problems, "record_altered", e.s.items[2].record.id));
}

TEST_CASE("bundle: an edited custody entry fails its inclusion proof", "[bundle][tamper]") {
  Exported e;
  // The link entry is in custody/4.leaf and, in base64, in custody.json: a forger
  // edits both consistently; the proof to the signed root must still fail.
  const std::string leaf = e.s.index->log_entry(4).value().leaf;
  std::string forged = leaf;
  const auto at = forged.find("reviewer-1");
  REQUIRE(at != std::string::npos);
  forged[at + 9] = '9';
  std::string bytes = slurp(e.tar);
  int replaced = 0;
  for (const auto& [from, to] : {std::pair{leaf, forged}, std::pair{to_base64(as_bytes(leaf)), to_base64(as_bytes(forged))}}) {
    for (std::size_t p = 0; (p = bytes.find(from, p)) != std::string::npos; ++replaced, p += to.size()) {
      bytes.replace(p, from.size(), to);
    }
  }
  CHECK(replaced == 2);
  std::ofstream(e.tar, std::ios::binary | std::ios::trunc) << bytes;
  const auto r = verify_bundle(e.tar, std::nullopt);
  INFO(boost::json::serialize(r.to_json()));
  CHECK_FALSE(r.ok);
  REQUIRE_FALSE(r.problems.empty());
  for (const auto& p : r.problems) {
    CHECK(problem_kind_name(p.kind) == "log_inconsistent");
    CHECK(p.log_index == 4u);
  }
  CHECK(r.problems[0].detail.find("inclusion proof") != std::string::npos);
}

TEST_CASE("bundle: a forged checkpoint or a wrong pinned key is signature_invalid", "[bundle][tamper]") {
  Exported e;
  SECTION("pinned key of another log") {
    Store other;
    const auto r = verify_bundle(e.tar, load_log_verifier(other.layout).to_string());
    CHECK_FALSE(r.ok);
    CHECK(has(r.problems, "signature_invalid"));
  }
  SECTION("the checkpoint's size line edited") {
    e.flip_in_tar("evidence.test/audit\n", 20);
    const auto r = verify_bundle(e.tar, std::nullopt);
    CHECK_FALSE(r.ok);
    CHECK(has(r.problems, "signature_invalid"));
  }
  SECTION("tokens checked against another TSA's CA") {
    Store other;
    const auto r = verify_bundle(e.tar, std::nullopt, slurp(other.layout.tsa_ca_cert()));
    CHECK_FALSE(r.ok);
    CHECK(has(r.problems, "timestamp_invalid"));
  }
}

TEST_CASE("bundle: a truncated tar or one without a manifest cannot be verified", "[bundle]") {
  Exported e;
  std::string bytes = slurp(e.tar);
  std::ofstream(e.tar, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() / 2);
  CHECK_THROWS_AS(verify_bundle(e.tar, std::nullopt), Error);
  CHECK_THROWS_AS(verify_bundle(e.s.dir.path() / "absent.tar", std::nullopt), Error);
}

TEST_CASE("bundle: export refuses an unknown case, a log with no checkpoint, and damaged content", "[bundle]") {
  Store s;
  s.add("clip", {"CASE-1"});
  auto sink = [](std::span<const std::uint8_t>) {};
  CHECK_THROWS_AS(write_bundle(*s.index, *s.blobs, s.layout, "CASE-1", sink), Error);  // no checkpoint
  s.checkpoint();
  CHECK_THROWS_AS(write_bundle(*s.index, *s.blobs, s.layout, "NOPE", sink), Error);
  s.add("later clip", {"CASE-1"});  // its ingest is after the checkpoint
  CHECK_THROWS_AS(write_bundle(*s.index, *s.blobs, s.layout, "CASE-1", sink), Error);
  s.checkpoint();
  s.flip_bit(0, 1);
  std::string got;
  try {
    write_bundle(*s.index, *s.blobs, s.layout, "CASE-1", [&](std::span<const std::uint8_t> b) { got.append(as_chars(b)); });
    FAIL("export of damaged content must fail");
  } catch (const Error& err) {
    CHECK(err.code() == Errc::digest_mismatch);
  }
  // What was sent has no end-of-archive marker: a reader sees it is incomplete.
  const auto tar = s.dir.path() / "partial.tar";
  std::ofstream(tar, std::ios::binary) << got;
  bool rejected = false;
  try {
    rejected = !verify_bundle(tar, std::nullopt).ok;
  } catch (const Error&) {
    rejected = true;
  }
  CHECK(rejected);
}

TEST_CASE("bundle: a second copy of a file appended to the tar is bundle_malformed", "[bundle][tamper]") {
  Exported e;
  test::TempDir x;
  const std::string hex = e.s.items[1].record.sha256.hex();
  // What `tar -xf` would leave on disk is the last copy: a forger appends a bad one.
  std::filesystem::create_directories(x / "files");
  std::ofstream(x / "files" / hex, std::ios::binary) << "bodycam C";
  REQUIRE(sh("tar -rf " + e.tar.string() + " -C " + x.path().string() + " files/" + hex).first == 0);
  const auto r = verify_bundle(e.tar, std::nullopt);
  INFO(boost::json::serialize(r.to_json()));
  CHECK_FALSE(r.ok);
  CHECK(has(r.problems, "bundle_malformed"));
  CHECK(has(r.problems, "content_mismatch"));
}

TEST_CASE("bundle: truncated, padded, bit-flipped and misplaced inclusion proofs all fail", "[bundle][tamper]") {
  Exported e;
  test::TempDir x;
  REQUIRE(sh("tar -xf " + e.tar.string() + " -C " + x.path().string()).first == 0);
  const auto original = boost::json::parse(slurp(x / "custody.json")).as_object();

  // Re-packs the folder with GNU tar after `edit` changed the ingest entry of item 0
  // (index 0, whose proof has 3 hashes in a tree of 6).
  auto attack = [&](const std::function<void(boost::json::object& entry)>& edit) {
    auto custody = original;
    for (auto& ev : custody.at("entries").as_array()) {
      if (ev.at("index").as_int64() == 0) edit(ev.as_object());
    }
    std::ofstream(x / "custody.json", std::ios::trunc) << boost::json::serialize(custody);
    const auto tar = e.s.dir.path() / "attacked.tar";
    std::filesystem::remove(tar);
    REQUIRE(sh("tar -cf " + tar.string() + " -C " + x.path().string() + " .").first == 0);
    return verify_bundle(tar, std::nullopt);
  };
  auto hashes = [](boost::json::object& entry) -> boost::json::array& {
    return entry.at("inclusion_proof").as_object().at("hashes").as_array();
  };
  auto proof_fails = [&](const BundleReport& r) {
    INFO(boost::json::serialize(r.to_json()));
    CHECK_FALSE(r.ok);
    CHECK(has(r.problems, "log_inconsistent", e.s.items[0].record.id));
  };

  // Unchanged, re-packed by GNU tar: still verifies (the attack harness is sound).
  CHECK(attack([](boost::json::object&) {}).ok);
  SECTION("truncated") {
    proof_fails(attack([&](boost::json::object& en) { hashes(en).pop_back(); }));
  }
  SECTION("padded") {
    proof_fails(attack([&](boost::json::object& en) { hashes(en).push_back(hashes(en).back()); }));
  }
  SECTION("one bit flipped") {
    proof_fails(attack([&](boost::json::object& en) {
      auto h = from_base64(hashes(en).front().as_string()).value();
      h[7] ^= 0x20;
      hashes(en).front() = boost::json::string(to_base64(h));
    }));
  }
  SECTION("hashes reordered") {
    proof_fails(attack([&](boost::json::object& en) { std::swap(hashes(en)[0], hashes(en)[1]); }));
  }
  SECTION("claimed for another index or tree size") {
    proof_fails(attack([&](boost::json::object& en) { en.at("inclusion_proof").as_object()["index"] = 1; }));
    proof_fails(attack([&](boost::json::object& en) { en.at("inclusion_proof").as_object()["size"] = 5; }));
  }
  SECTION("not base64") {
    proof_fails(attack([&](boost::json::object& en) { hashes(en).front() = "not base64!"; }));
  }
}
