// The daemon with its blobs in S3 (Object Lock), end to end: `evidenced serve --blobs
// s3://BUCKET --s3-endpoint URL`, uploads, reads, verify, export, legal hold, and a
// forged version under an evidence key. Needs EVIDENCE_S3_ENDPOINT, AWS_ACCESS_KEY_ID
// and AWS_SECRET_ACCESS_KEY (scripts/ceph/run-s3-tests.sh sets them); without them
// every case here prints a WARN and passes without checking anything.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>

#include "base/timefmt.h"
#include "store/s3/open_blob_store.h"
#include "store/s3/s3_blob_store.h"
#include "store/layout.h"
#include "store/lmdb/lmdb_index.h"
#include "tests/ingest/daemon_fixture.h"
#include "verify/bundle.h"

using namespace evidence;
using namespace evidence::test;
namespace json = boost::json;

namespace {

bool have_endpoint() {
  const char* e = std::getenv("EVIDENCE_S3_ENDPOINT");
  if (e && *e) return true;
  WARN("EVIDENCE_S3_ENDPOINT is not set: S3 daemon test skipped (scripts/ceph/run-s3-tests.sh runs it)");
  SUCCEED("skipped: no S3 endpoint");
  return false;
}

std::string region() {
  const char* r = std::getenv("EVIDENCE_S3_REGION");
  return r && *r ? r : "us-east-1";
}

// A fresh bucket per case: locked objects can never be removed.
std::vector<std::string> s3_args(const std::string& bucket) {
  return {"--blobs", "s3://" + bucket, "--s3-endpoint", std::getenv("EVIDENCE_S3_ENDPOINT"), "--s3-region", region(),
          "--retention-days", "1"};
}

std::string fresh_bucket() { return "evidence-daemon-" + to_hex(random_bytes(6)); }

// A second handle on the bucket, as someone holding the store's keys.
std::unique_ptr<s3::S3BlobStore> store_for(const std::string& bucket, const std::filesystem::path& spool) {
  s3::S3Options o;
  o.endpoint = std::getenv("EVIDENCE_S3_ENDPOINT");
  o.region = region();
  s3::load_s3_credentials(o);
  o.bucket = bucket;
  o.create_bucket = false;
  o.spool_dir = spool;
  o.max_attempts = 2;
  return std::make_unique<s3::S3BlobStore>(o);
}

s3::Response raw(s3::S3BlobStore& store, const std::string& method, const std::string& key,
                 s3::Params query = {}, const std::string& body = {}) {
  s3::Request r;
  r.method = method;
  r.path = "/" + store.options().bucket + "/" + key;
  r.query = std::move(query);
  r.body = as_bytes(body);
  return store.client().send(r);
}

std::string upload_url(const Daemon& d, const std::string& c) {
  return d.api("/evidence?officer=" + pct("Officer Jo") + "&device=cam-7&recorded_at=" + pct("2026-11-27T10:00:00Z") +
               "&filename=clip.mp4&case=" + pct(c));
}

std::string tus_upload(const Daemon& d, const std::string& data, const std::string& c) {
  const Headers create{{"Tus-Resumable", "1.0.0"},
                       {"Upload-Length", std::to_string(data.size())},
                       {"Upload-Metadata", "officer " + b64("Officer Jo") + ",device " + b64("cam-7") +
                                               ",recorded_at " + b64("2026-11-27T08:00:00Z") + ",filename " +
                                               b64("body.mp4") + ",case " + b64(c)}};
  auto r = http("POST", d.api("/uploads"), d.admin_token(), "", create);
  REQUIRE(r.status == 201);
  const std::string url = d.url() + r.header("location");
  const std::size_t half = data.size() / 2;
  auto p1 = http("PATCH", url, d.admin_token(), data.substr(0, half),
                 {{"Tus-Resumable", "1.0.0"}, {"Content-Type", "application/offset+octet-stream"}, {"Upload-Offset", "0"}});
  REQUIRE(p1.status == 204);
  auto p2 = http("PATCH", url, d.admin_token(), data.substr(half),
                 {{"Tus-Resumable", "1.0.0"},
                  {"Content-Type", "application/offset+octet-stream"},
                  {"Upload-Offset", std::to_string(half)}});
  REQUIRE(p2.status == 204);
  REQUIRE(!p2.header("evidence-id").empty());
  return p2.header("evidence-id");
}

ProcResult verify_json(const std::filesystem::path& data) {
  return run_process({EVIDENCED_PATH, "verify", "--data", data.string(), "--json"}, {}, {}, 300);
}

bool has_problem(const ProcResult& r, const std::string& kind) {
  auto v = json::parse(r.out).as_object();
  for (auto& p : v["problems"].as_array()) {
    if (p.as_object().at("kind").as_string() == kind) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("s3 daemon: uploads land in the bucket by version, read back by range, verify and export", "[s3][daemon]") {
  if (!have_endpoint()) return;
  TempDir dir;
  const auto data_dir = dir.path() / "data";
  const std::string bucket = fresh_bucket();
  Daemon d(data_dir, s3_args(bucket));

  const std::string one = random_bytes_string(300000, 11);
  auto r = http("POST", upload_url(d, "S3-1"), d.admin_token(), one,
                {{"Content-Digest", "sha-256=:" + sha256_b64(one) + ":"}});
  REQUIRE(r.status == 201);
  const std::string id1(obj(r)["evidence_id"].as_string());
  const std::string two = random_bytes_string(200001, 12);
  const std::string id2 = tus_upload(d, two, "S3-1");

  // The backend is recorded (no secrets) and nothing is kept in the local blob folder.
  const Layout layout(data_dir);
  auto cfg = read_blob_config(layout);
  REQUIRE(cfg);
  CHECK(cfg->backend == "s3");
  CHECK(cfg->bucket == bucket);
  CHECK(read_file(layout.blob_config()).find("secret") == std::string::npos);
  for (const auto* content : {&one, &two}) {
    CHECK_FALSE(std::filesystem::exists(layout.blob_path(*ContentId::from_hex(sha256_hex(*content)))));
  }

  // Records name their object version; that version is in the bucket.
  auto store = store_for(bucket, dir.path());
  for (const auto& [id, content] : {std::pair{id1, one}, std::pair{id2, two}}) {
    auto rec = obj(http("GET", d.api("/evidence/" + id), d.admin_token()));
    REQUIRE(rec.contains("blob_version"));
    const std::string version(rec["blob_version"].as_string());
    CHECK(!version.empty());
    const auto cid = *ContentId::from_hex(sha256_hex(content));
    auto vs = store->versions(cid);
    REQUIRE(vs.size() == 1);
    CHECK(vs[0].version == version);
    CHECK(store->retention(cid, version).mode == "COMPLIANCE");

    auto all = http("GET", d.api("/evidence/" + id + "/content"), d.admin_token());
    REQUIRE(all.status == 200);
    CHECK(all.body == content);
    auto part = http("GET", d.api("/evidence/" + id + "/content"), d.admin_token(), "", {{"Range", "bytes=1000-70999"}});
    REQUIRE(part.status == 206);
    CHECK(part.body == content.substr(1000, 70000));
    auto tail = http("GET", d.api("/evidence/" + id + "/content"), d.admin_token(), "", {{"Range", "bytes=-17"}});
    REQUIRE(tail.status == 206);
    CHECK(tail.body == content.substr(content.size() - 17));
  }

  // The same bytes again: deduplicated onto the same version.
  auto again = http("POST", upload_url(d, "S3-2"), d.admin_token(), one);
  REQUIRE(again.status == 201);
  auto rec1 = obj(http("GET", d.api("/evidence/" + id1), d.admin_token()));
  auto rec3 = obj(http("GET", d.api("/evidence/" + std::string(obj(again)["evidence_id"].as_string())), d.admin_token()));
  CHECK(rec3["blob_version"] == rec1["blob_version"]);

  // evidenced verify reads DIR/blobs.json and re-hashes from the bucket.
  auto v = verify_json(data_dir);
  INFO(v.out << v.err);
  CHECK(v.exit_code == 0);
  CHECK(json::parse(v.out).as_object()["checked"].to_number<int>() == 3);
  CHECK(json::parse(v.out).as_object()["bytes_hashed"].to_number<std::uint64_t>() == one.size() + two.size());

  // A case export read from the bucket verifies.
  const auto bundle = dir.path() / "case.tar";
  auto exp = http("GET", d.api("/cases/" + pct("S3-1") + "/export"), d.admin_token());
  if (exp.status == 200 && exp.header("content-type").rfind("application/json", 0) != 0) {
    std::ofstream(bundle, std::ios::binary) << exp.body;
  } else {
    // No export route in this daemon: the same bundle writer over the same backend.
    const LmdbIndex index(layout, OpenMode::read_only);
    auto blobs = open_data_blob_store(layout);
    std::ofstream out(bundle, std::ios::binary);
    write_bundle(index, *blobs, layout, "S3-1", [&out](std::span<const std::uint8_t> b) {
      out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    });
  }
  auto report = verify_bundle(bundle, std::nullopt);
  INFO(json::serialize(report.to_json()));
  CHECK(report.ok);
  CHECK(report.items == 2);

  // A restart without --blobs keeps using the recorded bucket.
  d.stop();
  Daemon again_d(data_dir);
  auto after = http("GET", again_d.api("/evidence/" + id2 + "/content"), again_d.admin_token());
  CHECK(after.status == 200);
  CHECK(after.body == two);
  // Another bucket for the same instance is refused.
  again_d.stop();
  auto other = run_process({EVIDENCED_PATH, "serve", "--data", data_dir.string(), "--listen", "127.0.0.1:0", "--blobs",
                            "s3://" + fresh_bucket(), "--s3-endpoint", std::getenv("EVIDENCE_S3_ENDPOINT")},
                           {}, {}, 60);
  CHECK(other.exit_code != 0);
  CHECK(other.err.find(bucket) != std::string::npos);
}

TEST_CASE("s3 daemon: a forged version under an evidence key is never served and verify reports it, "
          "locked versions cannot be deleted", "[s3][daemon]") {
  if (!have_endpoint()) return;
  TempDir dir;
  const auto data_dir = dir.path() / "data";
  const std::string bucket = fresh_bucket();
  Daemon d(data_dir, s3_args(bucket));
  const std::string original = random_bytes_string(120000, 21);
  auto r = http("POST", upload_url(d, "S3-F"), d.admin_token(), original);
  REQUIRE(r.status == 201);
  const std::string id(obj(r)["evidence_id"].as_string());
  const std::string version(obj(http("GET", d.api("/evidence/" + id), d.admin_token()))["blob_version"].as_string());
  const auto cid = *ContentId::from_hex(sha256_hex(original));
  const std::string key = s3::s3_key(cid);
  auto store = store_for(bucket, dir.path());

  // The store refuses to delete the recorded version (Object Lock, compliance mode).
  auto del = raw(*store, "DELETE", key, {{"versionId", version}});
  CHECK(!del.ok());
  CHECK(store->versions(cid).size() == 1);

  // Someone holding the keys writes a newer version under the evidence key.
  const std::string forged = random_bytes_string(120000, 22);
  REQUIRE(raw(*store, "PUT", key, {}, forged).ok());
  REQUIRE(store->versions(cid).size() == 2);

  auto content = http("GET", d.api("/evidence/" + id + "/content"), d.admin_token());
  REQUIRE(content.status == 200);
  CHECK(content.body == original);
  auto part = http("GET", d.api("/evidence/" + id + "/content"), d.admin_token(), "", {{"Range", "bytes=500-999"}});
  CHECK(part.body == original.substr(500, 500));

  auto v = verify_json(data_dir);
  INFO(v.out << v.err);
  CHECK(v.exit_code == 1);
  CHECK(has_problem(v, "extra_version"));
  CHECK(!has_problem(v, "content_mismatch"));
  auto human = run_process({EVIDENCED_PATH, "verify", "--data", data_dir.string()}, {}, {}, 300);
  CHECK(human.exit_code == 1);
  CHECK(human.out.find("extra_version") != std::string::npos);
}

TEST_CASE("s3 daemon: legal hold is set and cleared on the record's object version", "[s3][daemon][hold]") {
  if (!have_endpoint()) return;
  TempDir dir;
  const auto data_dir = dir.path() / "data";
  const std::string bucket = fresh_bucket();
  Daemon d(data_dir, s3_args(bucket));
  const std::string data = random_bytes_string(50000, 31);
  auto r = http("POST", upload_url(d, "S3-H"), d.admin_token(), data);
  REQUIRE(r.status == 201);
  const std::string id(obj(r)["evidence_id"].as_string());
  const std::string version(obj(http("GET", d.api("/evidence/" + id), d.admin_token()))["blob_version"].as_string());
  const auto cid = *ContentId::from_hex(sha256_hex(data));
  auto store = store_for(bucket, dir.path());
  CHECK_FALSE(store->retention(cid, version).legal_hold);

  const std::string officer = d.add_user("jo", "officer");
  CHECK(http("POST", d.api("/evidence/" + id + "/hold"), officer).status == 403);
  CHECK_FALSE(store->retention(cid, version).legal_hold);

  REQUIRE(http("POST", d.api("/evidence/" + id + "/hold?reason=" + pct("court order 7")), d.admin_token()).status == 200);
  CHECK(store->retention(cid, version).legal_hold);
  CHECK(obj(http("GET", d.api("/evidence/" + id), d.admin_token()))["legal_hold"] == true);

  REQUIRE(http("DELETE", d.api("/evidence/" + id + "/hold"), d.admin_token()).status == 200);
  CHECK_FALSE(store->retention(cid, version).legal_hold);
  CHECK_FALSE(obj(http("GET", d.api("/evidence/" + id), d.admin_token())).contains("legal_hold"));
}

namespace {

// Seconds between two RFC 3339 times (b - a).
double seconds_between(const std::string& a, const std::string& b) {
  const auto pa = parse_rfc3339(a), pb = parse_rfc3339(b);
  REQUIRE(pa);
  REQUIRE(pb);
  return static_cast<double>(to_unix_us(*pb) - to_unix_us(*pa)) / 1e6;
}

std::string lifecycle_upload(const Daemon& d, const std::string& data, const std::string& category) {
  auto r = http("POST",
                d.api("/evidence?officer=" + pct("Officer Jo") + "&device=cam-7&filename=a.mp4&category=" + category),
                d.admin_token(), data);
  INFO(r.body);
  REQUIRE(r.status == 201);
  return std::string(obj(r)["evidence_id"].as_string());
}

std::string tus_upload_category(const Daemon& d, const std::string& data, const std::string& category) {
  const Headers create{{"Tus-Resumable", "1.0.0"},
                       {"Upload-Length", std::to_string(data.size())},
                       {"Upload-Metadata", "officer " + b64("Officer Jo") + ",device " + b64("cam-7") + ",filename " +
                                               b64("body.mp4") + ",category " + b64(category)}};
  auto r = http("POST", d.api("/uploads"), d.admin_token(), "", create);
  REQUIRE(r.status == 201);
  auto p = http("PATCH", d.url() + r.header("location"), d.admin_token(), data,
                {{"Tus-Resumable", "1.0.0"}, {"Content-Type", "application/offset+octet-stream"}, {"Upload-Offset", "0"}});
  REQUIRE(p.status == 204);
  REQUIRE(!p.header("evidence-id").empty());
  return p.header("evidence-id");
}

json::object record_of(const Daemon& d, const std::string& id) {
  auto r = http("GET", d.api("/evidence/" + id), d.admin_token());
  REQUIRE(r.status == 200);
  return obj(r);
}

}  // namespace

TEST_CASE("s3 daemon: objects are locked until their category's retain_until, raised by a case link, never shortened",
          "[s3][daemon][lifecycle]") {
  if (!have_endpoint()) return;
  TempDir dir;
  const std::string bucket = fresh_bucket();
  auto args = s3_args(bucket);  // --retention-days 1: the long default, for permanent items
  args.insert(args.end(), {"--min-retention-days", "0"});
  Daemon d(dir.path() / "data", args);
  const Headers js{{"Content-Type", "application/json"}};
  REQUIRE(http("PUT", d.api("/retention/categories/short"), d.admin_token(), R"({"days": 2})", js).status == 200);
  REQUIRE(http("PUT", d.api("/retention/categories/brief"), d.admin_token(), R"({"days": 0})", js).status == 200);
  auto store = store_for(bucket, dir.path() / "spool");

  // One-shot and tus: the object's date is the record's retain_until (to the second,
  // rounded up), not the backend's default of one day.
  std::vector<std::pair<std::string, std::string>> shorts;  // id, bytes
  auto lock_matches_record = [&](const std::string& id, const std::string& bytes) {
    auto rec = record_of(d, id);
    const std::string until(rec.at("retention").at("retain_until").as_string());
    const auto lock = store->retention(*ContentId::from_hex(sha256_hex(bytes)), std::string(rec.at("blob_version").as_string()));
    INFO(lock.retain_until << " vs " << until);
    CHECK(lock.mode == "COMPLIANCE");
    const double diff = seconds_between(until, lock.retain_until);
    CHECK(diff >= 0);
    CHECK(diff <= 1);
    return lock.retain_until;
  };
  for (const std::string via : {"one-shot", "tus"}) {
    INFO(via);
    const std::string bytes = random_bytes_string(4000, via == "tus" ? 31 : 32);
    const std::string id = via == "tus" ? tus_upload_category(d, bytes, "short") : lifecycle_upload(d, bytes, "short");
    lock_matches_record(id, bytes);
    shorts.emplace_back(id, bytes);
  }
  // The category kept longer: the items already in it are locked to their new date;
  // kept shorter again: their locks stay where they are.
  REQUIRE(http("PUT", d.api("/retention/categories/short"), d.admin_token(), R"({"days": 5})", js).status == 200);
  std::vector<std::string> five;
  for (const auto& [id, bytes] : shorts) five.push_back(lock_matches_record(id, bytes));
  REQUIRE(http("PUT", d.api("/retention/categories/short"), d.admin_token(), R"({"days": 2})", js).status == 200);
  for (std::size_t i = 0; i < shorts.size(); ++i) {
    const auto& [id, bytes] = shorts[i];
    const std::string version(record_of(d, id).at("blob_version").as_string());
    CHECK(store->retention(*ContentId::from_hex(sha256_hex(bytes)), version).retain_until == five[i]);
  }

  // A 0-day item is locked a minute ahead; linking it to a case (evidence: permanent)
  // raises the lock to the long default; a shorter category later never lowers it.
  const std::string bytes = random_bytes_string(3000, 33);
  const std::string id = lifecycle_upload(d, bytes, "brief");
  const ContentId cid = *ContentId::from_hex(sha256_hex(bytes));
  const std::string version(record_of(d, id).at("blob_version").as_string());
  const std::string now = format_rfc3339(now_us());
  const double ahead = seconds_between(now, store->retention(cid, version).retain_until);
  CHECK(ahead > 30);
  CHECK(ahead < 120);
  auto link = http("POST", d.api("/evidence/" + id + "/cases"), d.admin_token(), R"({"case": "S3-L1"})", js);
  INFO(link.body);
  REQUIRE(link.status == 201);
  const std::string raised = store->retention(cid, version).retain_until;
  CHECK(seconds_between(now, raised) > 23 * 3600);
  REQUIRE(http("DELETE", d.api("/evidence/" + id + "/cases/S3-L1"), d.admin_token()).status == 200);
  REQUIRE(http("PUT", d.api("/evidence/" + id + "/retention"), d.admin_token(), R"({"category": "brief"})", js).status == 200);
  CHECK(store->retention(cid, version).retain_until == raised);
}

TEST_CASE("s3 daemon: a disposal does not delete an object before its lock date, and reports it locked",
          "[s3][daemon][lifecycle]") {
  if (!have_endpoint()) return;
  TempDir dir;
  const std::string bucket = fresh_bucket();
  auto args = s3_args(bucket);
  args.insert(args.end(), {"--min-retention-days", "0"});
  const auto data_dir = dir.path() / "data";
  Daemon d(data_dir, args);
  const Headers js{{"Content-Type", "application/json"}};
  const std::string second = d.add_user("ada", "admin");
  REQUIRE(http("PUT", d.api("/retention/categories/brief"), d.admin_token(), R"({"days": 0})", js).status == 200);
  auto store = store_for(bucket, dir.path() / "spool");

  const std::string bytes = random_bytes_string(3000, 34);
  const std::string id = lifecycle_upload(d, bytes, "brief");  // due at once, locked a minute ahead
  const ContentId cid = *ContentId::from_hex(sha256_hex(bytes));
  auto req = http("POST", d.api("/dispositions"), d.admin_token(), R"({"items": [")" + id + R"("], "reason": "over"})", js);
  INFO(req.body);
  REQUIRE(req.status == 201);
  auto done = http("POST", d.api("/dispositions/" + std::string(obj(req).at("id").as_string()) + "/approve"), second);
  INFO(done.body);
  REQUIRE(done.status == 200);
  CHECK(obj(done).at("blobs").at("locked") == 1);
  CHECK(obj(done).at("blobs").at("removed") == 0);
  CHECK(http("GET", d.api("/evidence/" + id + "/content"), d.admin_token()).status == 410);
  // The object and its lock are still there: the store refuses, and a reap leaves it.
  CHECK(store->exists(cid));
  const auto again = store->remove(cid);
  CHECK(again.outcome == BlobRemoval::Outcome::locked);
  CHECK(seconds_between(format_rfc3339(now_us()), again.locked_until) > 0);
  CHECK(store->exists(cid));
  d.stop();
  const auto v = verify_json(data_dir);
  INFO(v.out << v.err);
  CHECK(v.exit_code == 0);
}
