// A store from before chains (no case_last database) still opens read-only and
// answers newest_entry_for_case from the log; a writable open creates case_last from
// the log, so the first new entry naming an old case chains onto its newest entry.
#include <catch2/catch.hpp>
#include <lmdb.h>

#include "base/error.h"
#include "store/index.h"
#include "store/lmdb/lmdb_index.h"
#include "tests/store/store_fixture.h"
#include "tests/tempdir.h"

using namespace evidence;

namespace {

CustodyEvent case_event(const std::string& case_number) {
  CustodyEvent e;
  e.time = "2026-11-27T00:00:00.000Z";
  e.actor = "reviewer-1";
  e.role = "reviewer";
  e.action = "note";
  e.case_number = case_number;
  return e;
}

// Drops the case_last database, as a store written before chains lacks it.
void drop_case_last(const std::filesystem::path& index_dir) {
  MDB_env* env = nullptr;
  REQUIRE(mdb_env_create(&env) == 0);
  mdb_env_set_maxdbs(env, 32);
  REQUIRE(mdb_env_open(env, index_dir.c_str(), 0, 0640) == 0);
  MDB_txn* txn = nullptr;
  REQUIRE(mdb_txn_begin(env, nullptr, 0, &txn) == 0);
  MDB_dbi dbi{};
  REQUIRE(mdb_dbi_open(txn, "case_last", 0, &dbi) == 0);
  REQUIRE(mdb_drop(txn, dbi, 1) == 0);
  REQUIRE(mdb_txn_commit(txn) == 0);
  mdb_env_close(env);
}

}  // namespace

TEST_CASE("chains: an index without case_last opens, and a writable open fills it from the log", "[index][chains]") {
  test::TempDir dir;
  Layout layout(dir.path());
  {
    LmdbIndex index(layout, OpenMode::read_write);
    index.append_event(case_event("OLD-1"));  // 0
    index.append_event(case_event("OLD-2"));  // 1
    index.append_event(case_event("OLD-1"));  // 2
  }
  drop_case_last(layout.index_dir());
  {
    LmdbIndex index(layout, OpenMode::read_only);
    CHECK(index.newest_entry_for_case("OLD-1") == 2u);
    CHECK(index.newest_entry_for_case("OLD-2") == 1u);
    CHECK_FALSE(index.newest_entry_for_case("NONE"));
  }
  LmdbIndex index(layout, OpenMode::read_write);
  CHECK(index.newest_entry_for_case("OLD-1") == 2u);
  const auto i = index.append_event(case_event("OLD-2"));
  CHECK(CustodyEvent::decode(index.log_entry(i)->leaf).case_prev == 1u);
  CHECK(index.newest_entry_for_case("OLD-2") == i);
}

TEST_CASE("chains: entries without prev or case_prev encode as before and decode", "[index][chains]") {
  const std::string old_leaf =
      R"({"time":"2026-11-27T00:00:00.000Z","actor":"a","role":"reviewer","action":"view","evidence":"E"})";
  const auto e = CustodyEvent::decode(old_leaf);
  CHECK_FALSE(e.prev);
  CHECK_FALSE(e.case_prev);
  CHECK(e.encode() == old_leaf);
  auto chained = e;
  chained.prev = 7;
  chained.case_prev = 3;
  const auto leaf = chained.encode();
  CHECK(leaf.find(R"("prev":7,"case_prev":3)") != std::string::npos);
  const auto back = CustodyEvent::decode(leaf);
  CHECK(back.prev == 7u);
  CHECK(back.case_prev == 3u);
  CHECK_THROWS_AS(CustodyEvent::decode(R"({"time":"t","actor":"a","role":"r","action":"v","prev":-1})"), Error);
}
