#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <thread>

#include "base/error.h"
#include "store/index.h"
#include "store/lmdb/lmdb_index.h"
#include "tests/store/store_fixture.h"
#include "tests/tempdir.h"

using namespace evidence;

namespace {

merkle::Hash root_from_leaves(const std::vector<LogEntry>& entries) {
  merkle::Frontier f;
  for (auto& e : entries) f.append(merkle::leaf_hash(as_bytes(e.leaf)), nullptr);
  return f.root();
}

// Every record has its blob and its ingest entry, every entry decodes, and the
// stored tree agrees with the leaves.
void check_consistent(const Layout& layout, std::size_t* items_out = nullptr) {
  LmdbIndex index(layout, OpenMode::read_write);
  LocalBlobStore blobs(layout);
  auto size = index.log_size();
  auto entries = index.log_entries(0, size);
  REQUIRE(entries.size() == size);
  CHECK(index.log_root(size) == root_from_leaves(entries));
  std::size_t ingests = 0;
  for (auto& e : entries) {
    auto ev = CustodyEvent::decode(e.leaf);
    if (ev.action != "ingest") continue;
    ++ingests;
    auto rec = index.get_evidence(*ev.evidence);
    REQUIRE(rec);
    CHECK(Sha256::of(*index.evidence_bytes(rec->id)).hex() == *ev.record_hash);
    CHECK(blobs.exists(rec->sha256));
  }
  CHECK(ingests == index.evidence_count());
  if (items_out) *items_out = ingests;
}

}  // namespace

TEST_CASE("a crash between the blob and the index leaves an unreferenced blob and no record", "[crash]") {
  test::TempDir dir;
  Layout layout(dir.path());
  { LmdbIndex init(layout, OpenMode::read_write); }
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    LocalBlobStore blobs(layout);
    test::put_blob(blobs, "durable but never indexed");
    ::_exit(0);  // the process dies before the index transaction
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  LocalBlobStore blobs(layout);
  auto id = Sha256::of(std::string("durable but never indexed"));
  CHECK(blobs.exists(id));
  LmdbIndex index(layout, OpenMode::read_write);
  CHECK(index.items_with_content(id).empty());
  CHECK(index.evidence_count() == 0);
  CHECK(index.log_size() == 0);
}

TEST_CASE("an aborted transaction leaves nothing", "[crash]") {
  test::TempDir dir;
  Layout layout(dir.path());
  LocalBlobStore blobs(layout);
  LmdbIndex index(layout, OpenMode::read_write);
  auto blob = test::put_blob(blobs, "content");
  auto first = test::new_item(blob, {"C-1"});
  auto dup = first;  // the same id again makes the second commit fail mid-transaction
  try {
    index.commit_evidence_batch({first, dup});
    FAIL("a duplicate id was accepted");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::already_exists);
  }
  CHECK(index.evidence_count() == 0);
  CHECK(index.log_size() == 0);
  CHECK(index.items_in_case("C-1").empty());
  CHECK(index.list_cases("", 10).empty());
  // And the index still works afterwards.
  index.commit_evidence(first);
  CHECK(index.evidence_count() == 1);
}

TEST_CASE("after SIGKILL at random moments the index and log reopen consistent", "[crash]") {
  test::TempDir dir;
  Layout layout(dir.path());
  { LmdbIndex init(layout, OpenMode::read_write); }
  std::mt19937 rng(12345);
  std::size_t last_items = 0;
  for (int round = 0; round < 6; ++round) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      LocalBlobStore blobs(layout);
      LmdbIndex index(layout, OpenMode::read_write);
      for (int i = 0;; ++i) {
        auto blob = test::put_blob(blobs, "round " + std::to_string(round) + " item " + std::to_string(i));
        index.commit_evidence(test::new_item(blob, {"CASE-" + std::to_string(i % 3)}));
        CustodyEvent v{"2026-11-27T00:00:00.000Z", "r", "reviewer", "view", {}, {}, {}, {}, {}, {}};
        index.append_event(v);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % 200));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    std::size_t items = 0;
    check_consistent(layout, &items);
    CHECK(items >= last_items);  // nothing committed before is ever lost
    last_items = items;
  }
  CHECK(last_items > 0);
}
