// tus 1.0.0 uploads against the real daemon: creation, chunks, checksums, offsets,
// termination, concurrency, cut-off senders and resuming after a crash.
#include <catch2/catch.hpp>
#include <atomic>
#include <thread>

#include "tests/ingest/daemon_fixture.h"
#include "tests/ingest/raw_client.h"

using namespace evidence;
using namespace evidence::test;
namespace json = boost::json;

namespace {

const Headers kTus{{"Tus-Resumable", "1.0.0"}};

Headers tus(Headers extra) {
  extra.emplace_back("Tus-Resumable", "1.0.0");
  return extra;
}

std::string metadata(const std::string& sha = {}) {
  std::string m = "officer " + b64("Officer Jo") + ",device " + b64("cam-7") + ",recorded_at " +
                  b64("2026-11-27T08:00:00Z") + ",filename " + b64("body.mp4") + ",case " + b64("汉台执罚〔2017〕第123号");
  if (!sha.empty()) m += ",sha256 " + b64(sha);
  return m;
}

// Creates an upload and returns its URL.
std::string create(const Daemon& d, const std::string& token, std::size_t length, const std::string& sha = {}) {
  auto r = http("POST", d.api("/uploads"), token, "",
                tus({{"Upload-Length", std::to_string(length)}, {"Upload-Metadata", metadata(sha)}}));
  REQUIRE(r.status == 201);
  const std::string loc = r.header("location");
  REQUIRE(loc.rfind("/api/v1/uploads/", 0) == 0);
  CHECK(r.header("tus-resumable") == "1.0.0");
  CHECK(!r.header("upload-expires").empty());
  return d.url() + loc;
}

HttpResponse patch(const std::string& url, const std::string& token, std::uint64_t offset, const std::string& chunk,
                   Headers extra = {}) {
  extra.emplace_back("Content-Type", "application/offset+octet-stream");
  extra.emplace_back("Upload-Offset", std::to_string(offset));
  return http("PATCH", url, token, chunk, tus(extra));
}

std::uint64_t head_offset(const std::string& url, const std::string& token) {
  auto r = http("HEAD", url, token, "", kTus);
  REQUIRE(r.status == 200);
  return std::stoull(r.header("upload-offset"));
}

std::string sha1_b64(const std::string& s) {
  Sha1 h;
  h.update(as_bytes(s));
  const auto d = h.finish();
  return to_base64(d);
}

std::size_t incoming_files(const Daemon& d) {
  std::size_t n = 0;
  for (auto& e : std::filesystem::directory_iterator(d.data_dir() / "incoming")) n += e.is_regular_file();
  return n;
}

}  // namespace

TEST_CASE("tus: OPTIONS advertises the protocol and its extensions", "[daemon][tus]") {
  TempDir dir;
  Daemon d(dir.path() / "data");
  auto r = http("OPTIONS", d.api("/uploads"));
  CHECK(r.status == 204);
  CHECK(r.header("tus-version") == "1.0.0");
  CHECK(r.header("tus-extension") == "creation,creation-with-upload,checksum,termination,expiration");
  CHECK(r.header("tus-checksum-algorithm") == "sha1,sha256");
  CHECK(!r.header("tus-max-size").empty());
}

TEST_CASE("tus: chunked upload with checksums, offsets and completion into evidence", "[daemon][tus]") {
  TempDir dir;
  Daemon d(dir.path() / "data");
  const std::string t = d.add_user("Officer Jo", "officer");
  const std::string data = random_bytes_string(1 << 20, 11);
  const std::string url = create(d, t, data.size(), sha256_hex(data));

  auto h = http("HEAD", url, t, "", kTus);
  CHECK(h.status == 200);
  CHECK(h.header("upload-offset") == "0");
  CHECK(h.header("upload-length") == std::to_string(data.size()));
  CHECK(h.header("cache-control") == "no-store");

  const std::string c1 = data.substr(0, 300000), c2 = data.substr(300000, 400000), c3 = data.substr(700000);
  auto p1 = patch(url, t, 0, c1, {{"Upload-Checksum", "sha256 " + sha256_b64(c1)}});
  REQUIRE(p1.status == 204);
  CHECK(p1.header("upload-offset") == "300000");
  CHECK(head_offset(url, t) == 300000);

  SECTION("a checksum mismatch answers 460 and discards the chunk") {
    auto bad = patch(url, t, 300000, c2, {{"Upload-Checksum", "sha256 " + sha256_b64("not it")}});
    CHECK(bad.status == 460);
    CHECK(head_offset(url, t) == 300000);
  }
  SECTION("a wrong offset answers 409") {
    auto bad = patch(url, t, 12, c2);
    CHECK(bad.status == 409);
    CHECK(head_offset(url, t) == 300000);
  }
  SECTION("a wrong Tus-Resumable answers 412 with Tus-Version") {
    auto bad = http("PATCH", url, t, c2,
                    {{"Tus-Resumable", "0.2.2"}, {"Content-Type", "application/offset+octet-stream"},
                     {"Upload-Offset", "300000"}});
    CHECK(bad.status == 412);
    CHECK(bad.header("tus-version") == "1.0.0");
    CHECK(head_offset(url, t) == 300000);
  }
  SECTION("a wrong content type answers 415") {
    auto bad = http("PATCH", url, t, c2,
                    tus({{"Content-Type", "application/octet-stream"}, {"Upload-Offset", "300000"}}));
    CHECK(bad.status == 415);
  }
  SECTION("a chunk past Upload-Length is refused") {
    auto bad = patch(url, t, 300000, c2 + c3 + "extra");
    CHECK(bad.status == 413);
    CHECK(head_offset(url, t) == 300000);
  }
  SECTION("another officer cannot see the upload") {
    const std::string other = d.add_user("al", "officer");
    CHECK(http("HEAD", url, other, "", kTus).status == 404);
  }

  auto p2 = patch(url, t, 300000, c2, {{"Upload-Checksum", "sha1 " + sha1_b64(c2)}});
  REQUIRE(p2.status == 204);
  CHECK(p2.header("evidence-id").empty());
  auto p3 = patch(url, t, 700000, c3);
  REQUIRE(p3.status == 204);
  const std::string id = p3.header("evidence-id");
  REQUIRE(!id.empty());
  CHECK(incoming_files(d) == 0);

  auto receipt = http("GET", url, t);
  REQUIRE(receipt.status == 200);
  CHECK(obj(receipt)["evidence_id"].as_string() == id);
  CHECK(obj(receipt)["sha256"].as_string() == sha256_hex(data));
  CHECK(obj(receipt)["cases"].as_array()[0].as_string() == "汉台执罚〔2017〕第123号");
  CHECK(http("GET", d.api("/evidence/" + id + "/content"), t).body == data);
  // No more bytes can go to a completed upload.
  CHECK(patch(url, t, data.size(), "x").status == 409);
}

TEST_CASE("tus: bad creation requests store nothing", "[daemon][tus]") {
  TempDir dir;
  Daemon d(dir.path() / "data");
  const std::string t = d.admin_token();
  CHECK(http("POST", d.api("/uploads"), t, "", tus({{"Upload-Metadata", metadata()}})).status == 400);
  CHECK(http("POST", d.api("/uploads"), t, "", tus({{"Upload-Length", "10"}, {"Upload-Metadata", "device " + b64("c")}}))
            .status == 400);
  CHECK(http("POST", d.api("/uploads"), t, "",
             tus({{"Upload-Length", "10"},
                  {"Upload-Metadata", "officer " + b64("o") + ",device " + b64("c") + ",recorded_at " + b64("soon")}}))
            .status == 400);
  CHECK(http("POST", d.api("/uploads"), t, "",
             tus({{"Upload-Length", "10"}, {"Upload-Metadata", "officer !!!,device " + b64("c")}}))
            .status == 400);
  CHECK(http("POST", d.api("/uploads"), t, "",
             {{"Tus-Resumable", "9.9.9"}, {"Upload-Length", "10"}, {"Upload-Metadata", metadata()}})
            .status == 412);
  CHECK(incoming_files(d) == 0);
  CHECK(http("HEAD", d.api("/uploads/0123456789abcdef0123456789abcdef"), t, "", kTus).status == 404);
  CHECK(patch(d.api("/uploads/0123456789abcdef0123456789abcdef"), t, 0, "abc").status == 404);
  CHECK(http("DELETE", d.api("/uploads/0123456789abcdef0123456789abcdef"), t, "", kTus).status == 404);
}

TEST_CASE("tus: creation-with-upload, termination, and a declared sha256 that does not match", "[daemon][tus]") {
  TempDir dir;
  Daemon d(dir.path() / "data");
  const std::string t = d.admin_token();
  const std::string data = random_bytes_string(50000, 5);

  auto r = http("POST", d.api("/uploads"), t, data.substr(0, 20000),
                tus({{"Upload-Length", std::to_string(data.size())},
                     {"Upload-Metadata", metadata()},
                     {"Content-Type", "application/offset+octet-stream"}}));
  REQUIRE(r.status == 201);
  CHECK(r.header("upload-offset") == "20000");
  const std::string url = d.url() + r.header("location");
  CHECK(head_offset(url, t) == 20000);

  auto del = http("DELETE", url, t, "", kTus);
  CHECK(del.status == 204);
  CHECK(http("HEAD", url, t, "", kTus).status == 404);
  CHECK(incoming_files(d) == 0);

  const std::string url2 = create(d, t, data.size(), sha256_hex("something else"));
  auto done = patch(url2, t, 0, data);
  CHECK(done.status == 400);
  CHECK(obj(done)["error"].as_string() == "digest_mismatch");
  CHECK(stored_files(d.data_dir()) == 0);
}

TEST_CASE("tus: a partial upload survives kill -9 and resumes at the durable offset", "[daemon][tus]") {
  TempDir dir;
  Daemon d(dir.path() / "data");
  const std::string t = d.add_user("Officer Jo", "officer");
  const std::string data = random_bytes_string(600000, 9);
  const std::string url = create(d, t, data.size());
  REQUIRE(patch(url, t, 0, data.substr(0, 250000)).status == 204);
  d.kill9();
  d.start();
  const std::string path = url.substr(url.find("/api/v1/"));
  const std::string url2 = d.url() + path;
  CHECK(head_offset(url2, t) == 250000);
  auto fin = patch(url2, t, 250000, data.substr(250000));
  REQUIRE(fin.status == 204);
  const std::string id = fin.header("evidence-id");
  REQUIRE(!id.empty());
  auto rec = obj(http("GET", d.api("/evidence/" + id), t));
  CHECK(rec["sha256"].as_string() == sha256_hex(data));
}

TEST_CASE("tus: a sender cut off mid-chunk keeps its durable bytes, a second PATCH meanwhile gets 423",
          "[daemon][tus]") {
  TempDir dir;
  Daemon d(dir.path() / "data", {"--body-timeout", "2"});
  const std::string t = d.admin_token();
  const std::string data = random_bytes_string(100000, 4);
  const std::string url = create(d, t, data.size());
  const std::string path = url.substr(d.url().size());

  RawConnection slow(d.url());
  slow.send("PATCH " + path + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + t +
            "\r\nTus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\n"
            "Content-Length: " + std::to_string(data.size()) + "\r\n\r\n" + data.substr(0, 30000));
  // Wait until the daemon is inside that PATCH (it counts it as an active upload).
  for (int i = 0; i < 500; ++i) {
    auto m = http("GET", d.api("/metrics"), t);
    if (m.body.find("evidence_active_uploads 1") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto second = patch(url, t, 0, data);
  CHECK(second.status == 423);
  // The stalled sender is cut off by the body timeout; what arrived is kept.
  slow.read_until_close();
  // The daemon closes the connection when the timer fires and then makes the bytes
  // durable and records the offset, so HEAD may briefly still say 0.
  std::uint64_t offset = 0;
  for (int i = 0; i < 250 && offset != 30000; ++i) {
    offset = head_offset(url, t);
    if (offset != 30000) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(offset == 30000);
  auto fin = patch(url, t, 30000, data.substr(30000));
  CHECK(fin.status == 204);
  CHECK(!fin.header("evidence-id").empty());
}

TEST_CASE("tus: expired partial uploads are swept", "[daemon][tus]") {
  TempDir dir;
  Daemon d(dir.path() / "data", {"--upload-expiry", "1"});
  const std::string t = d.admin_token();
  const std::string url = create(d, t, 1000);
  REQUIRE(patch(url, t, 0, std::string(10, 'a')).status == 204);
  long status = 200;
  for (int i = 0; i < 300 && status == 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    status = http("HEAD", url, t, "", kTus).status;
  }
  CHECK(status == 404);
  CHECK(incoming_files(d) == 0);
}

TEST_CASE("tus: an upload that makes progress is not expired, and its expiry moves forward", "[daemon][tus]") {
  TempDir dir;
  Daemon d(dir.path() / "data", {"--upload-expiry", "3"});
  const std::string t = d.admin_token();
  const std::string url = create(d, t, 1000);
  auto first = patch(url, t, 0, std::string(10, 'a'));
  REQUIRE(first.status == 204);
  const std::string expires_first = first.header("upload-expires");
  // Ten seconds of PATCHes, each under the 3 s expiry after the one before: the
  // upload outlives its first expiry by far.
  std::string expires_last;
  for (int i = 1; i <= 10; ++i) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    auto r = patch(url, t, 10 * static_cast<std::uint64_t>(i), std::string(10, 'a'));
    REQUIRE(r.status == 204);
    expires_last = r.header("upload-expires");
  }
  CHECK(expires_last != expires_first);
  CHECK(head_offset(url, t) == 110);
  // Left alone, it goes.
  long status = 200;
  for (int i = 0; i < 200 && status == 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    status = http("HEAD", url, t, "", kTus).status;
  }
  CHECK(status == 404);
  CHECK(d.stop() == 0);
}

namespace {

// How many items of `officer Jo`'s hold these bytes.
std::size_t items_with(const Daemon& d, const std::string& sha) {
  auto r = http("GET", d.api("/search?officer=" + pct("Officer Jo") + "&limit=1000"), d.admin_token());
  REQUIRE(r.status == 200);
  const json::object body = obj(r);
  std::size_t n = 0;
  for (const auto& item : body.at("items").as_array()) n += item.as_object().at("sha256").as_string() == sha;
  return n;
}

}  // namespace

TEST_CASE("tus: HEADs racing the completing PATCH leave exactly one item", "[daemon][tus]") {
  TempDir dir;
  Daemon d(dir.path() / "data");
  const std::string t = d.admin_token();
  for (int round = 0; round < 5; ++round) {
    INFO("round " << round);
    const std::string data = random_bytes_string((4u << 20) + static_cast<unsigned>(round), 40 + round);
    const std::string url = create(d, t, data.size());
    std::atomic<bool> stop{false};
    std::vector<std::thread> heads;
    for (int i = 0; i < 4; ++i) {
      heads.emplace_back([&] {
        while (!stop) (void)http("HEAD", url, t, "", kTus);
      });
    }
    auto r = patch(url, t, 0, data);
    stop = true;
    for (auto& h : heads) h.join();
    REQUIRE(r.status == 204);
    CHECK(!r.header("evidence-id").empty());
    auto h = http("HEAD", url, t, "", kTus);
    CHECK(h.header("evidence-id") == r.header("evidence-id"));
    CHECK(items_with(d, sha256_hex(data)) == 1);
  }
  CHECK(d.stop() == 0);
}

TEST_CASE("tus: a crash just after the completing commit leaves one item, which HEAD then names",
          "[daemon][tus][crash]") {
  TempDir dir;
  const std::string data = random_bytes_string(300000, 77);
  std::string url;
  {
    ::setenv("EVIDENCE_FAULT", "tus_after_commit", 1);
    Daemon d(dir.path() / "data");
    ::unsetenv("EVIDENCE_FAULT");
    url = create(d, d.admin_token(), data.size());
    try {
      (void)patch(url, d.admin_token(), 0, data);  // the daemon dies before it answers
    } catch (const std::exception&) {
    }
    d.kill9();
  }
  Daemon d(dir.path() / "data");
  url = d.url() + url.substr(url.find("/api/v1/"));
  auto h = http("HEAD", url, d.admin_token(), "", kTus);
  REQUIRE(h.status == 200);
  CHECK(h.header("upload-offset") == std::to_string(data.size()));
  CHECK(!h.header("evidence-id").empty());
  CHECK(http("HEAD", url, d.admin_token(), "", kTus).header("evidence-id") == h.header("evidence-id"));
  CHECK(items_with(d, sha256_hex(data)) == 1);
  CHECK(run_process({EVIDENCED_PATH, "verify", "--data", d.data_dir().string()}).exit_code == 0);
  CHECK(d.stop() == 0);
}
