// Clips: stream copy of a time range into the same container type.
#include <catch2/catch.hpp>

#include "base/error.h"
#include "tests/verify/media_fixtures.h"
#include "verify/media/clip.h"
#include "verify/media/probe.h"
#include "verify/media/thumbnail.h"

using namespace evidence;
using namespace evidence::test;
namespace media = evidence::media;

namespace {

double ffprobe_duration(const fs::path& file) {
  return std::stod(std::string(ffprobe(file).at("format").at("duration").as_string()));
}

}  // namespace

TEST_CASE("a 2..5 s clip of an MP4 lasts about 3 s and keeps the codecs", "[media]") {
  TempDir dir;
  const auto out = dir / "clip";  // no extension: the container comes from the input
  const auto r = media::clip(footage().mp4, 2.0, 5.0, out);
  CHECK(r.format == "mp4");
  CHECK(r.start <= 2.0);
  CHECK(r.start > 0.9);
  const auto theirs = ffprobe(out);
  CHECK(ffprobe_duration(out) == Approx(3.0).margin(1.1));
  CHECK(theirs.at("format").at("format_name") == "mov,mp4,m4a,3gp,3g2,mj2");
  const auto& streams = theirs.at("streams").as_array();
  REQUIRE(streams.size() == 2);
  CHECK(streams[0].at("codec_name") == "h264");
  CHECK(streams[1].at("codec_name") == "aac");
  // Stream copy: the clip's first packets are the source's bytes; thumbnail decodes.
  CHECK(media::thumbnail_jpeg(out).size() > 100);
}

TEST_CASE("clips of MOV, Matroska and MJPEG AVI stay in their container", "[media]") {
  TempDir dir;
  struct Case {
    fs::path in;
    const char* format;
    const char* format_name;
    const char* video;
  };
  for (const auto& c : {Case{footage().mov, "mov", "mov,mp4,m4a,3gp,3g2,mj2", "h264"},
                        Case{footage().mkv, "matroska", "matroska,webm", "h264"},
                        Case{footage().avi, "avi", "avi", "mjpeg"}}) {
    INFO(c.in.filename().string());
    const auto out = dir / ("clip-" + c.in.filename().string());
    const auto r = media::clip(c.in, 2.0, 5.0, out);
    CHECK(r.format == c.format);
    const auto theirs = ffprobe(out);
    CHECK(theirs.at("format").at("format_name") == c.format_name);
    CHECK(ffprobe_duration(out) == Approx(3.0).margin(1.1));
    CHECK(theirs.at("streams").at(0).at("codec_name") == c.video);
    CHECK(theirs.at("streams").as_array().size() == 2);
  }
}

TEST_CASE("a clip keeps the recording's provenance tags", "[media]") {
  TempDir dir;
  media::clip(footage().mov, 1.0, 3.0, dir / "clip.mov");
  const auto info = media::probe(dir / "clip.mov");
  REQUIRE(info.ok);
  CHECK(info.tags.at("make") == "Axon");
  CHECK(info.tags.at("model") == "Body 3");
}

TEST_CASE("a clip of audio only is cut by time", "[media]") {
  TempDir dir;
  const auto r = media::clip(footage().wav, 1.0, 3.0, dir / "clip.wav");
  CHECK(r.format == "wav");
  CHECK(ffprobe_duration(dir / "clip.wav") == Approx(2.0).margin(0.1));
}

TEST_CASE("a bad clip range or input is an Error and leaves no file", "[media]") {
  TempDir dir;
  const auto out = dir / "clip.mp4";
  CHECK_THROWS_AS(media::clip(footage().mp4, 5.0, 2.0, out), Error);
  CHECK_THROWS_AS(media::clip(footage().mp4, -1.0, 2.0, out), Error);
  CHECK_THROWS_AS(media::clip(footage().mp4, 30.0, 40.0, out), Error);
  CHECK_THROWS_AS(media::clip(random_file(dir / "noise", 10000), 0.0, 1.0, out), Error);
  CHECK_FALSE(fs::exists(out));
}
