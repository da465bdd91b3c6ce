// Media awareness against the real daemon (issue 4): probe after ingest, poster frames,
// clips as new derived items, and segment hashes that pin a one-byte change to seconds.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "tests/ingest/daemon_fixture.h"
#include "store/index.h"
#include "store/lmdb/lmdb_index.h"
#include "store/layout.h"

using namespace evidence;
using namespace evidence::test;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

// 320x240, 10 s, a keyframe every second (-g 25 at 25 fps), H.264/AAC in MP4.
fs::path make_video(const fs::path& dir) {
  const fs::path out = dir / "bodycam.mp4";
  const std::string cmd =
      "ffmpeg -nostdin -hide_banner -loglevel error -y -threads 1 "
      "-f lavfi -i testsrc=size=320x240:rate=25:duration=10 "
      "-f lavfi -i sine=frequency=440:sample_rate=48000:duration=10 "
      "-c:v libx264 -preset ultrafast -pix_fmt yuv420p -g 25 -c:a aac -b:a 64k '" +
      out.string() + "'";
  REQUIRE(std::system(cmd.c_str()) == 0);
  return out;
}

std::string upload_url(const Daemon& d, const std::string& filename) {
  return d.api("/evidence?officer=" + pct("Officer Jo") + "&device=cam-7&recorded_at=" +
               pct("2026-11-27T10:00:00Z") + "&filename=" + pct(filename) + "&case=" + pct("K-9"));
}

std::string upload(const Daemon& d, const std::string& token, const std::string& data, const std::string& filename) {
  auto r = http("POST", upload_url(d, filename), token, data);
  INFO(r.body);
  REQUIRE(r.status == 201);
  return std::string(obj(r)["evidence_id"].as_string());
}

std::vector<json::object> custody(const Daemon& d, const std::string& token, const std::string& id) {
  auto r = http("GET", d.api("/evidence/" + id + "/custody"), token);
  REQUIRE(r.status == 200);
  const json::object body = obj(r);  // kept alive: the loop walks into it
  std::vector<json::object> out;
  for (const auto& e : body.at("entries").as_array()) out.push_back(e.as_object());
  return out;
}

bool has_action(const std::vector<json::object>& entries, const std::string& action) {
  for (const auto& e : entries) {
    if (e.at("action").as_string() == action) return true;
  }
  return false;
}

// Waits until the item's custody shows `action` (a media step finished).
void wait_for_action(const Daemon& d, const std::string& token, const std::string& id, const std::string& action) {
  for (int i = 0; i < 1200; ++i) {
    if (has_action(custody(d, token, id), action)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  FAIL("no custody entry " << action << " for " << id << "\n" << d.stderr_text());
}

double num(const json::value& v) { return v.to_number<double>(); }

}  // namespace

TEST_CASE("a video upload is probed after ingest and gets a JPEG poster frame", "[daemon][media]") {
  TempDir dir;
  const fs::path video = make_video(dir.path());
  Daemon d(dir.path() / "data");
  const std::string data = read_file(video);
  auto r = http("POST", upload_url(d, "bodycam.mp4"), d.admin_token(), data);
  REQUIRE(r.status == 201);
  auto receipt = obj(r);
  const std::string id(receipt["evidence_id"].as_string());
  // The answer never waits for media work, and the receipt is the ingest-time one.
  CHECK(!receipt.contains("media"));

  const json::object rec = wait_for_media(d, d.admin_token(), id);
  const auto& media = rec.at("media").as_object();
  INFO(json::serialize(media));
  REQUIRE(!media.contains("error"));
  CHECK(media.at("container").as_string().find("mp4") != json::string::npos);
  CHECK(num(media.at("duration")) == Approx(10.0).margin(0.2));
  bool h264 = false, aac = false;
  for (const auto& sv : media.at("streams").as_array()) {
    const auto& st = sv.as_object();
    if (st.at("codec").as_string() == "h264") {
      h264 = true;
      CHECK(st.at("type").as_string() == "video");
      CHECK(st.at("width").to_number<int>() == 320);
      CHECK(st.at("height").to_number<int>() == 240);
    }
    if (st.at("codec").as_string() == "aac") {
      aac = true;
      CHECK(st.at("type").as_string() == "audio");
    }
  }
  CHECK(h264);
  CHECK(aac);
  // The stored record (and so its record_hash) is untouched: media is derived.
  CHECK(rec.at("sha256").as_string() == receipt["sha256"].as_string());

  // Poster frame: pending (409) until made, then a JPEG; each view is a custody event.
  HttpResponse thumb;
  for (int i = 0; i < 1200; ++i) {
    thumb = http("GET", d.api("/evidence/" + id + "/thumbnail"), d.admin_token());
    if (thumb.status != 409) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  INFO(thumb.body);
  REQUIRE(thumb.status == 200);
  CHECK(thumb.header("content-type") == "image/jpeg");
  REQUIRE(thumb.body.size() > 100);
  CHECK(static_cast<unsigned char>(thumb.body[0]) == 0xFF);
  CHECK(static_cast<unsigned char>(thumb.body[1]) == 0xD8);

  const auto entries = custody(d, d.admin_token(), id);
  CHECK(entries.front().at("action").as_string() == "ingest");
  bool probe_entry = false, thumb_view = false;
  for (const auto& e : entries) {
    if (e.at("action").as_string() == "media_probe") {
      probe_entry = true;
      CHECK(e.at("actor").as_string() == "system");
    }
    if (e.at("action").as_string() == "view" && e.contains("detail") && e.at("detail").is_object() &&
        e.at("detail").as_object().contains("what")) {
      thumb_view = e.at("detail").as_object().at("what").as_string() == "thumbnail";
    }
  }
  CHECK(probe_entry);
  CHECK(thumb_view);

  // An officer who did not upload it sees nothing.
  const std::string other = d.add_user("officer-b", "officer");
  CHECK(http("GET", d.api("/evidence/" + id + "/thumbnail"), other).status == 404);
}

TEST_CASE("a clip is a new evidence item whose custody names the original", "[daemon][media]") {
  TempDir dir;
  const fs::path video = make_video(dir.path());
  Daemon d(dir.path() / "data");
  const std::string id = upload(d, d.admin_token(), read_file(video), "bodycam.mp4");
  wait_for_media(d, d.admin_token(), id);
  const std::string reviewer = d.add_user("rev", "reviewer");
  const std::string officer = d.add_user("off", "officer");

  // Bad ranges and roles first: nothing is made.
  CHECK(http("POST", d.api("/evidence/" + id + "/clips"), reviewer, R"({"start":"abc","end":5})").status == 400);
  CHECK(http("POST", d.api("/evidence/" + id + "/clips"), reviewer, R"({"start":5,"end":2})").status == 400);
  CHECK(http("POST", d.api("/evidence/" + id + "/clips"), reviewer, R"({"start":2})").status == 400);
  CHECK(http("POST", d.api("/evidence/" + id + "/clips"), reviewer, R"({"start":"nan","end":5})").status == 400);
  CHECK(http("POST", d.api("/evidence/" + id + "/clips"), reviewer, R"({"start":20,"end":25})").status == 400);
  CHECK(http("POST", d.api("/evidence/" + id + "/clips"), officer, R"({"start":2,"end":5})").status == 403);
  // Auditors only read; and making a clip is no longer a GET.
  const std::string auditor = d.add_user("aud", "auditor");
  CHECK(http("POST", d.api("/evidence/" + id + "/clips"), auditor, R"({"start":2,"end":5})").status == 403);
  CHECK(http("GET", d.api("/evidence/" + id + "/clip?start=2&end=5"), reviewer).status == 404);

  auto r = http("POST", d.api("/evidence/" + id + "/clips"), reviewer, R"({"start":2,"end":5})");
  INFO(r.body << d.stderr_text());
  REQUIRE(r.status == 201);
  auto receipt = obj(r);
  const std::string clip_id(receipt["evidence_id"].as_string());
  CHECK(clip_id != id);
  CHECK(!receipt["timestamp_token"].as_string().empty());
  CHECK(receipt["inclusion_proof"].is_object());
  CHECK(receipt["cases"].as_array().size() == 1);  // linked to the original's case
  CHECK(r.header("location") == "/api/v1/evidence/" + clip_id);

  // The clip's bytes are what the record says, and it is media of about 3 s.
  auto content = http("GET", d.api("/evidence/" + clip_id + "/content"), reviewer);
  REQUIRE(content.status == 200);
  CHECK(sha256_hex(content.body) == receipt["sha256"].as_string());
  const json::object rec = wait_for_media(d, reviewer, clip_id);
  INFO(json::serialize(rec));
  REQUIRE(!rec.at("media").as_object().contains("error"));
  CHECK(num(rec.at("media").as_object().at("duration")) == Approx(3.0).margin(0.5));

  // Its ingest entry names the original, the range and the original's segment root.
  const auto entries = custody(d, reviewer, clip_id);
  REQUIRE(!entries.empty());
  const auto& ingest = entries.front();
  CHECK(ingest.at("action").as_string() == "ingest");
  CHECK(ingest.at("actor").as_string() == "rev");
  REQUIRE(ingest.at("detail").is_object());
  const auto& detail = ingest.at("detail").as_object();
  CHECK(detail.at("derived_from").as_string() == id);
  CHECK(num(detail.at("start")) == Approx(2.0).margin(0.5));
  CHECK(num(detail.at("end")) >= 4.5);
  CHECK(detail.contains("segments_root"));
  // And the original's custody says it was clipped, and into what.
  bool clipped = false;
  for (const auto& e : custody(d, reviewer, id)) {
    if (e.at("action").as_string() == "clip") clipped = e.at("detail").as_object().at("clip").as_string() == clip_id;
  }
  CHECK(clipped);
}

TEST_CASE("a file that is not media is still evidence and its record says why", "[daemon][media]") {
  TempDir dir;
  Daemon d(dir.path() / "data");
  const std::string data = random_bytes_string(200000, 3);
  // Through tus this time: both ingest paths lead to the media work.
  auto created = http("POST", d.api("/uploads"), d.admin_token(), data,
                      {{"Tus-Resumable", "1.0.0"},
                       {"Upload-Length", std::to_string(data.size())},
                       {"Content-Type", "application/offset+octet-stream"},
                       {"Upload-Metadata", "officer " + b64("Officer Jo") + ",device " + b64("cam-7") +
                                               ",filename " + b64("notes.mp4")}});
  REQUIRE(created.status == 201);
  std::string id = created.header("evidence-id");
  if (id.empty()) {
    auto info = http("GET", d.url() + created.header("location"), d.admin_token(), "", {{"Tus-Resumable", "1.0.0"}});
    REQUIRE(info.status == 200);
    id = std::string(obj(info)["evidence_id"].as_string());
  }
  REQUIRE(!id.empty());

  const json::object rec = wait_for_media(d, d.admin_token(), id);
  INFO(json::serialize(rec));
  const auto& media = rec.at("media").as_object();
  REQUIRE(media.contains("error"));
  CHECK(!media.at("error").as_string().empty());
  // Still served as evidence, byte for byte.
  auto content = http("GET", d.api("/evidence/" + id + "/content"), d.admin_token());
  REQUIRE(content.status == 200);
  CHECK(content.body == data);
  // No poster frame, and it says why; no clip either.
  auto thumb = http("GET", d.api("/evidence/" + id + "/thumbnail"), d.admin_token());
  CHECK(thumb.status == 404);
  CHECK(obj(thumb)["error"].as_string() == "no_thumbnail");
  CHECK(http("POST", d.api("/evidence/" + id + "/clips"), d.admin_token(), R"({"start":0,"end":1})").status == 422);
  // The probe's custody entry records the failure.
  bool probed = false;
  for (const auto& e : custody(d, d.admin_token(), id)) {
    if (e.at("action").as_string() == "media_probe") probed = !e.at("detail").as_object().at("ok").as_bool();
  }
  CHECK(probed);
}

TEST_CASE("an item left without media information by a crash is probed at the next start", "[daemon][media]") {
  TempDir dir;
  const fs::path video = make_video(dir.path());
  Daemon d(dir.path() / "data");
  const std::string id = upload(d, d.admin_token(), read_file(video), "bodycam.mp4");
  wait_for_action(d, d.admin_token(), id, "segments");
  REQUIRE(d.stop() == 0);
  {
    // As if the daemon died before the probe's transaction: no media, no poster frame.
    LmdbIndex index(Layout(dir.path() / "data"), OpenMode::read_write);
    for (const std::string kind : {"media", "thumbnail"}) {
      index.raw_del("derived", as_bytes(kind + '\0' + id));
      REQUIRE(!index.get_derived(kind, id));
    }
  }
  {
    // serve --no-media-scan leaves it alone, while new uploads still get media work.
    Daemon quiet(dir.path() / "data", {"--no-media-scan"});
    const std::string fresh = upload(quiet, quiet.admin_token(), "not media, just notes", "notes.txt");
    CHECK(wait_for_media(quiet, quiet.admin_token(), fresh).contains("media"));
    std::this_thread::sleep_for(std::chrono::seconds(1));
    auto r = http("GET", quiet.api("/evidence/" + id), quiet.admin_token());
    REQUIRE(r.status == 200);
    CHECK_FALSE(obj(r).contains("media"));
    REQUIRE(quiet.stop() == 0);
  }
  d.start();
  const json::object rec = wait_for_media(d, d.admin_token(), id);
  CHECK(num(rec.at("media").as_object().at("duration")) == Approx(10.0).margin(0.2));
  wait_for_action(d, d.admin_token(), id, "thumbnail");
  int probes = 0, segment_runs = 0;
  for (const auto& e : custody(d, d.admin_token(), id)) {
    if (e.at("action").as_string() == "media_probe") ++probes;
    if (e.at("action").as_string() == "segments") ++segment_runs;
  }
  CHECK(probes == 2);
  CHECK(segment_runs == 1);  // a step already stored is not redone
}

TEST_CASE("a one-byte change in the middle of a 10 s video is reported as a few damaged seconds", "[daemon][media]") {
  TempDir dir;
  const fs::path video = make_video(dir.path());
  const fs::path data_dir = dir.path() / "data";
  Daemon d(data_dir);
  const std::string data = read_file(video);
  const std::string id = upload(d, d.admin_token(), data, "bodycam.mp4");
  wait_for_action(d, d.admin_token(), id, "segments");

  // Flip one byte in the middle of the stored blob (blobs are 0444: make it writable).
  const std::string hex = sha256_hex(data);
  const fs::path blob = data_dir / "blobs" / "sha256" / hex.substr(0, 2) / hex;
  REQUIRE(fs::exists(blob));
  REQUIRE(::chmod(blob.c_str(), 0644) == 0);
  {
    std::fstream f(blob, std::ios::in | std::ios::out | std::ios::binary);
    REQUIRE(f);
    const auto mid = static_cast<std::streamoff>(data.size() / 2);
    f.seekg(mid);
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x01);
    f.seekp(mid);
    f.write(&c, 1);
  }
  REQUIRE(::chmod(blob.c_str(), 0444) == 0);

  auto check_report = [&id](const json::object& report) {
    INFO(json::serialize(report));
    CHECK(!report.at("ok").as_bool());
    bool found = false;
    for (const auto& pv : report.at("problems").as_array()) {
      const auto& p = pv.as_object();
      if (p.at("kind").as_string() != "content_mismatch" || p.at("evidence").as_string() != id) continue;
      found = true;
      REQUIRE(p.contains("segment"));
      const double s = num(p.at("segment").as_object().at("start"));
      const double e = num(p.at("segment").as_object().at("end"));
      CHECK(s >= 0);
      CHECK(e > s);
      CHECK(e - s < 4.0);  // a few seconds, not the whole 10 s recording
      CHECK(s <= 6.0);     // around the middle of the file
      CHECK(e >= 3.0);
    }
    CHECK(found);
    // The poster frame is a derived blob named by the item: not an orphan.
    if (report.contains("hints")) {
      for (const auto& hv : report.at("hints").as_array()) CHECK(hv.as_object().at("kind").as_string() != "blob_orphan");
    }
  };

  auto v = run_process({EVIDENCED_PATH, "verify", "--data", data_dir.string(), "--json"}, {}, {}, 300);
  INFO(v.out << v.err);
  CHECK(v.exit_code == 1);
  check_report(json::parse(v.out).as_object());

  // The daemon's own audit, where it is wired.
  auto api = http("POST", d.api("/verify"), d.admin_token(), R"({"scope":"evidence","id":")" + id + R"("})",
                  {{"Content-Type", "application/json"}});
  if (api.status == 404 && api.body.find("no such route") != std::string::npos) {
    WARN("POST /verify is not wired in this build; checked the offline audit only");
  } else {
    INFO(api.body);
    REQUIRE(api.status == 200);
    check_report(obj(api));
  }
}
