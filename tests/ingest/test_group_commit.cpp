// Group commit (ingest/group_commit.h): concurrent new items share transactions, yet
// each caller gets its own committed item (or its own error), only once it is durable.
#include <catch2/catch.hpp>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "ingest/group_commit.h"
#include "store/blob_store.h"
#include "base/error.h"
#include "store/index.h"
#include "store/lmdb/lmdb_index.h"
#include "tests/store/store_fixture.h"
#include "tests/tempdir.h"

using namespace evidence;

TEST_CASE("concurrent commits each get their own item and log entry", "[group_commit]") {
  test::TempDir dir;
  Layout layout(dir.path());
  LocalBlobStore blobs(layout);
  LmdbIndex index(layout, OpenMode::read_write);
  ingest::GroupCommit group(index);
  auto blob = test::put_blob(blobs, "footage");

  constexpr int kThreads = 16, kEach = 8;
  std::vector<std::vector<Committed>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) got[t].push_back(group.commit(test::new_item(blob, {"C-" + std::to_string(t)})));
    });
  }
  for (auto& th : threads) th.join();

  std::set<std::uint64_t> log_indexes;
  std::set<std::string> ids;
  for (int t = 0; t < kThreads; ++t) {
    REQUIRE(got[t].size() == kEach);
    for (const auto& c : got[t]) {
      log_indexes.insert(c.log_index);
      ids.insert(c.record.id);
      // Returned only after commit: the record and its entry are readable already.
      auto rec = index.get_evidence(c.record.id);
      REQUIRE(rec);
      CHECK(rec->cases == std::vector<std::string>{"C-" + std::to_string(t)});
      CHECK(index.entries_for_evidence(c.record.id) == std::vector<std::uint64_t>{c.log_index});
    }
    CHECK(index.items_in_case("C-" + std::to_string(t)).size() == kEach);
  }
  CHECK(ids.size() == kThreads * kEach);
  CHECK(log_indexes.size() == kThreads * kEach);
  CHECK(index.evidence_count() == kThreads * kEach);
  CHECK(group.items() == kThreads * kEach);
  CHECK(group.batches() <= group.items());
}

TEST_CASE("a bad item among concurrent commits fails alone", "[group_commit]") {
  test::TempDir dir;
  Layout layout(dir.path());
  LocalBlobStore blobs(layout);
  LmdbIndex index(layout, OpenMode::read_write);
  ingest::GroupCommit group(index);
  auto blob = test::put_blob(blobs, "footage");

  constexpr int kThreads = 12;
  std::atomic<int> ok{0}, refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 4; ++i) {
        // Thread 0 always sends an invalid case number (a control character).
        auto item = test::new_item(blob, {t == 0 ? std::string("bad\ncase") : "C-" + std::to_string(t)});
        try {
          group.commit(std::move(item));
          ++ok;
        } catch (const Error& e) {
          if (e.code() == Errc::invalid_argument) ++refused;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(refused == 4);
  CHECK(ok == (kThreads - 1) * 4);
  CHECK(index.evidence_count() == static_cast<std::uint64_t>((kThreads - 1) * 4));
}
