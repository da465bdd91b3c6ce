// Isolation: the spawner kills on timeout, applies the memory limit, reports crashes;
// the worker entry point answers in JSON.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <cstdio>
#include <iostream>

#include "store/codec.h"
#include "tests/verify/media_fixtures.h"
#include "verify/media.h"

using namespace evidence;
using namespace evidence::test;
namespace media = evidence::media;

namespace {

struct WorkerRun {
  int code;
  boost::json::value out;
};

// Runs media_worker_main in this process with stdout captured and stdin from /dev/null.
WorkerRun run_worker(std::vector<std::string> args) {
  TempDir dir;
  const auto out_path = dir / "stdout";
  std::cout.flush();
  std::fflush(stdout);
  const int saved_out = ::dup(1), saved_in = ::dup(0);
  const int out_fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  const int null_fd = ::open("/dev/null", O_RDONLY);
  ::dup2(out_fd, 1);
  ::dup2(null_fd, 0);
  args.insert(args.begin(), "media-worker");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int code = media::media_worker_main(static_cast<int>(args.size()), argv.data());
  std::cout.flush();
  std::fflush(stdout);
  ::dup2(saved_out, 1);
  ::dup2(saved_in, 0);
  for (int fd : {saved_out, saved_in, out_fd, null_fd}) ::close(fd);
  const auto bytes = read_all(out_path);
  return {code, boost::json::parse(std::string(bytes.begin(), bytes.end()))};
}

}  // namespace

TEST_CASE("run_media_worker kills a child that outlives its timeout", "[media]") {
  std::string why;
  const auto r = media::run_media_worker("/bin/sleep", {"100"}, 1, 0, &why);
  CHECK_FALSE(r.has_value());
  CHECK(why.find("timed out") != std::string::npos);
}

TEST_CASE("run_media_worker parses the child's JSON", "[media]") {
  std::string why;
  const auto r = media::run_media_worker("/bin/sh", {"-c", R"(printf '{"ok":true,"n":[1,2]}\n')"}, 10, 0, &why);
  INFO(why);
  REQUIRE(r.has_value());
  CHECK(r->at("ok") == true);
  CHECK(r->at("n").at(1) == 2);
}

TEST_CASE("run_media_worker applies the memory limit before the child reads stdin's EOF", "[media]") {
  std::string why;
  // The child waits for stdin to close, as media_worker_main does, then reports its limit.
  const auto r = media::run_media_worker("/bin/sh", {"-c", "cat >/dev/null; ulimit -v"}, 10, 512u << 20, &why);
  INFO(why);
  REQUIRE(r.has_value());
  CHECK(r->as_int64() == 512 * 1024);  // ulimit -v counts KiB
}

TEST_CASE("run_media_worker reports a crash, silence and a missing program", "[media]") {
  std::string why;
  CHECK_FALSE(media::run_media_worker("/bin/sh", {"-c", "kill -SEGV $$"}, 10, 0, &why));
  CHECK(why.find("signal") != std::string::npos);
  CHECK_FALSE(media::run_media_worker("/bin/sh", {"-c", "echo not json"}, 10, 0, &why));
  CHECK(why.find("no JSON") != std::string::npos);
  CHECK_FALSE(media::run_media_worker("/nonexistent/worker", {}, 10, 0, &why));
  CHECK_FALSE(why.empty());
}

TEST_CASE("the worker entry point probes, segments, thumbnails and clips in JSON", "[media]") {
  TempDir dir;
  auto probe = run_worker({"probe", footage().mp4.string()});
  CHECK(probe.code == 0);
  CHECK(probe.out == media::to_json(media::probe(footage().mp4)));

  auto noise = run_worker({"probe", random_file(dir / "noise", 5000).string()});
  CHECK(noise.code == 0);
  CHECK(noise.out.as_object().contains("error"));

  auto segs = run_worker({"segments", footage().mp4.string()});
  CHECK(segs.code == 0);
  const auto list = media::segments_from_json(segs.out.at("segments"));
  CHECK(list == media::segment_hashes(footage().mp4));
  CHECK(segs.out.at("root").as_string() == to_hex(media::segments_root(list)));

  auto thumb = run_worker({"thumbnail", footage().mp4.string(), (dir / "t.jpg").string()});
  CHECK(thumb.code == 0);
  CHECK(fs::file_size(dir / "t.jpg") == thumb.out.at("size").to_number<std::uint64_t>());

  auto no_video = run_worker({"thumbnail", footage().wav.string(), (dir / "w.jpg").string()});
  CHECK(no_video.code == 1);
  CHECK(no_video.out.at("code") == "invalid_argument");

  auto cut = run_worker({"clip", footage().mp4.string(), "2", "5", (dir / "c.mp4").string()});
  CHECK(cut.code == 0);
  CHECK(cut.out.at("format") == "mp4");

  CHECK(run_worker({"bogus", "x"}).code == 2);
  CHECK(run_worker({"clip", footage().mp4.string(), "two", "5", (dir / "c.mp4").string()}).code == 1);
}
