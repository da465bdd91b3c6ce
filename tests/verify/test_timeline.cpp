// Case timelines (verify/timeline.h): coverage and gaps from intervals, the clock rule,
// the timeline of a real store, and its copy in export bundles.
#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "base/error.h"
#include "tests/verify/test_audit_fixture.h"
#include "verify/bundle.h"
#include "verify/timeline.h"

using namespace evidence;
using namespace evidence::timeline;
using namespace evidence::test::audit;
namespace json = boost::json;

namespace {

constexpr std::int64_t kS = 1'000'000;  // one second in microseconds
constexpr std::int64_t kT = 1'790'000'000 * kS;

Interval seconds(std::int64_t from, std::int64_t to) { return {kT + from * kS, kT + to * kS}; }

// Commits an item with the given times and, when `media` is set, the probe's JSON as
// its derived "media" value (as the media jobs store it).
std::string add_item(Store& s, const std::string& case_number, const std::string& device,
                     const std::string& recorded_at, const std::optional<std::string>& media,
                     const std::string& received_at = "2026-12-01T00:00:00Z") {
  const std::string content = "clip " + device + " " + recorded_at + " " + std::to_string(s.items.size());
  auto w = s.blobs->begin_write();
  w->write(as_bytes(content));
  const BlobInfo blob = w->commit();
  NewEvidence n;
  n.record.id = new_evidence_id();
  n.record.sha256 = blob.id;
  n.record.size = blob.size;
  n.record.cases = {case_number};
  n.record.officer = "officer-" + device;
  n.record.device = device;
  n.record.recorded_at = recorded_at;
  n.record.received_at = received_at;
  n.record.uploaded_by = n.record.officer;
  n.timestamp_token = s.tsa->stamp(blob.id);
  n.event = event("ingest", n.record.officer, "officer");
  n.event.case_number = case_number;
  s.items.push_back(s.index->commit_evidence(std::move(n)));
  const std::string id = s.items.back().record.id;
  if (media) s.index->put_derived("media", id, *media, event("media_probe", "system", "system"));
  return id;
}

std::string video(double duration, const std::string& creation_time = {}) {
  json::object o{{"container", "mov,mp4,m4a,3gp,3g2,mj2"}, {"duration", duration}, {"bit_rate", 100000}};
  o["streams"] = json::array{json::object{{"type", "video"}, {"codec", "h264"}}};
  json::object tags;
  if (!creation_time.empty()) tags["creation_time"] = creation_time;
  o["tags"] = std::move(tags);
  return json::serialize(o);
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("timeline: three 10 s clips at t, t+10 and t+25 cover [t, t+20] and [t+25, t+35]", "[timeline]") {
  const std::vector<Interval> clips{seconds(25, 35), seconds(0, 10), seconds(10, 20)};  // any order
  const Continuity at5 = continuity(clips, 5 * kS);
  CHECK(at5.coverage == std::vector<Interval>{seconds(0, 20), seconds(25, 35)});
  CHECK(at5.gaps == std::vector<Interval>{seconds(20, 25)});
  const Continuity at6 = continuity(clips, 6 * kS);
  CHECK(at6.coverage == at5.coverage);
  CHECK(at6.gaps.empty());
}

TEST_CASE("timeline: overlapping clips merge, and a hole of exactly min_gap is a gap", "[timeline]") {
  const Continuity c = continuity({seconds(0, 10), seconds(5, 30), seconds(2, 8), seconds(40, 50)}, 10 * kS);
  CHECK(c.coverage == std::vector<Interval>{seconds(0, 30), seconds(40, 50)});
  CHECK(c.gaps == std::vector<Interval>{seconds(30, 40)});
  CHECK(continuity({seconds(0, 10), seconds(40, 50)}, 0).gaps == std::vector<Interval>{seconds(10, 40)});
  CHECK(continuity({}, 5 * kS).coverage.empty());
}

TEST_CASE("timeline: instants cover nothing but widen the span the gaps are looked for in", "[timeline]") {
  // A photo 30 s before the first clip and one 20 s after it.
  const Continuity c = continuity({seconds(-30, -30), seconds(0, 10), seconds(30, 30)}, 5 * kS);
  CHECK(c.coverage == std::vector<Interval>{seconds(0, 10)});
  CHECK(c.gaps == std::vector<Interval>{seconds(-30, 0), seconds(10, 30)});
  // Only instants: nothing is covered, and the holes between them are gaps.
  const Continuity only = continuity({seconds(0, 0), seconds(10, 10)}, 5 * kS);
  CHECK(only.coverage.empty());
  CHECK(only.gaps == std::vector<Interval>{seconds(0, 10)});
}

TEST_CASE("timeline: a clock is suspect when recorded after receipt or 10 minutes off its creation tag", "[timeline][clock]") {
  const ClockFacts good{"2026-11-27T10:00:00Z", "2026-11-27T12:00:00Z", "2026-11-27T10:04:59Z", std::nullopt};
  CHECK_FALSE(judge_clock(good).suspect);
  CHECK(judge_clock(good).reasons.empty());
  CHECK(*judge_clock(good).creation_offset_s == Approx(-299.0));  // recorded_at minus the tag

  ClockFacts future = good;
  future.creation_time = std::nullopt;
  future.recorded_at = "2026-11-27T14:00:00+02:00";  // 12:00:00Z in another zone
  CHECK_FALSE(judge_clock(future).suspect);          // the same instant as received_at
  future.recorded_at = "2026-11-27T12:00:01Z";
  CHECK(judge_clock(future).suspect);
  CHECK(judge_clock(future).reasons == std::vector<std::string>{"recorded_after_receipt"});

  ClockFacts off = good;
  off.creation_time = "2026-11-27T09:50:00.000000Z";  // FFmpeg's spelling, 10 minutes before
  const ClockVerdict v = judge_clock(off);
  CHECK(v.suspect);
  CHECK(v.reasons == std::vector<std::string>{"creation_time_mismatch"});
  CHECK(*v.creation_offset_s == Approx(600.0));
  off.creation_time = "2026-11-27T10:05:01Z";  // 5 min 1 s after: beyond the tolerance
  CHECK(judge_clock(off).suspect);
  off.creation_time = "2026-11-27T10:05:00Z";  // exactly 5 minutes: within it
  CHECK_FALSE(judge_clock(off).suspect);

  ClockFacts unreadable = good;
  unreadable.creation_time = "last tuesday";  // not compared, not guessed
  CHECK_FALSE(judge_clock(unreadable).suspect);
  CHECK_FALSE(judge_clock(unreadable).creation_offset_s);
}

TEST_CASE("timeline: creation tags in the spellings cameras write are read as times", "[timeline][clock]") {
  const auto want = parse_rfc3339("2026-03-02T07:00:00Z");
  CHECK(parse_tag_time("2026-03-02T08:00:00+0100") == want);  // Apple's, without the colon
  CHECK(parse_tag_time("2026-03-02T08:00:00+01:00") == want);
  CHECK(parse_tag_time("2026-03-02 07:00:00.000000Z") == want);
  CHECK_FALSE(parse_tag_time("2026-03-02T07:00:00"));  // no zone: its wall clock is unknown
  CHECK_FALSE(parse_tag_time("2026:03:02 07:00:00"));
  CHECK_FALSE(parse_tag_time(""));
}

TEST_CASE("timeline: a store's case gives items per device, coverage, gaps and clocks", "[timeline]") {
  Store s;
  const auto a = add_item(s, "K-1", "cam-1", "2026-11-27T10:00:00Z", video(10, "2026-11-27T10:00:00.000000Z"));
  const auto b = add_item(s, "K-1", "cam-2", "2026-11-27T10:00:10Z", video(10));
  const auto c = add_item(s, "K-1", "cam-1", "2026-11-27T10:00:25+00:00", video(10, "2026-11-27T09:50:25Z"));
  const auto photo = add_item(s, "K-1", "cam-2", "2026-11-27T10:00:30Z", json::serialize(json::object{{"error", "not a media file: x"}}));
  const auto pending = add_item(s, "K-1", "cam-3", "2026-11-27T10:00:05Z", std::nullopt);
  add_item(s, "K-2", "cam-1", "2026-11-27T10:00:20Z", video(10));  // another case

  const json::object t = case_timeline(*s.index, "K-1");
  INFO(json::serialize(t));
  CHECK(t.at("case").as_string() == "K-1");
  const auto& items = t.at("items").as_array();
  REQUIRE(items.size() == 5);
  std::vector<std::string> order;
  for (const auto& it : items) order.emplace_back(it.at("evidence").as_string());
  CHECK(order == std::vector<std::string>{a, pending, b, c, photo});  // by start
  const auto& first = items[0].as_object();
  CHECK(first.at("officer").as_string() == "officer-cam-1");
  CHECK(first.at("device").as_string() == "cam-1");
  CHECK(first.at("start").as_string() == "2026-11-27T10:00:00.000Z");
  CHECK(first.at("end").as_string() == "2026-11-27T10:00:10.000Z");
  CHECK(first.at("probing").as_bool() == false);
  // Not yet probed: an instant, marked, its length not guessed.
  CHECK(items[1].at("probing").as_bool());
  CHECK(items[1].at("end") == items[1].at("start"));
  CHECK(t.at("probing").to_number<int>() == 1);
  // Not media: an instant, not probing.
  CHECK(items[4].at("probing").as_bool() == false);
  CHECK(items[4].at("end") == items[4].at("start"));

  const auto& coverage = t.at("coverage").as_array();
  REQUIRE(coverage.size() == 2);
  CHECK(coverage[0] == json::value(json::object{{"start", "2026-11-27T10:00:00.000Z"}, {"end", "2026-11-27T10:00:20.000Z"}}));
  CHECK(coverage[1] == json::value(json::object{{"start", "2026-11-27T10:00:25.000Z"}, {"end", "2026-11-27T10:00:35.000Z"}}));
  const auto& gaps = t.at("gaps").as_array();
  REQUIRE(gaps.size() == 1);
  CHECK(gaps[0].at("start").as_string() == "2026-11-27T10:00:20.000Z");
  CHECK(gaps[0].at("end").as_string() == "2026-11-27T10:00:25.000Z");
  CHECK(gaps[0].at("seconds").to_number<double>() == 5.0);
  CHECK(case_timeline(*s.index, "K-1", 6 * kS).at("gaps").as_array().empty());

  // Clocks: the claim as sent, the tag, our receipt, the TSA's time.
  const auto& ok = first.at("clock").as_object();
  CHECK(ok.at("recorded_at").as_string() == "2026-11-27T10:00:00Z");
  CHECK(ok.at("creation_time").as_string() == "2026-11-27T10:00:00.000000Z");
  CHECK(ok.at("received_at").as_string() == "2026-12-01T00:00:00Z");
  CHECK(parse_rfc3339(ok.at("tsa_time").as_string()));
  CHECK(ok.at("clock_suspect").as_bool() == false);
  CHECK(ok.at("reasons").as_array().empty());
  const auto& off = items[3].at("clock").as_object();
  CHECK(off.at("recorded_at").as_string() == "2026-11-27T10:00:25+00:00");  // exactly as sent
  CHECK(off.at("clock_suspect").as_bool());
  CHECK(off.at("reasons").as_array() == json::array{"creation_time_mismatch"});
  CHECK(items[1].at("clock").at("creation_time").is_null());

  REQUIRE_THROWS_AS(case_timeline(*s.index, "NO-SUCH-CASE"), Error);
}

TEST_CASE("timeline: a duration no recording has makes an instant, not an overflow", "[timeline]") {
  Store s;
  add_item(s, "K-1", "cam-1", "9999-12-31T23:59:59Z", video(1e300));
  add_item(s, "K-1", "cam-2", "2026-11-27T10:00:00Z", video(-10));
  const json::object t = case_timeline(*s.index, "K-1");
  INFO(json::serialize(t));
  for (const auto& it : t.at("items").as_array()) {
    CHECK(it.at("end") == it.at("start"));
    CHECK(it.at("probing").as_bool() == false);
  }
  CHECK(t.at("coverage").as_array().empty());
}

TEST_CASE("timeline: an export bundle holds the case's timeline as timeline.json", "[timeline][bundle]") {
  Store s;
  add_item(s, "K-1", "cam-1", "2026-11-27T10:00:00Z", video(10));
  add_item(s, "K-1", "cam-2", "2026-11-27T10:00:25Z", video(10));
  add_item(s, "K-1", "cam-1", "2026-11-27T12:00:00Z", std::nullopt, "2026-11-27T11:00:00Z");
  s.checkpoint();
  const auto tar = s.dir.path() / "bundle.tar";
  {
    std::ofstream out(tar, std::ios::binary);
    write_bundle(*s.index, *s.blobs, s.layout, "K-1", [&](std::span<const std::uint8_t> b) {
      out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    });
  }
  test::TempDir x;
  REQUIRE(std::system(("tar -xf '" + tar.string() + "' -C '" + x.path().string() + "'").c_str()) == 0);
  REQUIRE(std::filesystem::exists(x / "timeline.json"));
  const json::value bundled = json::parse(slurp(x / "timeline.json"));
  CHECK(bundled == json::value(case_timeline(*s.index, "K-1")));
  CHECK(bundled.at("gaps").as_array().size() == 2);
  CHECK(bundled.at("items").as_array()[2].at("clock").at("clock_suspect").as_bool());
  // The reader does not stumble on it.
  const auto r = verify_bundle(tar, std::nullopt);
  INFO(json::serialize(r.to_json()));
  CHECK(r.ok);
  CHECK(r.hints.empty());
}
