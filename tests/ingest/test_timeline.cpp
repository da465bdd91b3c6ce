// GET /cases/{C}/timeline against the real daemon (issue 19): real 10 s videos, probed
// by the daemon's media jobs, give the case's coverage and gaps; clocks are shown in
// the timeline and the record alike; export bundles carry the same timeline.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "base/timefmt.h"
#include "tests/ingest/daemon_fixture.h"
#include "tests/verify/media_fixtures.h"

using namespace evidence;
using namespace evidence::test;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

// The case number has a '/' and CJK: "/cases/{+}/timeline" must still find the case.
const std::string kCase = "汉台执罚/2026/第19号";

// A 10 s video-only MP4 (so its duration is exactly 10 s), made distinct by `title`,
// with a creation_time tag when one is given.
fs::path make_clip(const fs::path& dir, const std::string& title, const std::string& creation_time = {}) {
  const fs::path out = dir / (title + ".mp4");
  std::string args = "-f lavfi -i testsrc=size=160x120:rate=25:duration=10 "
                     "-c:v libx264 -preset ultrafast -pix_fmt yuv420p -g 25 -metadata title=" + title + " ";
  if (!creation_time.empty()) args += "-metadata creation_time=" + creation_time + " ";
  run_ffmpeg(args + shell_quote(out.string()));
  return out;
}

std::string upload(const Daemon& d, const std::string& token, const std::string& body, const std::string& device,
                   const std::string& recorded_at, const std::string& case_number, const std::string& filename) {
  const auto r = http("POST", d.api("/evidence?officer=o.lee&device=" + pct(device) + "&recorded_at=" +
                                    pct(recorded_at) + "&filename=" + pct(filename) + "&case=" + pct(case_number)),
                      token, body);
  INFO(r.body);
  REQUIRE(r.status == 201);
  return std::string(obj(r)["evidence_id"].as_string());
}

json::object timeline(const Daemon& d, const std::string& token, const std::string& case_number,
                      const std::string& query = {}) {
  const auto r = http("GET", d.api("/cases/" + pct(case_number) + "/timeline" + query), token);
  INFO(r.body);
  REQUIRE(r.status == 200);
  return obj(r);
}

const json::object& item_of(const json::object& t, const std::string& id) {
  for (const auto& it : t.at("items").as_array()) {
    if (it.at("evidence").as_string() == id) return it.as_object();
  }
  FAIL("no item " << id << " in the timeline " << json::serialize(t));
  throw std::logic_error("unreachable");
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

json::value span(const std::string& start, const std::string& end) {
  return json::object{{"start", start}, {"end", end}};
}

}  // namespace

TEST_CASE("timeline: three 10 s videos on two devices at t, t+10 and t+25 leave one 5 s gap", "[daemon][timeline]") {
  TempDir dir;
  Daemon d(dir.path() / "data");
  const std::string officer = d.add_user("o.lee", "officer");
  const std::string reviewer = d.add_user("r.kim", "reviewer");
  const std::string auditor = d.add_user("a.wu", "auditor");
  // t = 10:00:00Z. The second claim is the same instant in another zone, kept as sent;
  // the third's container says it was made 10 minutes before its claim.
  const std::string a = upload(d, officer, read_file(make_clip(dir.path(), "a")), "cam-1", "2026-11-27T10:00:00Z",
                               kCase, "a.mp4");
  const std::string b = upload(d, officer, read_file(make_clip(dir.path(), "b")), "cam-2",
                               "2026-11-27T11:00:10+01:00", kCase, "b.mp4");
  const std::string c = upload(d, officer, read_file(make_clip(dir.path(), "c", "2026-11-27T09:50:25Z")), "cam-1",
                               "2026-11-27T10:00:25Z", kCase, "c.mp4");
  for (const auto& id : {a, b, c}) wait_for_media(d, reviewer, id);

  const json::object t = timeline(d, reviewer, kCase);
  INFO(json::serialize(t));
  CHECK(t.at("case").as_string() == kCase);
  CHECK(t.at("probing").to_number<int>() == 0);
  const auto& items = t.at("items").as_array();
  REQUIRE(items.size() == 3);
  CHECK(items[0].at("evidence").as_string() == a);
  CHECK(items[1].at("evidence").as_string() == b);
  CHECK(items[2].at("evidence").as_string() == c);
  CHECK(items[1].at("device").as_string() == "cam-2");
  CHECK(items[1].at("officer").as_string() == "o.lee");
  CHECK(items[1].at("start").as_string() == "2026-11-27T10:00:10.000Z");
  CHECK(items[1].at("end").as_string() == "2026-11-27T10:00:20.000Z");
  CHECK(t.at("coverage").as_array() == json::array{span("2026-11-27T10:00:00.000Z", "2026-11-27T10:00:20.000Z"),
                                                   span("2026-11-27T10:00:25.000Z", "2026-11-27T10:00:35.000Z")});
  const auto& gaps = t.at("gaps").as_array();
  REQUIRE(gaps.size() == 1);
  CHECK(gaps[0].at("start").as_string() == "2026-11-27T10:00:20.000Z");
  CHECK(gaps[0].at("end").as_string() == "2026-11-27T10:00:25.000Z");
  CHECK(gaps[0].at("seconds").to_number<double>() == Approx(5.0));
  CHECK(timeline(d, auditor, kCase, "?min_gap=5").at("gaps") == t.at("gaps"));
  CHECK(timeline(d, d.admin_token(), kCase, "?min_gap=6").at("gaps").as_array().empty());
  CHECK(timeline(d, reviewer, kCase, "?min_gap=4.5").at("gaps").as_array().size() == 1);

  // Clocks: the claim exactly as sent, the container's tag, our receipt, the TSA's time.
  const auto& clock_b = item_of(t, b).at("clock").as_object();
  CHECK(clock_b.at("recorded_at").as_string() == "2026-11-27T11:00:10+01:00");
  CHECK(clock_b.at("creation_time").is_null());
  CHECK(clock_b.at("clock_suspect").as_bool() == false);
  CHECK(parse_rfc3339(clock_b.at("received_at").as_string()));
  CHECK(parse_rfc3339(clock_b.at("tsa_time").as_string()));
  const auto& clock_c = item_of(t, c).at("clock").as_object();
  CHECK(clock_c.at("creation_time").as_string().starts_with("2026-11-27T09:50:25"));
  CHECK(clock_c.at("clock_suspect").as_bool());
  CHECK(clock_c.at("reasons").as_array() == json::array{"creation_time_mismatch"});
  CHECK(clock_c.at("creation_offset_seconds").to_number<double>() == Approx(600.0));

  // The record view shows the same clock, and the claim as sent.
  const auto rec_b = obj(http("GET", d.api("/evidence/" + b), reviewer));
  CHECK(rec_b.at("recorded_at").as_string() == "2026-11-27T11:00:10+01:00");
  CHECK(rec_b.at("clock") == item_of(t, b).at("clock"));
  CHECK(obj(http("GET", d.api("/evidence/" + c), officer)).at("clock") == item_of(t, c).at("clock"));

  // Reading the timeline is a view of each item, in the custody log.
  const auto custody = obj(http("GET", d.api("/evidence/" + a + "/custody"), reviewer));
  bool viewed = false;
  for (const auto& e : custody.at("entries").as_array()) {
    const auto* detail = e.as_object().if_contains("detail");
    if (e.at("action").as_string() == "view" && e.at("actor").as_string() == "r.kim" && detail &&
        detail->as_object().if_contains("listing") && detail->at("listing").as_string() == "timeline") {
      viewed = true;
    }
  }
  CHECK(viewed);

  // The export bundle carries the same timeline.
  const auto bundle = http("GET", d.api("/cases/" + pct(kCase) + "/export"), reviewer);
  REQUIRE(bundle.status == 200);
  const fs::path tar = dir.path() / "bundle.tar";
  {
    std::ofstream out(tar, std::ios::binary);
    out << bundle.body;
  }
  const fs::path x = dir.path() / "x";
  fs::create_directories(x);
  REQUIRE(std::system(("tar -xf " + shell_quote(tar.string()) + " -C " + shell_quote(x.string())).c_str()) == 0);
  REQUIRE(fs::exists(x / "timeline.json"));
  CHECK(json::parse(slurp(x / "timeline.json")) == json::value(timeline(d, reviewer, kCase)));
}

TEST_CASE("timeline: an item recorded after its receipt is clock_suspect", "[daemon][timeline]") {
  TempDir dir;
  Daemon d(dir.path() / "data");
  const std::string reviewer = d.add_user("r.kim", "reviewer");
  const std::string future = format_rfc3339(now_us() + std::chrono::hours(1));
  const std::string id = upload(d, d.admin_token(), "a statement, not media", "cam-9", future, "K-2", "note.txt");
  const std::string past = upload(d, d.admin_token(), "another statement", "cam-9", "2026-01-01T00:00:00Z", "K-2",
                                  "note2.txt");
  wait_for_media(d, reviewer, id);  // a failed probe is a finished one: not probing
  wait_for_media(d, reviewer, past);
  const json::object t = timeline(d, reviewer, "K-2");
  INFO(json::serialize(t));
  const auto& it = item_of(t, id);
  CHECK(it.at("probing").as_bool() == false);
  CHECK(it.at("end") == it.at("start"));  // not media: an instant
  CHECK(it.at("clock").at("recorded_at").as_string() == future);
  CHECK(it.at("clock").at("clock_suspect").as_bool());
  CHECK(it.at("clock").at("reasons").as_array() == json::array{"recorded_after_receipt"});
  CHECK(item_of(t, past).at("clock").at("clock_suspect").as_bool() == false);
  CHECK(t.at("coverage").as_array().empty());
  CHECK(obj(http("GET", d.api("/evidence/" + id), reviewer)).at("clock") == it.at("clock"));
}

TEST_CASE("timeline: a claim sent through tus is kept exactly as sent, in the record and its clock", "[daemon][timeline]") {
  TempDir dir;
  Daemon d(dir.path() / "data");
  const std::string reviewer = d.add_user("r.kim", "reviewer");
  // Lower-case 't', a microsecond fraction, a negative offset: valid RFC 3339, and what
  // the record keeps is this text, not our spelling of the same instant.
  const std::string claim = "2026-11-27t04:30:00.123456-05:30";
  const std::string body = "a statement sent by tus";
  const Headers tus{{"Tus-Resumable", "1.0.0"}};
  Headers create = tus;
  create.emplace_back("Upload-Length", std::to_string(body.size()));
  create.emplace_back("Upload-Metadata", "officer " + b64("o.lee") + ",device " + b64("cam-1") + ",recorded_at " +
                                             b64(claim) + ",case " + b64("K-4"));
  const auto made = http("POST", d.api("/uploads"), d.admin_token(), "", create);
  REQUIRE(made.status == 201);
  Headers patch = tus;
  patch.emplace_back("Content-Type", "application/offset+octet-stream");
  patch.emplace_back("Upload-Offset", "0");
  const auto fin = http("PATCH", d.url() + made.header("location"), d.admin_token(), body, patch);
  REQUIRE(fin.status == 204);
  const std::string id = fin.header("evidence-id");
  REQUIRE(!id.empty());
  const auto rec = obj(http("GET", d.api("/evidence/" + id), reviewer));
  CHECK(rec.at("recorded_at").as_string() == claim);
  CHECK(rec.at("clock").at("recorded_at").as_string() == claim);
  const json::object t = timeline(d, reviewer, "K-4");
  CHECK(item_of(t, id).at("start").as_string() == "2026-11-27T10:00:00.123Z");
  CHECK(item_of(t, id).at("clock").at("recorded_at").as_string() == claim);
}

TEST_CASE("timeline: a bad min_gap is 400, an officer 403, an unknown case 404", "[daemon][timeline]") {
  TempDir dir;
  Daemon d(dir.path() / "data");
  const std::string officer = d.add_user("o.lee", "officer");
  const std::string reviewer = d.add_user("r.kim", "reviewer");
  upload(d, officer, "bytes", "cam-1", "2026-11-27T10:00:00Z", "K-3", "x.bin");
  const std::string base = "/cases/K-3/timeline";
  CHECK(http("GET", d.api(base), reviewer).status == 200);
  CHECK(http("GET", d.api(base + "?min_gap=0"), reviewer).status == 200);
  for (const std::string bad : {"abc", "-1", "", "1e3", "nan", "inf", "5s", "1%2B1", "99999999999", "0x10"}) {
    const auto r = http("GET", d.api(base + "?min_gap=" + bad), reviewer);
    INFO("min_gap=" << bad << ": " << r.body);
    CHECK(r.status == 400);
    CHECK(r.json().at("error").as_string() == "invalid_argument");
  }
  const auto forbidden = http("GET", d.api(base), officer);
  CHECK(forbidden.status == 403);
  CHECK(forbidden.json().as_object().contains("error"));
  CHECK(http("GET", d.api(base), "").status == 401);
  const auto missing = http("GET", d.api("/cases/NO-SUCH-CASE/timeline"), reviewer);
  CHECK(missing.status == 404);
  CHECK(missing.json().at("error").as_string() == "not_found");
  CHECK(http("GET", d.api("/cases/%01bad/timeline"), reviewer).status == 400);
  // The case itself still reads as before.
  CHECK(http("GET", d.api("/cases/K-3"), reviewer).status == 200);
  // A claim whose offset carries it out of four-digit years in UTC cannot be drawn
  // (nor written as RFC 3339): refused at ingest. The first and last years are fine.
  for (const std::string far : {"0000-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59"}) {
    const auto r = http("POST", d.api("/evidence?officer=o.lee&device=cam-1&case=K-3&recorded_at=" + pct(far)),
                        officer, "far");
    INFO(far << ": " << r.body);
    CHECK(r.status == 400);
    CHECK(r.json().at("error").is_string());
  }
  upload(d, officer, "first year", "cam-1", "0001-01-01T00:00:00Z", "K-3", "y.bin");
  upload(d, officer, "last year", "cam-1", "9999-12-31T23:59:59Z", "K-3", "z.bin");
  const auto wide = http("GET", d.api(base), reviewer);
  CHECK(wide.status == 200);
  CHECK(wide.json().at("items").as_array().size() == 3);
}
