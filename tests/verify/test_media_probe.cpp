// probe(): what we read agrees with ffprobe; tags are found under their usual
// names; anything that is not media is answered, never thrown or crashed on.
#include <catch2/catch.hpp>

#include <boost/json/serialize.hpp>
#include <cmath>
#include <string>

#include "base/error.h"
#include "tests/verify/media_fixtures.h"
#include "verify/media/limits.h"
#include "verify/media/probe.h"

using namespace evidence;
using namespace evidence::test;
namespace media = evidence::media;

namespace {

double number(const boost::json::value& v) {
  if (v.is_string()) return std::stod(std::string(v.get_string()));
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  return v.as_double();
}

// Compares our probe of `file` with ffprobe's, field by field.
void check_against_ffprobe(const fs::path& file) {
  INFO(file.filename().string());
  const media::MediaInfo info = media::probe(file);
  REQUIRE(info.ok);
  const auto theirs = ffprobe(file);
  const auto& format = theirs.at("format").as_object();
  // ffprobe picks the image2 demuxer for a .jpg by its name; we never look at names
  // (blobs have none) and get jpeg_pipe, which has no duration.
  const bool still = format.at("format_name") == "image2";
  if (!still) CHECK(info.container == std::string(format.at("format_name").as_string()));
  if (format.contains("duration") && !still) {
    REQUIRE(info.duration.has_value());
    CHECK(*info.duration == Approx(number(format.at("duration"))).margin(0.001));
  }
  if (format.contains("bit_rate") && !still) {
    REQUIRE(info.bit_rate.has_value());
    CHECK(static_cast<double>(*info.bit_rate) == Approx(number(format.at("bit_rate"))).epsilon(0.001));
  }
  const auto& streams = theirs.at("streams").as_array();
  REQUIRE(info.streams.size() == streams.size());
  for (std::size_t i = 0; i < streams.size(); ++i) {
    const auto& s = streams[i].as_object();
    const auto& ours = info.streams[i];
    INFO("stream " << i);
    CHECK(ours.type == std::string(s.at("codec_type").as_string()));
    CHECK(ours.codec == std::string(s.at("codec_name").as_string()));
    if (s.contains("profile") && ours.type != "audio") {
      REQUIRE(ours.profile.has_value());
      CHECK(*ours.profile == std::string(s.at("profile").as_string()));
    }
    if (ours.type == "video") {
      CHECK(ours.width == static_cast<int>(s.at("width").as_int64()));
      CHECK(ours.height == static_cast<int>(s.at("height").as_int64()));
      REQUIRE(ours.frame_rate.has_value());
      CHECK(*ours.frame_rate > 0);
    }
    if (ours.type == "audio") {
      CHECK(ours.sample_rate == static_cast<int>(number(s.at("sample_rate"))));
      CHECK(ours.channels == static_cast<int>(s.at("channels").as_int64()));
      if (s.contains("profile")) CHECK(ours.profile == std::string(s.at("profile").as_string()));
    }
  }
}

}  // namespace

TEST_CASE("probe agrees with ffprobe on MP4, MJPEG AVI, Matroska, MOV, WAV and JPEG", "[media]") {
  for (const auto& file : footage().all()) check_against_ffprobe(file);
}

TEST_CASE("probe reads the streams of an H.264/AAC MP4", "[media]") {
  const auto info = media::probe(footage().mp4);
  REQUIRE(info.ok);
  CHECK(info.container == "mov,mp4,m4a,3gp,3g2,mj2");
  REQUIRE(info.duration.has_value());
  CHECK(*info.duration == Approx(10.0).margin(0.1));
  REQUIRE(info.streams.size() == 2);
  CHECK(info.streams[0].type == "video");
  CHECK(info.streams[0].codec == "h264");
  CHECK(info.streams[0].width == 320);
  CHECK(info.streams[0].height == 240);
  CHECK(info.streams[0].frame_rate == Approx(25.0));
  CHECK_FALSE(info.streams[0].sample_rate.has_value());
  CHECK(info.streams[1].type == "audio");
  CHECK(info.streams[1].codec == "aac");
  CHECK(info.streams[1].profile == std::string("LC"));
  CHECK(info.streams[1].sample_rate == 48000);
  CHECK(info.streams[1].channels == 1);
  CHECK_FALSE(info.streams[1].width.has_value());
}

TEST_CASE("probe finds creation_time, make, model, serial and location in a MOV", "[media]") {
  const auto info = media::probe(footage().mov);
  REQUIRE(info.ok);
  CHECK(info.tags.at("creation_time").rfind("2026-03-01T12:34:56", 0) == 0);
  CHECK(info.tags.at("make") == "Axon");
  CHECK(info.tags.at("model") == "Body 3");
  CHECK(info.tags.at("serial") == "X81234");
  CHECK(info.tags.at("location") == "+48.8577+002.2950/");
  CHECK(info.tags.at("major_brand").rfind("qt", 0) == 0);  // other tags are kept as found
}

TEST_CASE("probe maps Apple's com.apple.quicktime keys to make, model, location", "[media]") {
  const auto info = media::probe(footage().apple_mov);
  REQUIRE(info.ok);
  CHECK(info.tags.at("make") == "Apple");
  CHECK(info.tags.at("model") == "iPhone 15");
  CHECK(info.tags.at("location") == "+40.7484-073.9857+010.000/");
  CHECK(info.tags.at("creation_time") == "2026-03-02T08:00:00+0100");
  CHECK(info.tags.at("com.apple.quicktime.make") == "Apple");
}

TEST_CASE("media JSON has DESIGN.md's shape, every key on every stream", "[media]") {
  const auto j = media::to_json(media::probe(footage().mp4));
  for (const char* key : {"container", "duration", "bit_rate", "streams", "tags"}) CHECK(j.contains(key));
  CHECK(j.at("duration").is_double());
  CHECK(j.at("bit_rate").is_int64());
  const auto& streams = j.at("streams").as_array();
  REQUIRE(streams.size() == 2);
  for (const auto& s : streams) {
    for (const char* key : {"type", "codec", "profile", "width", "height", "frame_rate", "sample_rate", "channels"})
      CHECK(s.as_object().contains(key));
  }
  CHECK(streams[0].at("codec") == "h264");
  CHECK(streams[0].at("width") == 320);
  CHECK(streams[0].at("sample_rate").is_null());
  CHECK(streams[1].at("width").is_null());
  CHECK(streams[1].at("sample_rate") == 48000);
}

TEST_CASE("media JSON round-trips through media_info_from_json", "[media]") {
  for (const auto& file : {footage().mov, footage().wav}) {
    const auto j = media::to_json(media::probe(file));
    const auto back = media::to_json(media::media_info_from_json(j));
    CHECK(boost::json::serialize(back) == boost::json::serialize(j));
  }
  CHECK_THROWS_AS(media::media_info_from_json(boost::json::parse(R"({"container":"x"})")), Error);
  CHECK_THROWS_AS(media::media_info_from_json(boost::json::parse("[1]")), Error);
}

TEST_CASE("a file that is not media is answered with a reason, not an exception", "[media]") {
  TempDir dir;
  SECTION("random bytes") {
    const auto info = media::probe(random_file(dir / "noise", 200000));
    CHECK_FALSE(info.ok);
    CHECK(info.reason.rfind("not a media file", 0) == 0);
    CHECK(media::to_json(info) == boost::json::object{{"error", info.reason}});
  }
  SECTION("empty file") {
    write_all(dir / "empty", {});
    const auto info = media::probe(dir / "empty");
    CHECK_FALSE(info.ok);
    CHECK(info.reason.rfind("not a media file", 0) == 0);
  }
  SECTION("text") {
    const std::string text = "Incident report: officer arrived at 21:04, nothing to see here.\n";
    write_all(dir / "report.txt", std::vector<std::uint8_t>(text.begin(), text.end()));
    CHECK_FALSE(media::probe(dir / "report.txt").ok);
  }
}

TEST_CASE("probe reports a missing file as an Error, not as non-media", "[media]") {
  TempDir dir;
  try {
    media::probe(dir / "absent.mp4");
    FAIL("no exception");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::not_found);
  }
}

TEST_CASE("a playlist cannot make probe open other files", "[media]") {
  TempDir dir;
  const std::string target = footage().mp4.string();
  SECTION("ffconcat") {
    const std::string text = "ffconcat version 1.0\nfile '" + target + "'\n";
    write_all(dir / "list", std::vector<std::uint8_t>(text.begin(), text.end()));
    const auto info = media::probe(dir / "list");
    CHECK_FALSE(info.ok);
  }
  SECTION("HLS") {
    const std::string text = "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile://" + target +
                             "\n#EXT-X-ENDLIST\n";
    write_all(dir / "list", std::vector<std::uint8_t>(text.begin(), text.end()));
    const auto info = media::probe(dir / "list");
    CHECK_FALSE(info.ok);
  }
}

TEST_CASE("probe stops at its read limit", "[media]") {
  const auto info = media::probe(footage().mkv, media::ProbeLimits{10.0, 100});
  CHECK_FALSE(info.ok);
  CHECK(info.reason == "probe read limit exceeded");
  CHECK(media::probe(footage().mkv).ok);
}
