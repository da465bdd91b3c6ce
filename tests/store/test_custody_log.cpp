#include <catch2/catch.hpp>

#include <map>

#include "store/index.h"
#include "store/lmdb/lmdb_index.h"
#include "store/merkle.h"
#include "tests/tempdir.h"

using namespace evidence;

namespace {

// RFC 6962's MTH computed directly from the leaves, with no stored state.
merkle::Hash naive_root(const std::vector<std::string>& leaves, std::size_t begin, std::size_t end) {
  if (end - begin == 1) return merkle::leaf_hash(as_bytes(leaves[begin]));
  std::size_t k = 1;
  while (k * 2 < end - begin) k *= 2;
  return merkle::node_hash(naive_root(leaves, begin, begin + k), naive_root(leaves, begin + k, end));
}

CustodyEvent event(int i) {
  return CustodyEvent{"2026-11-27T00:00:00.000Z", "actor" + std::to_string(i), "auditor", "verify", {}, {}, {}, {}, {}, {}};
}

}  // namespace

TEST_CASE("the stored tree's root equals the root recomputed from the leaves at every size", "[log]") {
  test::TempDir dir;
  Layout layout(dir.path());
  LmdbIndex index(layout, OpenMode::read_write);
  CHECK(index.log_root(0) == merkle::empty_root());
  std::vector<std::string> leaves;
  for (int i = 0; i < 70; ++i) {
    auto at = index.append_event(event(i));
    CHECK(at == static_cast<std::uint64_t>(i));
    leaves.push_back(index.log_entry(at)->leaf);
  }
  for (std::size_t n = 1; n <= leaves.size(); ++n) CHECK(index.log_root(n) == naive_root(leaves, 0, n));
  CHECK_THROWS(index.log_root(71));
  auto entries = index.log_entries(10, 15);
  REQUIRE(entries.size() == 5);
  CHECK(entries[0].index == 10);
  CHECK(entries[4].leaf == leaves[14]);
}

TEST_CASE("appending continues correctly after reopening the index", "[log]") {
  test::TempDir dir;
  Layout layout(dir.path());
  std::vector<std::string> leaves;
  for (int round = 0; round < 5; ++round) {
    LmdbIndex index(layout, OpenMode::read_write);
    for (int i = 0; i < 7; ++i) leaves.push_back(index.log_entry(index.append_event(event(round * 7 + i)))->leaf);
    CHECK(index.log_root(leaves.size()) == naive_root(leaves, 0, leaves.size()));
  }
}

TEST_CASE("a batch of events is appended in one transaction", "[log]") {
  test::TempDir dir;
  LmdbIndex index(Layout(dir.path()), OpenMode::read_write);
  std::vector<CustodyEvent> batch;
  for (int i = 0; i < 5; ++i) batch.push_back(event(i));
  auto at = index.append_events(batch);
  CHECK(at == std::vector<std::uint64_t>{0, 1, 2, 3, 4});
  CHECK(index.log_size() == 5);
}

TEST_CASE("the frontier gives the same root as the full tree", "[log]") {
  std::vector<merkle::Hash> leaf_hashes;
  std::vector<std::string> leaves;
  merkle::Frontier f;
  std::map<std::pair<unsigned, std::uint64_t>, merkle::Hash> stored;
  for (int i = 0; i < 40; ++i) {
    leaves.push_back("leaf " + std::to_string(i));
    f.append(merkle::leaf_hash(as_bytes(leaves.back())),
             [&](unsigned level, std::uint64_t idx, const merkle::Hash& h) { stored[{level, idx}] = h; });
    CHECK(f.root() == naive_root(leaves, 0, leaves.size()));
    auto src = [&](unsigned level, std::uint64_t idx) { return stored.at({level, idx}); };
    CHECK(merkle::Frontier::load(src, leaves.size()).root() == f.root());
  }
}

TEST_CASE("checkpoints are kept by size and the latest is found", "[log]") {
  test::TempDir dir;
  LmdbIndex index(Layout(dir.path()), OpenMode::read_write);
  CHECK_FALSE(index.latest_checkpoint());
  index.put_checkpoint({3, "note three\n", {1, 2, 3}});
  index.put_checkpoint({10, "note ten\n", {}});
  index.put_checkpoint({7, "note seven\n", {}});
  REQUIRE(index.latest_checkpoint());
  CHECK(index.latest_checkpoint()->size == 10);
  CHECK(index.checkpoint_at(3)->root_timestamp == Bytes{1, 2, 3});
  auto all = index.checkpoints();
  REQUIRE(all.size() == 3);
  CHECK(all[1].size == 7);
}
