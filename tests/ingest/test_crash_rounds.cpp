// Crash consistency of the real daemon: rounds of concurrent uploads (one-shot and
// tus, several threads) cut short by SIGKILL at a random moment, then a restart and
// the checks DESIGN.md's durability order promises:
// - every item whose receipt reached the client is present and its content hashes to
//   the receipt's sha256;
// - no partial item is visible: every item the index lists has the full content of
//   some upload a client attempted (a commit whose answer was lost is complete too);
// - an interrupted tus upload resumes at the offset HEAD reports and completes;
// - the offline audit (`evidenced verify --data DIR --json`) finds no problems, only
//   blob_orphan hints (a crash between blob rename and index commit).
//
// ROUNDS (default 3) sets the number of rounds, CRASH_SEED the random seed (printed
// on failure), CRASH_VERIFY_EVERY how often the offline audit runs (default: every
// round). docs/reliability.md says how to run hundreds of rounds.
#include <catch2/catch.hpp>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "tests/ingest/daemon_fixture.h"

using namespace evidence;
using namespace evidence::test;
namespace json = boost::json;

namespace {

long env_long(const char* name, long def) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtol(v, nullptr, 10) : def;
}

struct Committed {
  std::string id, sha256;
  std::size_t size = 0;
};

struct PendingTus {
  std::string upload_id, data;
};

// What the client threads saw; shared, so guarded.
struct Ledger {
  std::mutex mu;
  std::vector<Committed> committed;          // receipts (or Evidence-Id) received
  std::map<std::string, std::size_t> tried;  // sha256 -> size of every upload attempted
  std::vector<PendingTus> pending;           // tus uploads created but not completed
  std::vector<std::string> odd;              // unexpected answers before the kill
};

const char* const kOfficer = "Crash Officer";

std::string oneshot_url(const std::string& base, unsigned n) {
  return base + "/api/v1/evidence?officer=" + pct(kOfficer) + "&device=cam-" + std::to_string(n % 3) +
         "&filename=c" + std::to_string(n) + ".bin&recorded_at=" + pct("2026-11-27T12:00:00Z");
}

void oneshot_client(const std::string& base, const std::string& token, unsigned seed, std::atomic<bool>& stop,
                    Ledger& ledger) {
  std::mt19937 rng(seed);
  for (unsigned n = 0; !stop; ++n) {
    const std::string data = random_bytes_string(1000 + rng() % (1 << 20), rng());
    const std::string sha = sha256_hex(data);
    {
      std::lock_guard lock(ledger.mu);
      ledger.tried[sha] = data.size();
    }
    HttpResponse r;
    try {
      r = http("POST", oneshot_url(base, seed + n), token, data,
               {{"Content-Digest", "sha-256=:" + sha256_b64(data) + ":"}});
    } catch (const std::exception&) {
      return;  // the daemon is gone
    }
    std::lock_guard lock(ledger.mu);
    if (r.status != 201) {
      if (!stop) ledger.odd.push_back("one-shot answered " + std::to_string(r.status) + ": " + r.body);
      return;
    }
    const auto receipt = obj(r);
    if (receipt.at("sha256").as_string() != sha) ledger.odd.push_back("receipt sha256 differs");
    ledger.committed.push_back({std::string(receipt.at("evidence_id").as_string()), sha, data.size()});
  }
}

std::string tus_metadata(unsigned n) {
  return "officer " + b64(kOfficer) + ",device " + b64("dock-" + std::to_string(n % 2)) + ",filename " +
         b64("t" + std::to_string(n) + ".bin");
}

// PATCHes `data` from `offset` in chunks; returns the Evidence-Id once complete, ""
// when the daemon went away first. Throws std::runtime_error on an unexpected answer.
std::string patch_rest(const std::string& base, const std::string& token, const std::string& id,
                       const std::string& data, std::size_t offset, std::size_t chunk,
                       const std::atomic<bool>* stop) {
  while (offset < data.size()) {
    const std::size_t n = std::min(chunk, data.size() - offset);
    HttpResponse r;
    try {
      r = http("PATCH", base + "/api/v1/uploads/" + id, token, data.substr(offset, n),
               {{"Tus-Resumable", "1.0.0"},
                {"Upload-Offset", std::to_string(offset)},
                {"Content-Type", "application/offset+octet-stream"}});
    } catch (const std::exception&) {
      return "";
    }
    if (r.status != 204) {
      if (stop && *stop) return "";
      throw std::runtime_error("PATCH at " + std::to_string(offset) + " answered " + std::to_string(r.status) + ": " +
                               r.body);
    }
    offset = std::stoull(r.header("upload-offset"));
    if (offset == data.size()) {
      if (r.header("evidence-id").empty()) throw std::runtime_error("the last PATCH carried no Evidence-Id");
      return r.header("evidence-id");
    }
  }
  throw std::runtime_error("upload already complete");
}

void tus_client(const std::string& base, const std::string& token, unsigned seed, std::atomic<bool>& stop,
                Ledger& ledger) {
  std::mt19937 rng(seed);
  for (unsigned n = 0; !stop; ++n) {
    const std::string data = random_bytes_string(1000 + rng() % (3 << 20), rng());
    const std::string sha = sha256_hex(data);
    {
      std::lock_guard lock(ledger.mu);
      ledger.tried[sha] = data.size();
    }
    HttpResponse r;
    try {
      r = http("POST", base + "/api/v1/uploads", token, "",
               {{"Tus-Resumable", "1.0.0"},
                {"Upload-Length", std::to_string(data.size())},
                {"Upload-Metadata", tus_metadata(seed + n)}});
    } catch (const std::exception&) {
      return;
    }
    if (r.status != 201) {
      std::lock_guard lock(ledger.mu);
      if (!stop) ledger.odd.push_back("tus create answered " + std::to_string(r.status) + ": " + r.body);
      return;
    }
    const std::string loc = r.header("location");
    const std::string id = loc.substr(loc.rfind('/') + 1);
    std::string evidence_id;
    try {
      evidence_id = patch_rest(base, token, id, data, 0, 64 * 1024 + rng() % (512 * 1024), &stop);
    } catch (const std::exception& e) {
      std::lock_guard lock(ledger.mu);
      ledger.odd.push_back(e.what());
      return;
    }
    std::lock_guard lock(ledger.mu);
    if (evidence_id.empty()) {
      ledger.pending.push_back({id, data});
      return;
    }
    ledger.committed.push_back({evidence_id, sha, data.size()});
  }
}

void check_content(const Daemon& d, const std::string& token, const Committed& c) {
  auto r = http("GET", d.api("/evidence/" + c.id + "/content"), token);
  INFO("item " << c.id);
  REQUIRE(r.status == 200);
  CHECK(r.body.size() == c.size);
  CHECK(sha256_hex(r.body) == c.sha256);
}

// Every item of the crash officer, paging through search.
std::vector<json::object> listed_items(const Daemon& d, const std::string& token) {
  std::vector<json::object> out;
  std::string cursor;
  for (;;) {
    auto r = http("GET", d.api("/search?officer=" + pct(kOfficer) + "&limit=500" +
                               (cursor.empty() ? "" : "&cursor=" + pct(cursor))),
                  token);
    REQUIRE(r.status == 200);
    auto page = obj(r);
    for (auto& v : page.at("items").as_array()) out.push_back(v.as_object());
    if (!page.at("next").is_string()) break;
    cursor = std::string(page.at("next").as_string());
  }
  return out;
}

void offline_audit(const std::filesystem::path& data) {
  auto v = run_process({EVIDENCED_PATH, "verify", "--data", data.string(), "--json"}, {}, {}, 600);
  INFO("evidenced verify: exit " << v.exit_code << "\n" << v.out << v.err);
  REQUIRE(v.exit_code == 0);
  auto report = json::parse(v.out).as_object();
  CHECK(report.at("ok").as_bool());
  CHECK(report.at("problems").as_array().empty());
  for (const auto& h : report.at("hints").as_array()) {
    CHECK(h.as_object().at("kind").as_string() == "blob_orphan");
  }
}

}  // namespace

TEST_CASE("crash rounds: SIGKILL during concurrent uploads loses no receipt and shows no partial item",
          "[daemon][crash]") {
  const long rounds = env_long("ROUNDS", 3);
  const long verify_every = std::max(1L, env_long("CRASH_VERIFY_EVERY", 1));
  const unsigned seed = static_cast<unsigned>(env_long("CRASH_SEED", std::random_device{}()));
  INFO("CRASH_SEED=" << seed << " ROUNDS=" << rounds);
  std::mt19937 rng(seed);

  TempDir dir;
  Daemon d(dir.path() / "data");
  const std::string token = d.add_user(kOfficer, "officer");
  std::vector<Committed> all;                // every receipt of every round
  std::map<std::string, std::size_t> tried;  // every upload ever attempted: sha256 -> size

  for (long round = 0; round < rounds; ++round) {
    INFO("round " << round);
    Ledger ledger;
    std::atomic<bool> stop{false};
    std::vector<std::thread> clients;
    const std::string base = d.url();
    for (unsigned t = 0; t < 2; ++t) {
      clients.emplace_back(oneshot_client, base, token, rng(), std::ref(stop), std::ref(ledger));
      clients.emplace_back(tus_client, base, token, rng(), std::ref(stop), std::ref(ledger));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 1500));
    stop = true;
    d.kill9();
    for (auto& c : clients) c.join();
    for (const auto& o : ledger.odd) FAIL_CHECK("before the kill: " << o);
    d.start();

    // Receipts handed out survive, intact.
    for (const auto& c : ledger.committed) check_content(d, token, c);
    // Earlier rounds' items stay intact too (a sample, to keep long runs quick).
    for (int i = 0; i < 5 && !all.empty(); ++i) check_content(d, token, all[rng() % all.size()]);
    all.insert(all.end(), ledger.committed.begin(), ledger.committed.end());

    // Interrupted tus uploads resume at HEAD's offset and complete.
    for (const auto& p : ledger.pending) {
      auto h = http("HEAD", d.api("/uploads/" + p.upload_id), token, "", {{"Tus-Resumable", "1.0.0"}});
      INFO("upload " << p.upload_id);
      REQUIRE(h.status == 200);
      const std::size_t offset = std::stoull(h.header("upload-offset"));
      REQUIRE(offset <= p.data.size());
      std::string evidence_id = h.header("evidence-id");
      if (evidence_id.empty()) {
        REQUIRE(offset < p.data.size());
        evidence_id = patch_rest(d.url(), token, p.upload_id, p.data, offset, 1 << 20, nullptr);
      }
      REQUIRE(!evidence_id.empty());
      Committed c{evidence_id, sha256_hex(p.data), p.data.size()};
      check_content(d, token, c);
      all.push_back(c);
    }

    // No partial item: everything listed is the whole of something a client sent.
    std::set<std::string> known_ids;
    for (const auto& c : all) known_ids.insert(c.id);
    tried.insert(ledger.tried.begin(), ledger.tried.end());
    const auto listed = listed_items(d, token);
    // One upload, one item: every upload sends bytes of its own, so no content may
    // appear twice (a tus upload completed by a PATCH and again by a HEAD would).
    std::map<std::string, int> per_content;
    for (const auto& item : listed) ++per_content[std::string(item.at("sha256").as_string())];
    for (const auto& [sha, n] : per_content) {
      INFO("content " << sha);
      CHECK(n == 1);
    }
    for (const auto& item : listed) {
      const std::string id(item.at("id").as_string());
      if (known_ids.count(id)) continue;
      // Committed but its answer was lost in the kill: must be complete.
      const std::string sha(item.at("sha256").as_string());
      INFO("unreceipted item " << id);
      auto it = tried.find(sha);
      REQUIRE(it != tried.end());
      CHECK(item.at("size").to_number<std::size_t>() == it->second);
      Committed c{id, sha, it->second};
      check_content(d, token, c);
      all.push_back(c);
      known_ids.insert(id);
    }

    if ((round + 1) % verify_every == 0 || round + 1 == rounds) offline_audit(d.data_dir());
  }
  REQUIRE(d.stop() == 0);
  offline_audit(dir.path() / "data");
}
