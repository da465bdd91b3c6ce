// evidencectl upload against the real daemon: receipts that verify and that do not,
// and an upload cut by killing the server that resumes after a restart.
#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <future>
#include <thread>

#include "base/codec.h"
#include "verify/signed_note.h"
#include "tests/tools/ctl_fixture.h"

using namespace evidence::test;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

void write_text(const fs::path& p, const std::string& s) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f << s;
}

json::object read_json(const fs::path& p) { return json::parse(read_file(p)).as_object(); }

}  // namespace

TEST_CASE("an uploaded file's receipt verifies but a changed file or receipt does not", "[evidencectl][daemon]") {
  TempDir tmp;
  Daemon d(tmp / "data");
  Ctl ctl(tmp / "home");
  ctl.server = d.url();
  ctl.token = d.add_user("alice", "officer");
  const auto file = tmp / "clip.mp4";
  write_random_file(file, 3 * 1024 * 1024 + 17, 11);
  const std::string case_number = "汉台执罚〔2017〕第123号";

  const auto up = ctl.run({"upload", file.string(), "--officer", "alice", "--device", "cam-7", "--case",
                           case_number, "--chunk-size", "1M", "--plain"});
  INFO("upload stdout: " << up.out << "\nstderr: " << up.err << "\ndaemon: " << d.stderr_text());
  REQUIRE(up.exit_code == 0);
  CHECK(up.out.find("receipt verified") != std::string::npos);
  const fs::path receipt = file.string() + ".receipt.json";
  REQUIRE(fs::exists(receipt));
  const auto r = read_json(receipt);
  CHECK(r.at("sha256").as_string() == sha256_hex_of_file(file));
  CHECK(r.at("cases").as_array().size() == 1);
  CHECK(r.at("cases").as_array()[0].as_string() == case_number);
  const std::string id(r.at("evidence_id").as_string());
  // The resume state is gone once the receipt verified.
  CHECK((!fs::exists(ctl.state_dir() / "uploads") || fs::is_empty(ctl.state_dir() / "uploads")));

  SECTION("verify-receipt passes offline, with the keys pinned at upload") {
    ctl.server = "http://127.0.0.1:1";  // proves nothing is fetched
    const auto v = ctl.run({"verify-receipt", receipt.string(), file.string()});
    INFO(v.out << v.err);
    CHECK(v.exit_code == 0);
    CHECK(v.out.find("receipt verified") != std::string::npos);
    CHECK(fs::exists(ctl.config_dir() / "known_logs.json"));
  }

  SECTION("a file with one byte changed fails the content check") {
    auto bytes = read_file(file);
    bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x01);
    const auto changed = tmp / "changed.mp4";
    write_text(changed, bytes);
    const auto v = ctl.run({"verify-receipt", receipt.string(), changed.string()});
    INFO(v.out << v.err);
    CHECK(v.exit_code == 1);
    CHECK(v.out.find("FAIL  content") != std::string::npos);
    CHECK(v.out.find("ok    timestamp") != std::string::npos);
  }

  SECTION("a receipt with a changed inclusion proof fails that check") {
    auto forged = r;
    auto& hashes = forged["inclusion_proof"].as_object()["hashes"].as_array();
    if (hashes.empty()) {
      // A one-entry log has no proof hashes: claim a different index instead.
      forged["inclusion_proof"].as_object()["index"] = 1;
    } else {
      auto h = *evidence::from_base64(std::string(hashes[0].as_string()));
      h[5] ^= 0x80;
      hashes[0] = json::value(evidence::to_base64(h));
    }
    write_text(tmp / "forged.json", json::serialize(forged));
    const auto v = ctl.run({"verify-receipt", (tmp / "forged.json").string(), file.string()});
    INFO(v.out << v.err);
    CHECK(v.exit_code == 1);
    CHECK(v.out.find("FAIL  inclusion_proof") != std::string::npos);
  }

  SECTION("a receipt whose hash was swapped for another file's fails the timestamp check") {
    const auto other = tmp / "other.mp4";
    write_random_file(other, 4096, 99);
    auto forged = r;
    forged["sha256"] = sha256_hex_of_file(other);
    forged["size"] = 4096;
    write_text(tmp / "forged.json", json::serialize(forged));
    const auto v = ctl.run({"verify-receipt", (tmp / "forged.json").string(), other.string()});
    INFO(v.out << v.err);
    CHECK(v.exit_code == 1);
    CHECK(v.out.find("ok    content") != std::string::npos);
    CHECK(v.out.find("FAIL  timestamp") != std::string::npos);
  }

  SECTION("a receipt checked with a log key other than the pinned one fails the signature check") {
    // A well-formed verifier key for the same origin, but not the log's.
    const std::string origin = std::string(r.at("checkpoint").as_string()).substr(
        0, std::string(r.at("checkpoint").as_string()).find('\n'));
    const std::string real(r.at("log_key").as_string());
    auto forged = r;
    forged.erase("log_key");
    write_text(tmp / "nokey.json", json::serialize(forged));
    const auto ok = ctl.run({"verify-receipt", (tmp / "nokey.json").string(), file.string(), "--log-key", real});
    CHECK(ok.exit_code == 0);
    const auto other = evidence::note::Ed25519Key::generate();
    const auto other_vkey = evidence::note::Verifier::for_key(origin, other.public_key()).to_string();
    const auto bad = ctl.run({"verify-receipt", (tmp / "nokey.json").string(), file.string(), "--log-key", other_vkey});
    INFO(bad.out << bad.err);
    CHECK(bad.exit_code == 1);
    CHECK(bad.out.find("FAIL  checkpoint_signature") != std::string::npos);
  }

  SECTION("the server's audit of the item is clean (POST /verify)") {
    ctl.token = d.admin_token();
    const auto v = ctl.run({"verify", "--evidence", id});
    INFO(v.out << v.err);
    CHECK(v.exit_code == 0);
    CHECK(v.out.find("intact") != std::string::npos);
  }

  SECTION("get downloads the content checked against its record") {
    ctl.token = d.admin_token();
    const auto out = tmp / "copy.mp4";
    const auto g = ctl.run({"get", id, "-o", out.string()});
    INFO(g.out << g.err);
    CHECK(g.exit_code == 0);
    CHECK(sha256_hex_of_file(out) == sha256_hex_of_file(file));
  }

  SECTION("the case lists the item and the log checkpoint verifies with the pinned key") {
    ctl.token = d.admin_token();
    const auto cs = ctl.run({"cases"});
    INFO(cs.out << cs.err);
    CHECK(cs.exit_code == 0);
    CHECK(cs.out.find(case_number) != std::string::npos);
    const auto c = ctl.run({"case", case_number});
    INFO(c.out << c.err);
    CHECK(c.exit_code == 0);
    CHECK(c.out.find(id) != std::string::npos);
    const auto cp = ctl.run({"log", "checkpoint"});
    INFO(cp.out << cp.err);
    CHECK(cp.exit_code == 0);
    CHECK(cp.err.find("signature ok") != std::string::npos);  // the key pinned at upload
  }
}

TEST_CASE("an upload cut by killing the server resumes after a restart and sends only the rest",
          "[evidencectl][daemon][resume]") {
  TempDir tmp;
  Daemon d(tmp / "data");
  Ctl ctl(tmp / "home");
  ctl.server = d.url();
  ctl.token = d.add_user("bob", "officer");
  const std::uint64_t size = 24ull << 20;
  const auto file = tmp / "long.mp4";
  write_random_file(file, size, 5);
  const std::vector<std::string> args{"upload", file.string(), "--officer", "bob", "--device", "cam-2",
                                      "--chunk-size", "256K", "--plain"};

  // First run: slowed down so the server can be killed while bytes are flowing.
  auto slow = args;
  slow.insert(slow.end(), {"--limit-rate", "3M", "--retries", "2"});
  auto first = std::async(std::launch::async, [&] { return ctl.run(slow); });

  // Wait until the server holds some of it (the resume state names the upload).
  std::string upload_path;
  std::uint64_t offset = 0;
  for (int i = 0; i < 600 && offset < (2u << 20); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const auto dir = ctl.state_dir() / "uploads";
    if (upload_path.empty() && fs::exists(dir)) {
      for (const auto& e : fs::directory_iterator(dir)) {
        if (e.path().extension() != ".json") continue;
        try {
          upload_path = std::string(json::parse(read_file(e.path())).as_object().at("upload").as_string());
        } catch (const std::exception&) {
        }
      }
    }
    if (upload_path.empty()) continue;
    const auto h = http("HEAD", d.url() + upload_path, ctl.token, {}, {{"Tus-Resumable", "1.0.0"}});
    if (h.status == 200 && !h.header("upload-offset").empty()) offset = std::stoull(h.header("upload-offset"));
  }
  REQUIRE(!upload_path.empty());
  REQUIRE(offset >= (2u << 20));
  d.kill9();
  const auto cut = first.get();
  INFO("first run stdout: " << cut.out << "\nstderr: " << cut.err);
  REQUIRE(cut.exit_code == 2);
  CHECK(cut.err.find("run the same command again") != std::string::npos);
  const auto sent_first = find_number(cut.out, "sent (\\d+) bytes");
  CHECK_FALSE(sent_first.has_value());  // it never finished

  // Second run, after a restart (on a new port), as a new client process.
  d.start();
  ctl.server = d.url();
  const auto again = ctl.run(args);
  INFO("second run stdout: " << again.out << "\nstderr: " << again.err << "\ndaemon: " << d.stderr_text());
  REQUIRE(again.exit_code == 0);
  const auto resumed = find_number(again.out, "resumed at (\\d+) bytes");
  const auto sent = find_number(again.out, "sent (\\d+) bytes");
  REQUIRE(resumed.has_value());
  REQUIRE(sent.has_value());
  CHECK(*resumed > 0);
  CHECK(*sent < size);
  CHECK(*resumed + *sent >= size);
  const auto r = read_json(file.string() + ".receipt.json");
  CHECK(r.at("sha256").as_string() == sha256_hex_of_file(file));
  CHECK(r.at("size").to_number<std::uint64_t>() == size);
}

TEST_CASE("several files upload in parallel, each with its own verified receipt", "[evidencectl][daemon]") {
  TempDir tmp;
  Daemon d(tmp / "data");
  Ctl ctl(tmp / "home");
  ctl.server = d.url();
  ctl.token = d.add_user("carol", "officer");
  std::vector<std::string> args{"upload", "--officer", "carol", "--device", "cam-3", "-j", "2", "--chunk-size", "512K"};
  std::vector<fs::path> files;
  for (unsigned i = 0; i < 3; ++i) {
    files.push_back(tmp / ("f" + std::to_string(i) + ".mp4"));
    write_random_file(files.back(), 700 * 1024 + i, 20 + i);
    args.push_back(files.back().string());
  }
  const auto up = ctl.run(args);
  INFO(up.out << up.err);
  REQUIRE(up.exit_code == 0);
  for (const auto& f : files) {
    const auto r = read_json(f.string() + ".receipt.json");
    CHECK(r.at("sha256").as_string() == sha256_hex_of_file(f));
  }
}

TEST_CASE("an upload whose receipt does not verify against the pinned log key is not reported as success",
          "[evidencectl][daemon]") {
  TempDir tmp;
  Daemon d(tmp / "data");
  Ctl ctl(tmp / "home");
  ctl.server = d.url();
  ctl.token = d.add_user("frank", "officer");
  // Pin, for this log's origin, a key that is not the log's (as if the server had
  // been replaced by one with another key since the station first used it).
  const auto cp = http("GET", d.api("/log/checkpoint"), ctl.token);
  REQUIRE(cp.status == 200);
  std::string note = cp.body;
  if (!note.empty() && note[0] == '{') note = std::string(json::parse(note).as_object().at("checkpoint").as_string());
  const std::string origin = note.substr(0, note.find('\n'));
  const auto other = evidence::note::Ed25519Key::generate();
  const auto wrong = evidence::note::Verifier::for_key(origin, other.public_key()).to_string();
  fs::create_directories(ctl.config_dir());
  write_text(ctl.config_dir() / "known_logs.json",
             json::serialize(json::object{{"logs", json::object{{origin, json::object{{"log_key", wrong}}}}}}));

  const auto file = tmp / "clip.mp4";
  write_random_file(file, 64 * 1024, 8);
  const auto up = ctl.run({"upload", file.string(), "--officer", "frank", "--device", "cam-5"});
  INFO(up.out << up.err);
  CHECK(up.exit_code == 1);
  CHECK(up.out.find("receipt verified") == std::string::npos);
  CHECK(up.err.find("FAIL  checkpoint_signature") != std::string::npos);
  CHECK(up.err.find("pinned") != std::string::npos);
  CHECK(fs::exists(file.string() + ".receipt.json"));  // kept for inspection
}
