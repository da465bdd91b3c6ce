// Isolation: the spawner kills on timeout, applies the memory limit, reports crashes;
// the worker entry point answers in JSON (its sandbox: test_media_sandbox.cpp).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <cstdio>
#include <iostream>

#include "base/codec.h"
#include "tests/verify/media_fixtures.h"
#include "tests/verify/media_worker_run.h"
#include "verify/media/probe.h"
#include "verify/media/segments.h"
#include "verify/media/thumbnail.h"
#include "verify/media/worker.h"

using namespace evidence;
using namespace evidence::test;
namespace media = evidence::media;

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
  // The real worker, confined as the daemon runs it: input on descriptor 3, output on 4.
  TempDir dir;
  std::string why;
  auto probe = run_real_worker({{"probe"}, footage().mp4}, &why);
  INFO(why);
  REQUIRE(probe);
  CHECK(*probe == media::to_json(media::probe(footage().mp4)));

  auto noise = run_real_worker({{"probe"}, random_file(dir / "noise", 5000)});
  REQUIRE(noise);
  CHECK(noise->as_object().contains("error"));

  auto segs = run_real_worker({{"segments"}, footage().mp4});
  REQUIRE(segs);
  const auto list = media::segments_from_json(segs->at("segments"));
  CHECK(list == media::segment_hashes(footage().mp4));
  CHECK(segs->at("root").as_string() == to_hex(media::segments_root(list)));

  auto thumb = run_real_worker({{"thumbnail"}, footage().mp4, dir / "t.jpg"});
  REQUIRE(thumb);
  CHECK(fs::file_size(dir / "t.jpg") == thumb->at("size").to_number<std::uint64_t>());
  CHECK(read_all(dir / "t.jpg") == media::thumbnail_jpeg(footage().mp4));

  auto no_video = run_real_worker({{"thumbnail"}, footage().wav, dir / "w.jpg"});
  REQUIRE(no_video);
  CHECK(no_video->at("code") == "invalid_argument");

  auto cut = run_real_worker({{"clip", "2", "5"}, footage().mp4, dir / "c.mp4"});
  REQUIRE(cut);
  CHECK(cut->at("format") == "mp4");
  CHECK(media::probe(dir / "c.mp4").ok);

  auto bogus = run_real_worker({{"bogus", "x"}});
  REQUIRE(bogus);
  CHECK(bogus->as_object().contains("error"));
  CHECK_FALSE(bogus->as_object().contains("code"));  // a usage answer
  auto bad_number = run_real_worker({{"clip", "two", "5"}, footage().mp4, dir / "c2.mp4"});
  REQUIRE(bad_number);
  CHECK(bad_number->at("code") == "invalid_argument");
}
