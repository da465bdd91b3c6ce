// Poster frames: a JPEG from any footage with video; files without video refused.
#include <catch2/catch.hpp>

#include "base/error.h"
#include "tests/verify/media_fixtures.h"
#include "verify/media/probe.h"
#include "verify/media/thumbnail.h"

using namespace evidence;
using namespace evidence::test;
namespace media = evidence::media;

TEST_CASE("a thumbnail is a JPEG of the footage, at most max_width wide", "[media]") {
  TempDir dir;
  for (const auto& file : {footage().mp4, footage().avi, footage().mkv, footage().mov, footage().jpg}) {
    INFO(file.filename().string());
    const Bytes jpeg = media::thumbnail_jpeg(file, 160);
    REQUIRE(jpeg.size() > 100);
    CHECK(jpeg[0] == 0xFF);
    CHECK(jpeg[1] == 0xD8);
    write_all(dir / "thumb.jpg", jpeg);
    const auto info = media::probe(dir / "thumb.jpg");
    REQUIRE(info.ok);
    REQUIRE(info.streams.size() == 1);
    CHECK(info.streams[0].codec == "mjpeg");
    CHECK(info.streams[0].width == 160);
    CHECK(info.streams[0].height == 120);
  }
}

TEST_CASE("a thumbnail is never upscaled", "[media]") {
  TempDir dir;
  write_all(dir / "thumb.jpg", media::thumbnail_jpeg(footage().apple_mov, 320));
  const auto info = media::probe(dir / "thumb.jpg");
  REQUIRE(info.ok);
  CHECK(info.streams[0].width == 160);
}

TEST_CASE("a file without video has no thumbnail", "[media]") {
  TempDir dir;
  for (const auto& file : {footage().wav, random_file(dir / "noise", 50000)}) {
    INFO(file.filename().string());
    try {
      media::thumbnail_jpeg(file);
      FAIL("no exception");
    } catch (const Error& e) {
      CHECK(e.code() == Errc::invalid_argument);
    }
  }
}
