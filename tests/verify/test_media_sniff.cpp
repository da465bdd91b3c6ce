// media::looks_like_media decides whether the daemon spends a worker process on a
// file. It must never turn away real footage (every format ffmpeg writes for the
// recorders we know passes, and so does everything libav itself can open from these
// fixtures), and it should turn away what is plainly not media.
#include <catch2/catch.hpp>

#include <random>

#include "tests/verify/media_fixtures.h"
#include "verify/media/probe.h"
#include "verify/media/sniff.h"

using namespace evidence;
using namespace evidence::test;
namespace media = evidence::media;

namespace {

bool sniff_file(const fs::path& file) {
  auto bytes = read_all(file);
  bytes.resize(std::min(bytes.size(), media::kSniffBytes));
  return media::looks_like_media(bytes);
}

bool sniff(std::string_view text) {
  return media::looks_like_media(
      std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

}  // namespace

TEST_CASE("media sniffing passes every fixture container", "[media][sniff]") {
  for (const auto& f : footage().all()) {
    INFO(f.filename().string());
    CHECK(sniff_file(f));
    CHECK(media::probe(f).ok);  // and libav agrees they are media
  }
}

TEST_CASE("media sniffing passes other formats recorders and phones write", "[media][sniff]") {
  TempDir dir;
  const std::string video = "-f lavfi -i testsrc=size=160x120:rate=25:duration=1 ";
  const std::string audio = "-f lavfi -i sine=frequency=440:sample_rate=48000:duration=1 ";
  const std::vector<std::pair<std::string, std::string>> made = {
      {"clip.ts", video + "-c:v libx264 -preset ultrafast -f mpegts"},
      {"clip.mpg", video + "-c:v mpeg2video -f mpeg"},
      {"clip.h264", video + "-c:v libx264 -preset ultrafast -f h264"},
      {"clip.flv", video + "-c:v flv -f flv"},
      {"clip.webm", video + "-c:v libvpx -f webm"},
      {"clip.3gp", video + "-c:v mpeg4 -s 176x144 -f 3gp"},
      {"audio.mp3", audio + "-c:a libmp3lame -write_xing 0 -id3v2_version 0 -f mp3"},
      {"audio.aac", audio + "-c:a aac -f adts"},
      {"audio.ogg", audio + "-c:a libvorbis -f ogg"},
      {"audio.flac", audio + "-c:a flac -f flac"},
      {"still.png", video + "-frames:v 1 -f image2 -c:v png"},
  };
  for (const auto& [name, args] : made) {
    const fs::path out = dir / name;
    run_ffmpeg(args + " " + shell_quote(out.string()));
    INFO(name);
    CHECK(sniff_file(out));
  }
}

TEST_CASE("media sniffing turns away random bytes, text and documents", "[media][sniff]") {
  TempDir dir;
  int passed = 0;
  for (unsigned seed = 1; seed <= 200; ++seed) {
    const fs::path f = random_file(dir / ("r" + std::to_string(seed)), 4096, seed);
    passed += sniff_file(f) ? 1 : 0;
  }
  // A few random files may start like a frame sync; nearly all must be turned away.
  CHECK(passed <= 4);
  CHECK_FALSE(sniff("officer notes, 2026-03-01: nothing to report\n"));
  CHECK_FALSE(sniff("%PDF-1.7\n%\xE2\xE3\xCF\xD3\n"));
  CHECK_FALSE(sniff(std::string_view("PK\x03\x04", 4)));
  CHECK_FALSE(sniff("{\"evidence_id\": \"01J\"}"));
  CHECK_FALSE(sniff("#EXTM3U\n#EXTINF:10,\nfile:///etc/passwd\n"));  // a playlist is not footage
  CHECK_FALSE(sniff(""));
  // Short input is read in bounds.
  CHECK(sniff(std::string_view("\xFF\xD8\xFF", 3)));
  CHECK_FALSE(sniff(std::string_view("\xFF", 1)));
  CHECK(sniff(std::string_view("G", 1)));  // a transport stream's first sync byte, nothing more to check
}
