// Segment hashes: byte ranges aligned to keyframes, so damage is pinned to seconds.
#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "base/codec.h"
#include "base/error.h"
#include "tests/verify/media_fixtures.h"
#include "verify/media/segments.h"

using namespace evidence;
using namespace evidence::test;
namespace media = evidence::media;

namespace {

void check_covers(const std::vector<media::Segment>& segs, std::uint64_t size) {
  std::uint64_t next = 0;
  for (const auto& s : segs) {
    CHECK(s.offset == next);
    CHECK(s.length > 0);
    next = s.offset + s.length;
  }
  CHECK(next == size);
}

}  // namespace

TEST_CASE("video segments cover the whole file, one per second-long group of pictures", "[media]") {
  for (const auto& file : {footage().mp4, footage().mkv, footage().mov}) {
    INFO(file.filename().string());
    const auto segs = media::segment_hashes(file);
    check_covers(segs, fs::file_size(file));
    // 10 keyframes (one per second), plus at most a header and a trailer range.
    std::size_t timed = 0;
    for (const auto& s : segs) {
      CHECK(s.start >= 0);
      CHECK(s.end >= s.start);
      CHECK(s.end <= 10.1);
      if (s.end - s.start < 1.5) ++timed;
    }
    CHECK(timed == 10);
    CHECK(segs.size() <= 12);
    // Hashes are of the bytes.
    const auto data = read_all(file);
    const auto& mid = segs[segs.size() / 2];
    CHECK(mid.sha256 == Sha256::of(std::span<const std::uint8_t>(data).subspan(mid.offset, mid.length)));
  }
}

TEST_CASE("an MJPEG AVI gets a segment per frame, every frame being a keyframe", "[media]") {
  const auto segs = media::segment_hashes(footage().avi);
  check_covers(segs, fs::file_size(footage().avi));
  CHECK(segs.size() >= 250);
  CHECK(segs.size() <= 252);
}

TEST_CASE("audio, images and non-media fall back to fixed 4 MiB ranges without times", "[media]") {
  TempDir dir;
  for (const auto& file : {footage().wav, footage().jpg, random_file(dir / "noise", 9u << 20)}) {
    INFO(file.filename().string());
    const auto segs = media::segment_hashes(file);
    check_covers(segs, fs::file_size(file));
    for (const auto& s : segs) {
      CHECK(s.start == -1);
      CHECK(s.end == -1);
      CHECK(s.length <= media::kFixedSegmentBytes);
    }
  }
  CHECK(media::segment_hashes(dir / "noise").size() == 3);
  write_all(dir / "empty", {});
  CHECK(media::segment_hashes(dir / "empty").empty());
}

TEST_CASE("an unchanged file has no damaged segments", "[media]") {
  for (const auto& file : footage().all()) {
    INFO(file.filename().string());
    CHECK(media::damaged_segments(file, media::segment_hashes(file)).empty());
  }
}

TEST_CASE("a one-byte change in the middle of a 10 s video damages one segment of a few seconds", "[media]") {
  TempDir dir;
  for (const auto& src : {footage().mp4, footage().mkv, footage().mov}) {
    INFO(src.filename().string());
    const auto recorded = media::segment_hashes(src);
    auto data = read_all(src);
    data[data.size() / 2] ^= 0x01;
    const auto copy = dir / src.filename();
    write_all(copy, data);
    const auto damaged = media::damaged_segments(copy, recorded);
    REQUIRE(damaged.size() == 1);
    const auto& d = damaged[0];
    CHECK(d.offset <= data.size() / 2);
    CHECK(d.offset + d.length > data.size() / 2);
    CHECK(d.start >= 0);
    CHECK(d.end - d.start > 0);
    CHECK(d.end - d.start < 3.0);
    CHECK(d.start > 2.0);  // the middle of the file is the middle of the recording
    CHECK(d.end < 8.0);
  }
}

TEST_CASE("truncation damages the segments past the cut, appended bytes are reported", "[media]") {
  TempDir dir;
  const auto recorded = media::segment_hashes(footage().mp4);
  const auto size = fs::file_size(footage().mp4);
  SECTION("truncated") {
    const auto cut = truncated_copy(footage().mp4, dir / "half.mp4");
    const auto damaged = media::damaged_segments(cut, recorded);
    REQUIRE_FALSE(damaged.empty());
    CHECK(damaged.size() < recorded.size());
    for (const auto& d : damaged) CHECK(d.offset + d.length > size / 2);
    CHECK(damaged.back() == recorded.back());
  }
  SECTION("appended") {
    auto data = read_all(footage().mp4);
    data.push_back(0x42);
    write_all(dir / "longer.mp4", data);
    const auto damaged = media::damaged_segments(dir / "longer.mp4", recorded);
    REQUIRE(damaged.size() == 1);
    CHECK(damaged[0].offset == size);
    CHECK(damaged[0].length == 1);
    CHECK(damaged[0].start == -1);
  }
}

TEST_CASE("segment lists round-trip through JSON, malformed lists are refused", "[media]") {
  const auto segs = media::segment_hashes(footage().mp4);
  const auto j = media::to_json(segs);
  CHECK(j.at(0).at("offset") == 0);
  CHECK(j.at(0).at("sha256").as_string().size() == 64);
  CHECK(media::segments_from_json(boost::json::parse(boost::json::serialize(j))) == segs);

  const auto wav = media::segment_hashes(footage().wav);
  CHECK(media::to_json(wav).at(0).at("start").is_null());
  CHECK(media::segments_from_json(media::to_json(wav)) == wav);

  auto gap = j;
  gap.erase(gap.begin() + 1);
  CHECK_THROWS_AS(media::segments_from_json(gap), Error);
  auto bad_hex = j;
  bad_hex.at(0).as_object()["sha256"] = "zz";
  CHECK_THROWS_AS(media::segments_from_json(bad_hex), Error);
  CHECK_THROWS_AS(media::segments_from_json(boost::json::object{}), Error);
}

TEST_CASE("the segments' Merkle root is RFC 6962's over their hashes", "[media]") {
  const auto segs = media::segment_hashes(footage().mp4);
  REQUIRE(segs.size() >= 3);
  // Three leaves by hand: root = node(node(l0, l1), l2).
  std::vector<media::Segment> three(segs.begin(), segs.begin() + 3);
  const auto l = [&](int i) { return merkle::leaf_hash(three[i].sha256.bytes); };
  CHECK(media::segments_root(three) == merkle::node_hash(merkle::node_hash(l(0), l(1)), l(2)));
  CHECK(media::segments_root({}) == merkle::empty_root());
  auto changed = segs;
  changed[1].sha256.bytes[0] ^= 1;
  CHECK(media::segments_root(changed) != media::segments_root(segs));
}
