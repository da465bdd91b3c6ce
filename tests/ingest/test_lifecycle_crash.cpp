// A disposition's execution killed part way (store/disposal.h, "Crash safety is by
// order"): after a restart every item is either fully live (content served, no
// `dispose` entry, its blob there) or fully disposed (410, one `dispose` entry, its
// blob gone unless a live item shares it), and the audit of the folder is clean.
// The deterministic kills use the daemon's test-only EVIDENCE_FAULT hooks
// (dispose_before_commit, dispose_after_commit: ingest/api_lifecycle.cpp); the last
// case SIGKILLs it at varied moments of an approval.
#include <catch2/catch.hpp>
#include <csignal>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <thread>

#include "tests/ingest/daemon_fixture.h"

using namespace evidence;
using namespace evidence::test;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

struct Item {
  std::string id;
  std::string bytes;
  bool shared = false;  // a live item has the same bytes
};

std::string upload(const Daemon& d, const std::string& data, const std::string& category) {
  auto r = http("POST",
                d.api("/evidence?officer=jo&device=cam-1&filename=a.mp4&recorded_at=" +
                      pct("2026-11-27T10:00:00Z") + "&category=" + category),
                d.admin_token(), data);
  INFO(r.body);
  REQUIRE(r.status == 201);
  return std::string(obj(r)["evidence_id"].as_string());
}

fs::path blob_file(const fs::path& data, const std::string& content) {
  const std::string hex = sha256_hex(content);
  return data / "blobs" / "sha256" / hex.substr(0, 2) / hex;
}

std::size_t dispose_entries(const Daemon& d, const std::string& id) {
  std::size_t n = 0;
  for (std::uint64_t start = 0;;) {
    auto r = http("GET", d.api("/log/entries?start=" + std::to_string(start)), d.admin_token());
    REQUIRE(r.status == 200);
    auto page = obj(r)["entries"].as_array();
    if (page.empty()) return n;
    start += page.size();
    for (const auto& e : page) {
      const auto& o = e.as_object();
      if (o.at("action") == "dispose" && o.contains("evidence") && o.at("evidence").as_string() == id) ++n;
    }
  }
}

// Two due items of their own bytes and one whose bytes a routine (live) item shares,
// in one pending disposition. Returns the disposition's id.
std::string prepare(const Daemon& d, std::vector<Item>& items, unsigned seed) {
  const std::string shared = random_bytes_string(3000, seed);
  upload(d, shared, "routine");
  items = {{"", random_bytes_string(4000, seed + 1), false},
           {"", random_bytes_string(5000, seed + 2), false},
           {"", shared, true}};
  std::string list;
  for (auto& i : items) {
    i.id = upload(d, i.bytes, "brief");
    list += (list.empty() ? "\"" : ",\"") + i.id + "\"";
  }
  auto req = http("POST", d.api("/dispositions"), d.admin_token(), R"({"items": [)" + list + R"(], "reason": "over"})",
                  kJson);
  INFO(req.body);
  REQUIRE(req.status == 201);
  return std::string(obj(req).at("id").as_string());
}

// Every item all live or all disposed; returns how many are disposed. Blobs of
// disposed items are gone once `reaped` (the start's reap ran).
std::size_t check_whole(const Daemon& d, const std::vector<Item>& items) {
  std::size_t disposed = 0;
  for (const auto& i : items) {
    INFO(i.id);
    auto rec = obj(http("GET", d.api("/evidence/" + i.id), d.admin_token()));
    auto content = http("GET", d.api("/evidence/" + i.id + "/content"), d.admin_token());
    const std::size_t entries = dispose_entries(d, i.id);
    if (rec.contains("disposed")) {
      ++disposed;
      CHECK(content.status == 410);
      CHECK(entries == 1);
      CHECK(rec.at("disposed").at("approved_by") == "ada");
    } else {
      CHECK(content.status == 200);
      CHECK(content.body == i.bytes);
      CHECK(entries == 0);
      CHECK(fs::exists(blob_file(d.data_dir(), i.bytes)));
    }
  }
  return disposed;
}

// The start's reap runs in the background: wait until the disposed items' own blobs are gone.
void check_blobs_reaped(const Daemon& d, const std::vector<Item>& items) {
  for (const auto& i : items) {
    auto rec = obj(http("GET", d.api("/evidence/" + i.id), d.admin_token()));
    const fs::path f = blob_file(d.data_dir(), i.bytes);
    if (!rec.contains("disposed") || i.shared) {
      CHECK(fs::exists(f));
      continue;
    }
    for (int n = 0; n < 200 && fs::exists(f); ++n) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(!fs::exists(f));
  }
}

void check_audit_clean(Daemon& d) {
  REQUIRE(d.stop() == 0);
  auto audit = run_process({EVIDENCED_PATH, "verify", "--data", d.data_dir().string(), "--json"});
  INFO(audit.out << audit.err);
  CHECK(audit.exit_code == 0);
}

// The approval, which the daemon may not live to answer.
void approve_dying(const Daemon& d, const std::string& token, const std::string& disp) {
  try {
    (void)http("POST", d.api("/dispositions/" + disp + "/approve"), token);
  } catch (const std::exception&) {
    // The connection died with the daemon.
  }
}

// The daemon these cases kill: a 0-day category `brief` makes items due at once, and a
// second admin approves. `fault`, when given, is its EVIDENCE_FAULT (read at start).
struct Stage {
  struct Fault {
    explicit Fault(const char* f) {
      if (f) ::setenv("EVIDENCE_FAULT", f, 1);
    }
    ~Fault() { ::unsetenv("EVIDENCE_FAULT"); }
  };
  std::optional<Fault> fault;
  Daemon d;
  std::string second;
  Stage(const fs::path& data, const char* f)
      : fault(std::in_place, f), d(data, {"--min-retention-days", "0"}) {
    fault.reset();  // the started daemon has it; later restarts do not
    second = d.add_user("ada", "admin");
    REQUIRE(http("PUT", d.api("/retention/categories/brief"), d.admin_token(), R"({"days": 0})", kJson).status ==
            200);
  }
};

std::string disposition_state(const Daemon& d, const std::string& disp) {
  return std::string(obj(http("GET", d.api("/dispositions/" + disp), d.admin_token())).at("state").as_string());
}

}  // namespace

TEST_CASE("lifecycle crash: killed before the disposition's commit, every item stays live and it stays pending",
          "[daemon][lifecycle][crash]") {
  TempDir dir;
  Stage stage(dir.path() / "data", "dispose_before_commit");
  Daemon& d = stage.d;
  const std::string& second = stage.second;
  std::vector<Item> items;
  const std::string disp = prepare(d, items, 10);
  approve_dying(d, second, disp);
  d.kill9();
  d.start();
  CHECK(check_whole(d, items) == 0);
  CHECK(disposition_state(d, disp) == "pending");
  // Approving again after the restart carries it out.
  auto done = http("POST", d.api("/dispositions/" + disp + "/approve"), second);
  INFO(done.body);
  REQUIRE(done.status == 200);
  CHECK(check_whole(d, items) == items.size());
  check_blobs_reaped(d, items);
  check_audit_clean(d);
}

TEST_CASE("lifecycle crash: killed between the commit and the blob deletions, every item is disposed and the restart "
          "deletes the blobs",
          "[daemon][lifecycle][crash]") {
  TempDir dir;
  Stage stage(dir.path() / "data", "dispose_after_commit");
  Daemon& d = stage.d;
  const std::string& second = stage.second;
  std::vector<Item> items;
  const std::string disp = prepare(d, items, 20);
  approve_dying(d, second, disp);
  d.kill9();
  for (const auto& i : items) CHECK(fs::exists(blob_file(d.data_dir(), i.bytes)));  // the kill came first
  d.start();
  CHECK(check_whole(d, items) == items.size());
  CHECK(disposition_state(d, disp) == "done");
  check_blobs_reaped(d, items);
  check_audit_clean(d);
}

TEST_CASE("lifecycle crash: SIGKILL at varied moments of an approval never leaves a half-disposed item",
          "[daemon][lifecycle][crash]") {
  TempDir dir;
  Stage stage(dir.path() / "data", nullptr);
  Daemon& d = stage.d;
  const std::string& second = stage.second;
  std::vector<Item> all;
  for (int round = 0; round < 4; ++round) {
    INFO("round " << round);
    std::vector<Item> items;
    const std::string disp = prepare(d, items, 100 + 10 * round);
    const int pid = d.pid();
    std::thread killer([pid, round] {
      std::this_thread::sleep_for(std::chrono::microseconds(round * 1500));
      ::kill(pid, SIGKILL);
    });
    approve_dying(d, second, disp);
    killer.join();
    d.kill9();
    d.start();
    const std::size_t disposed = check_whole(d, items);
    CHECK((disposed == 0 || disposed == items.size()));
    CHECK(disposition_state(d, disp) == (disposed ? "done" : "pending"));
    all.insert(all.end(), items.begin(), items.end());
  }
  check_whole(d, all);
  check_blobs_reaped(d, all);
  check_audit_clean(d);
}
