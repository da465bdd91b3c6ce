// A store from before the lifecycle (no retention, item_category, disposed or
// dispositions databases) opens read-only with the default categories and nothing
// disposed; a writable open creates the databases with the defaults. Records written
// before keep their bytes, so their record_hash still holds.
#include <catch2/catch.hpp>
#include <lmdb.h>

#include "base/error.h"
#include "store/index.h"
#include "store/lmdb/lmdb_index.h"
#include "tests/store/store_fixture.h"
#include "tests/tempdir.h"

using namespace evidence;

namespace {

void drop_lifecycle(const std::filesystem::path& index_dir) {
  MDB_env* env = nullptr;
  REQUIRE(mdb_env_create(&env) == 0);
  mdb_env_set_maxdbs(env, 32);
  REQUIRE(mdb_env_open(env, index_dir.c_str(), 0, 0640) == 0);
  MDB_txn* txn = nullptr;
  REQUIRE(mdb_txn_begin(env, nullptr, 0, &txn) == 0);
  for (const char* name : {"retention", "item_category", "disposed", "dispositions"}) {
    MDB_dbi dbi{};
    REQUIRE(mdb_dbi_open(txn, name, 0, &dbi) == 0);
    REQUIRE(mdb_drop(txn, dbi, 1) == 0);
  }
  REQUIRE(mdb_txn_commit(txn) == 0);
  mdb_env_close(env);
}

}  // namespace

TEST_CASE("lifecycle: an older index opens read-only with the defaults and gets them on a writable open",
          "[index][lifecycle]") {
  test::DataDir d;
  LocalBlobStore blobs(d.layout);
  std::string id, record_hash;
  {
    LmdbIndex index(d.layout, OpenMode::read_write);
    auto c = index.commit_evidence(test::new_item(test::put_blob(blobs, "old item")));
    id = c.record.id;
    record_hash = c.record_hash;
  }
  drop_lifecycle(d.layout.index_dir());
  {
    LmdbIndex index(d.layout, OpenMode::read_only);
    CHECK(index.retention_categories() == [] {
      auto all = default_retention_categories();
      std::sort(all.begin(), all.end(), [](auto& a, auto& b) { return a.name < b.name; });
      return all;
    }());
    CHECK(index.retention_category("routine") == RetentionCategory{"routine", 180});
    CHECK(index.item_category(id) == std::optional<std::string>("routine"));
    CHECK_FALSE(index.disposed(id));
    CHECK(index.disposed_items().empty());
    CHECK(index.dispositions(10).items.empty());
    CHECK(index.content_live(Sha256::of(std::string("old item"))));
    CHECK(index.due("2099-01-01T00:00:00Z", 10).items.size() == 1);
  }
  LmdbIndex index(d.layout, OpenMode::read_write);
  CHECK(index.retention_categories().size() == 5);
  CHECK(index.retention_category("major_incident")->permanent());
  CHECK(Sha256::of(*index.evidence_bytes(id)).hex() == record_hash);
  index.write([&](WriteTxn& t) { t.set_item_category(id, "evidence"); });
  CHECK(index.item_category(id) == std::optional<std::string>("evidence"));
}

TEST_CASE("lifecycle: a record without category or late keeps the bytes older stores wrote", "[records][lifecycle]") {
  EvidenceRecord r;
  r.id = new_evidence_id();
  r.sha256 = Sha256::of(std::string("x"));
  r.size = 1;
  r.officer = "o";
  r.device = "d";
  r.recorded_at = "2026-11-27T00:00:00Z";
  r.received_at = "2026-11-27T00:00:01.000Z";
  const auto plain = r.encode();
  const std::string text(plain.begin() + 1, plain.end());
  CHECK(text.find("category") == std::string::npos);
  CHECK(text.find("late") == std::string::npos);
  CHECK(text.substr(text.size() - 18) == "\"blob_version\":\"\"}");  // as 0.3 ended a record

  r.category = "obstruction";
  r.late = true;
  const auto tagged = r.encode();
  const std::string t2(tagged.begin() + 1, tagged.end());
  CHECK(t2.find("\"category\":\"obstruction\",\"late\":true") != std::string::npos);
  auto back = EvidenceRecord::decode(tagged);
  CHECK(back.category == "obstruction");
  CHECK(back.late);
  CHECK(back.encode() == tagged);
  auto old = EvidenceRecord::decode(plain);
  CHECK(old.category.empty());
  CHECK_FALSE(old.late);
  CHECK(old.encode() == plain);
}

TEST_CASE("lifecycle: retention values encode, decode and compute retain_until", "[records][lifecycle]") {
  for (const auto& c : default_retention_categories()) CHECK(RetentionCategory::decode(c.encode()) == c);
  CHECK(retain_until("2026-01-01T00:00:00Z", {"routine", 180}) == std::optional<std::string>("2026-06-30T00:00:00.000Z"));
  CHECK(retain_until("2026-01-01T08:00:00+08:00", {"short", 1}) == std::optional<std::string>("2026-01-02T00:00:00.000Z"));
  CHECK_FALSE(retain_until("2026-01-01T00:00:00Z", {"evidence", std::nullopt}));
  CHECK_THROWS_AS(retain_until("soon", {"routine", 180}), Error);
  CHECK(retention_name_problem("major_incident").empty());
  CHECK_FALSE(retention_name_problem("Major").empty());
  CHECK_FALSE(retention_name_problem(std::string(65, 'a')).empty());
  CHECK_THROWS_AS(RetentionCategory::decode(Bytes{0x01, '{', '}'}), Error);

  Disposed t{"2026-11-30T12:00:00.000Z", new_disposition_id(), "ada", "bob", "原因"};
  CHECK(Disposed::decode(t.encode()) == t);
  Disposition d;
  d.id = new_disposition_id();
  d.items = {new_evidence_id(), new_evidence_id()};
  d.reason = "retention ended";
  d.requested_by = "ada";
  d.requested_at = "2026-11-30T11:00:00.000Z";
  CHECK(Disposition::decode(d.encode()) == d);
  d.state = DispositionState::done;
  d.decided_by = "bob";
  d.decided_at = "2026-11-30T12:00:00.000Z";
  CHECK(Disposition::decode(d.encode()) == d);
  auto bytes = d.encode();
  bytes[0] = 0x09;
  CHECK_THROWS_AS(Disposition::decode(bytes), Error);
}
