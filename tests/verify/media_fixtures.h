// Footage for the media tests, made once per test run with the ffmpeg command-line
// tool from lavfi test sources (small: 320x240, 10 s, a keyframe every second), plus
// helpers to damage copies of it and to ask ffprobe for its view.
#pragma once

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/tempdir.h"

namespace evidence::test {

namespace fs = std::filesystem;

inline std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

inline void run_ffmpeg(const std::string& args) {
  const std::string cmd = "ffmpeg -nostdin -hide_banner -loglevel error -y -threads 1 " + args;
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("ffmpeg failed: " + cmd);
}

inline std::string run_capture(const std::string& cmd) {
  std::FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) throw std::runtime_error("popen failed: " + cmd);
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

// ffprobe's JSON for a file: {"format": {...}, "streams": [...]}.
inline boost::json::value ffprobe(const fs::path& file) {
  return boost::json::parse(run_capture("ffprobe -v quiet -print_format json -show_format -show_streams " +
                                        shell_quote(file.string())));
}

inline std::vector<std::uint8_t> read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_all(const fs::path& p, const std::vector<std::uint8_t>& data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  if (!out) throw std::runtime_error("write failed: " + p.string());
}

// The first half of `src`.
inline fs::path truncated_copy(const fs::path& src, const fs::path& dst) {
  auto data = read_all(src);
  data.resize(data.size() / 2);
  write_all(dst, data);
  return dst;
}

// `src` with `count` random bytes overwritten in its middle third (fixed seed, so a
// failure reproduces).
inline fs::path bitflipped_copy(const fs::path& src, const fs::path& dst, int count = 16,
                                unsigned seed = 1) {
  auto data = read_all(src);
  std::mt19937 rng(seed);
  if (data.size() >= 3) {
    std::uniform_int_distribution<std::size_t> where(data.size() / 3, 2 * data.size() / 3);
    for (int i = 0; i < count; ++i) data[where(rng)] ^= static_cast<std::uint8_t>(1 + rng() % 255);
  }
  write_all(dst, data);
  return dst;
}

inline fs::path random_file(const fs::path& dst, std::size_t size, unsigned seed = 7) {
  std::mt19937 rng(seed);
  std::vector<std::uint8_t> data(size);
  for (auto& b : data) b = static_cast<std::uint8_t>(rng());
  write_all(dst, data);
  return dst;
}

struct Footage {
  TempDir dir;
  fs::path mp4, avi, mkv, mov, apple_mov, wav, jpg;

  Footage() {
    const std::string video = "-f lavfi -i testsrc=size=320x240:rate=25:duration=10 ";
    const std::string audio = "-f lavfi -i sine=frequency=440:sample_rate=48000:duration=10 ";
    const std::string h264 = "-c:v libx264 -preset ultrafast -pix_fmt yuv420p -g 25 ";
    mp4 = dir / "bodycam.mp4";
    run_ffmpeg(video + audio + h264 + "-c:a aac -b:a 64k " + shell_quote(mp4.string()));
    avi = dir / "dashcam.avi";
    run_ffmpeg(video + audio + "-c:v mjpeg -q:v 8 -c:a pcm_s16le " + shell_quote(avi.string()));
    mkv = dir / "fixed.mkv";
    run_ffmpeg(video + audio + h264 + "-c:a libopus -b:a 48k " + shell_quote(mkv.string()));
    mov = dir / "recorder.mov";
    run_ffmpeg(video + audio + h264 +
               "-c:a aac -b:a 64k -metadata creation_time=2026-03-01T12:34:56Z -metadata make=Axon "
               "-metadata model='Body 3' -metadata location=+48.8577+002.2950/ "
               "-metadata serial_number=X81234 -movflags use_metadata_tags " +
               shell_quote(mov.string()));
    // Apple's key names, as a phone writes them.
    apple_mov = dir / "phone.mov";
    run_ffmpeg("-f lavfi -i testsrc=size=160x120:rate=25:duration=2 " + h264 +
               "-metadata com.apple.quicktime.make=Apple -metadata com.apple.quicktime.model='iPhone 15' "
               "-metadata com.apple.quicktime.location.ISO6709=+40.7484-073.9857+010.000/ "
               "-metadata com.apple.quicktime.creationdate=2026-03-02T08:00:00+0100 "
               "-movflags use_metadata_tags " +
               shell_quote(apple_mov.string()));
    wav = dir / "interview.wav";
    run_ffmpeg("-f lavfi -i sine=frequency=440:sample_rate=44100:duration=5 -c:a pcm_s16le " +
               shell_quote(wav.string()));
    jpg = dir / "scene.jpg";
    run_ffmpeg("-f lavfi -i testsrc=size=320x240:rate=1:duration=1 -frames:v 1 " + shell_quote(jpg.string()));
  }

  std::vector<fs::path> all() const { return {mp4, avi, mkv, mov, apple_mov, wav, jpg}; }
};

// Made on first use, removed at exit.
inline const Footage& footage() {
  static const Footage f;
  return f;
}

}  // namespace evidence::test
