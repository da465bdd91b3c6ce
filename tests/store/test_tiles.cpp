// C2SP tlog-tiles over the custody log: paths, and tiles from which an independent
// RFC 6962 computation gets the log's root back.
#include <catch2/catch.hpp>

#include "store/lmdb/lmdb_index.h"
#include "store/merkle.h"
#include "store/tiles.h"
#include "tests/tempdir.h"

using namespace evidence;

namespace {

// MTH over leaf hashes, written out here (not store/merkle's range_hash).
merkle::Hash mth(const std::vector<merkle::Hash>& h, std::size_t begin, std::size_t end) {
  if (end - begin == 1) return h[begin];
  std::size_t k = 1;
  while (k * 2 < end - begin) k *= 2;
  return merkle::node_hash(mth(h, begin, begin + k), mth(h, begin + k, end));
}

std::vector<merkle::Hash> hashes_of(const Bytes& tile) {
  REQUIRE(tile.size() % 32 == 0);
  std::vector<merkle::Hash> out(tile.size() / 32);
  for (std::size_t i = 0; i < out.size(); ++i) std::copy_n(tile.begin() + static_cast<std::ptrdiff_t>(32 * i), 32, out[i].begin());
  return out;
}

tiles::TileRef ref(std::string_view path) {
  auto r = tiles::parse_path(path);
  REQUIRE(r);
  return *r;
}

}  // namespace

TEST_CASE("tile paths parse and print as C2SP tlog-tiles spells them", "[tiles]") {
  auto r = ref("0/x001/x234/067");
  CHECK_FALSE(r.entries);
  CHECK(r.level == 0);
  CHECK(r.index == 1234067);
  CHECK(r.width == 256);
  CHECK(r.path() == "0/x001/x234/067");
  auto p = ref("2/005.p/17");
  CHECK(p.level == 2);
  CHECK(p.index == 5);
  CHECK(p.width == 17);
  CHECK(p.path() == "2/005.p/17");
  auto e = ref("entries/x001/000.p/255");
  CHECK(e.entries);
  CHECK(e.index == 1000);
  CHECK(e.path() == "entries/x001/000.p/255");
  CHECK(ref("63/000").level == 63);
  for (const char* bad : {"", "0", "0/", "64/000", "01/000", "0/5", "0/0005", "0/x5/000", "0/001/000", "0/000.p/0",
                          "0/000.p/256", "0/000.p/07", "0/000.p/", "0/000.p/1/2", "x/000", "entries/00a", "0/x001",
                          "0/000.p/3.p/4", "0/-01", "0/x999/x999/x999/x999/x999/x999/x999/999"}) {
    INFO(bad);
    CHECK_FALSE(tiles::parse_path(bad));
  }
}

TEST_CASE("hash tiles and entry bundles rebuild the log's root independently", "[tiles]") {
  test::TempDir dir;
  Layout layout(dir.path());
  LmdbIndex index(layout, OpenMode::read_write);
  std::vector<CustodyEvent> batch;
  for (int i = 0; i < 600; ++i) {
    CustodyEvent ev;
    ev.time = "2026-12-01T00:00:00.000Z";
    ev.actor = "a" + std::to_string(i);
    ev.role = "auditor";
    ev.action = "verify";
    batch.push_back(ev);
  }
  index.append_events(batch);
  const std::uint64_t size = index.log_size();
  REQUIRE(size == 600);

  // Level 0: two full tiles and the partial one of width 600 mod 256 = 88.
  std::vector<merkle::Hash> leaves;
  for (const char* path : {"0/000", "0/001", "0/002.p/88"}) {
    auto t = tiles::read_tile(index, ref(path), size);
    REQUIRE(t);
    for (const auto& h : hashes_of(*t)) leaves.push_back(h);
  }
  REQUIRE(leaves.size() == 600);
  CHECK(mth(leaves, 0, leaves.size()) == index.log_root(size));
  // Level 1: the partial tile of width 2 holds the roots of the two full level-0 tiles.
  auto l1 = tiles::read_tile(index, ref("1/000.p/2"), size);
  REQUIRE(l1);
  const auto up = hashes_of(*l1);
  REQUIRE(up.size() == 2);
  CHECK(up[0] == mth(leaves, 0, 256));
  CHECK(up[1] == mth(leaves, 256, 512));
  // Entry bundles: uint16 length-prefixed leaves that hash to the level-0 tile.
  auto bundle = tiles::read_tile(index, ref("entries/001"), size);
  REQUIRE(bundle);
  std::size_t at = 0, n = 0;
  while (at < bundle->size()) {
    REQUIRE(at + 2 <= bundle->size());
    const std::size_t len = (std::size_t{(*bundle)[at]} << 8) | (*bundle)[at + 1];
    REQUIRE(at + 2 + len <= bundle->size());
    CHECK(merkle::leaf_hash(std::span(bundle->data() + at + 2, len)) == leaves[256 + n]);
    at += 2 + len;
    ++n;
  }
  CHECK(n == 256);
  // A partial tile is a prefix of its full tile, and stays served after it.
  auto part = tiles::read_tile(index, ref("0/000.p/10"), size);
  REQUIRE(part);
  CHECK(hashes_of(*part) == std::vector<merkle::Hash>(leaves.begin(), leaves.begin() + 10));

  // Not yet in the log: the full tile 2, a partial wider than 88, level 2.
  CHECK_FALSE(tiles::read_tile(index, ref("0/002"), size));
  CHECK_FALSE(tiles::read_tile(index, ref("0/002.p/89"), size));
  CHECK_FALSE(tiles::read_tile(index, ref("1/000"), size));
  CHECK_FALSE(tiles::read_tile(index, ref("2/000.p/1"), size));
  CHECK_FALSE(tiles::read_tile(index, ref("entries/003"), size));
  CHECK_FALSE(tiles::read_tile(index, ref("9/x001/000"), size));
}
