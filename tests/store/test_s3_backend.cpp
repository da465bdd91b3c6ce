// The S3 blob backend against a real S3 endpoint with Object Lock (Ceph's RADOS
// Gateway in CI: scripts/ceph/run-s3-tests.sh starts one and sets the environment).
// Needs EVIDENCE_S3_ENDPOINT, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; without
// them every case here says so and passes without checking anything.
// Each case uses a fresh bucket: locked objects can never be removed, so cases must not
// see each other's objects.
#include <catch2/catch.hpp>
#include <openssl/evp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "store/s3/s3_blob_store.h"
#include "store/s3/s3_client.h"
#include "base/codec.h"
#include "base/error.h"
#include "base/timefmt.h"
#include "tests/tempdir.h"

using namespace evidence;
using namespace evidence::s3;

namespace {

bool have_endpoint() {
  const char* e = std::getenv("EVIDENCE_S3_ENDPOINT");
  if (e && *e) return true;
  WARN("EVIDENCE_S3_ENDPOINT is not set: S3 backend test skipped (scripts/ceph/run-s3-tests.sh runs it)");
  SUCCEED("skipped: no S3 endpoint");
  return false;
}

std::string fresh_bucket_name() {
  return "evidence-test-" + to_hex(random_bytes(6));
}

S3Options options_for(const std::string& bucket, const std::filesystem::path& spool) {
  S3Options o;
  o.endpoint = std::getenv("EVIDENCE_S3_ENDPOINT");
  if (const char* r = std::getenv("EVIDENCE_S3_REGION")) o.region = r;
  load_s3_credentials(o);
  o.bucket = bucket;
  o.retention_days = 1;
  o.part_size = 5u << 20;  // the smallest S3 allows, so a few MiB make a multipart upload
  o.read_window = 1u << 20;
  o.spool_dir = spool;
  o.max_attempts = 3;
  return o;
}

Bytes pattern(std::size_t n, std::uint64_t seed) {
  Bytes b(n);
  std::mt19937_64 rng(seed);
  for (std::size_t i = 0; i < n; i += 8) {
    auto v = rng();
    for (std::size_t j = 0; j < 8 && i + j < n; ++j) b[i + j] = static_cast<std::uint8_t>(v >> (8 * j));
  }
  return b;
}

BlobInfo write_blob(BlobStore& store, const Bytes& data, std::size_t chunk = 300000) {
  auto w = store.begin_write();
  for (std::size_t off = 0; off < data.size(); off += chunk)
    w->write(std::span<const std::uint8_t>(data).subspan(off, std::min(chunk, data.size() - off)));
  return w->commit();
}

Bytes read_all(BlobReader& r) {
  Bytes out(static_cast<std::size_t>(r.size()));
  std::size_t done = 0;
  while (done < out.size()) {
    // Odd-sized reads cross the read-ahead window's edges.
    auto n = r.read_at(done, std::span<std::uint8_t>(out).subspan(done, std::min<std::size_t>(777777, out.size() - done)));
    REQUIRE(n > 0);
    done += n;
  }
  return out;
}

s3::Response raw(S3BlobStore& store, const std::string& method, const std::string& key, s3::Params query = {},
                 s3::Params headers = {}, const Bytes& body = {}) {
  s3::Request r;
  r.method = method;
  r.path = "/" + store.options().bucket + (key.empty() ? "" : "/" + key);
  r.query = std::move(query);
  r.headers = std::move(headers);
  r.body = body;
  return store.client().send(r);
}

// Keys of the bucket's unfinished multipart uploads (ListMultipartUploads).
std::vector<std::string> open_uploads(S3BlobStore& store) {
  auto r = raw(store, "GET", "", {{"uploads", ""}});
  REQUIRE(r.ok());
  std::vector<std::string> keys;
  for (std::size_t at = 0; (at = r.body.find("<Key>", at)) != std::string::npos;) {
    at += 5;
    keys.push_back(r.body.substr(at, r.body.find("</Key>", at) - at));
  }
  return keys;
}

// Every version and delete marker under staging/ (ListObjectVersions): a writer must
// remove its staging object for good, not hide it behind a delete marker.
std::size_t staging_versions(S3BlobStore& store) {
  auto r = raw(store, "GET", "", {{"versions", ""}, {"prefix", std::string(kStagingPrefix)}});
  REQUIRE(r.ok());
  std::size_t n = 0;
  for (std::size_t at = 0; (at = r.body.find("<Key>", at)) != std::string::npos; at += 5) ++n;
  return n;
}

void write_in_pieces(BlobWriter& w, const Bytes& data, std::size_t from, std::size_t to, std::size_t chunk = 1u << 20) {
  for (std::size_t off = from; off < to; off += chunk)
    w.write(std::span<const std::uint8_t>(data).subspan(off, std::min(chunk, to - off)));
}

}  // namespace

TEST_CASE("s3 backend: a blob written in parts reads back whole and by range", "[s3][backend]") {
  if (!have_endpoint()) return;
  test::TempDir dir;
  S3BlobStore store(options_for(fresh_bucket_name(), dir.path()));
  REQUIRE(store.locked());

  Bytes big = pattern((23u << 20) + 12345, 1);  // 5 parts of 5 MiB, the last one short
  auto info = write_blob(store, big);
  CHECK(info.id == Sha256::of(big));
  CHECK(info.size == big.size());
  CHECK_FALSE(info.existed);
  CHECK_FALSE(info.version.empty());

  auto ret = store.retention(info.id, info.version);
  CHECK(ret.mode == "COMPLIANCE");
  CHECK_FALSE(ret.retain_until.empty());

  auto reader = store.open(info.id, info.version);
  REQUIRE(reader->size() == big.size());
  CHECK(read_all(*reader) == big);
  // Seeking: reads at scattered offsets, across part and window boundaries.
  for (std::uint64_t off : {std::uint64_t{0}, std::uint64_t{(5u << 20) - 3}, std::uint64_t{123457},
                            std::uint64_t{big.size() - 10}}) {
    Bytes got(4096);
    auto n = reader->read_at(off, got);
    auto expect = std::min<std::size_t>(got.size(), big.size() - off);
    REQUIRE(n == expect);
    CHECK(std::equal(got.begin(), got.begin() + n, big.begin() + static_cast<std::ptrdiff_t>(off)));
  }
  Bytes past(10);
  CHECK(reader->read_at(big.size(), past) == 0);

  Bytes small = pattern(1000, 2);
  auto sinfo = write_blob(store, small);
  CHECK(sinfo.size == 1000);
  CHECK(read_all(*store.open(sinfo.id, sinfo.version)) == small);
  auto empty = write_blob(store, {});
  CHECK(empty.size == 0);
  CHECK(store.open(empty.id, empty.version)->size() == 0);

  CHECK(store.exists(info.id));
  CHECK_FALSE(store.exists(Sha256::of(std::string_view("never stored"))));
  CHECK_THROWS_AS(store.open(Sha256::of(std::string_view("never stored"))), Error);

  std::map<std::string, std::uint64_t> listed;
  store.for_each([&](const ContentId& id, std::uint64_t size) { listed[id.hex()] = size; });
  CHECK(listed.size() == 3);
  CHECK(listed[info.id.hex()] == big.size());
  CHECK(std::filesystem::is_empty(dir.path()));  // spool files are gone
}

TEST_CASE("s3 backend: the same content is stored once", "[s3][backend]") {
  if (!have_endpoint()) return;
  test::TempDir dir;
  S3BlobStore store(options_for(fresh_bucket_name(), dir.path()));
  Bytes data = pattern((6u << 20) + 1, 3);
  auto first = write_blob(store, data);
  auto second = write_blob(store, data);
  CHECK_FALSE(first.existed);
  CHECK(second.existed);
  CHECK(second.version == first.version);

  // adopt_file: a finished upload's file, already hashed by the caller.
  auto file = dir.path() / "upload.bin";
  std::ofstream(file, std::ios::binary).write(reinterpret_cast<const char*>(data.data()),
                                              static_cast<std::streamsize>(data.size()));
  auto adopted = store.adopt_file(file, first.id);
  CHECK(adopted.existed);
  CHECK(adopted.version == first.version);
  CHECK_FALSE(std::filesystem::exists(file));
  CHECK(store.versions(first.id).size() == 1);
}

TEST_CASE("s3 backend: adopt_file and commit refuse bytes that do not match the declared hash", "[s3][backend]") {
  if (!have_endpoint()) return;
  test::TempDir dir;
  S3BlobStore store(options_for(fresh_bucket_name(), dir.path()));
  Bytes data = pattern(5000, 4);
  auto wrong = Sha256::of(std::string_view("something else"));
  auto file = dir.path() / "upload.bin";
  std::ofstream(file, std::ios::binary).write(reinterpret_cast<const char*>(data.data()),
                                              static_cast<std::streamsize>(data.size()));
  try {
    store.adopt_file(file, wrong);
    FAIL("adopt_file accepted a wrong hash");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::digest_mismatch);
  }
  CHECK(std::filesystem::exists(file));
  auto w = store.begin_write();
  w->write(data);
  CHECK_THROWS_AS(w->commit(wrong), Error);
  CHECK_FALSE(store.exists(Sha256::of(data)));
  CHECK_FALSE(store.exists(wrong));
}

TEST_CASE("s3 backend: the store refuses to delete a locked version", "[s3][backend]") {
  if (!have_endpoint()) return;
  test::TempDir dir;
  S3BlobStore store(options_for(fresh_bucket_name(), dir.path()));
  Bytes data = pattern(4000, 5);
  auto info = write_blob(store, data);
  auto key = s3_key(info.id);

  auto del = raw(store, "DELETE", key, {{"versionId", info.version}});
  CHECK(del.status == 403);
  auto bypass = raw(store, "DELETE", key, {{"versionId", info.version}}, {{"x-amz-bypass-governance-retention", "true"}});
  CHECK(bypass.status == 403);
  // Shortening the retention is refused too.
  std::string shorter =
      "<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Mode>COMPLIANCE</Mode>"
      "<RetainUntilDate>" + retain_until(std::chrono::system_clock::now() + std::chrono::hours(1), 0) +
      "</RetainUntilDate></Retention>";
  Bytes body(shorter.begin(), shorter.end());
  std::array<std::uint8_t, 16> md5{};
  unsigned md5_len = 0;
  REQUIRE(EVP_Digest(body.data(), body.size(), md5.data(), &md5_len, EVP_md5(), nullptr) == 1);
  auto shorten = raw(store, "PUT", key, {{"retention", ""}, {"versionId", info.version}},
                     {{"Content-MD5", to_base64(md5)}}, body);
  INFO(s3::describe_error(shorten));
  CHECK(shorten.status == 403);

  // A plain DELETE only hides the key behind a delete marker; the version stays.
  auto plain = raw(store, "DELETE", key);
  CHECK(plain.ok());
  CHECK_FALSE(store.exists(info.id));
  CHECK(read_all(*store.open(info.id, info.version)) == data);
  auto vs = store.versions(info.id);
  REQUIRE(vs.size() == 2);
  CHECK(vs[0].delete_marker);
  CHECK(vs[1].version == info.version);
  // Storing the content again finds the hidden locked version: no second copy.
  auto again = write_blob(store, data);
  CHECK(again.existed);
  CHECK(again.version == info.version);
}

TEST_CASE("s3 backend: a newer version under an evidence key never replaces the evidence", "[s3][backend]") {
  if (!have_endpoint()) return;
  test::TempDir dir;
  S3BlobStore store(options_for(fresh_bucket_name(), dir.path()));
  Bytes original = pattern(70000, 6);
  auto info = write_blob(store, original);

  // Someone holding the store's keys writes other bytes under the same key.
  Bytes forged = pattern(70000, 7);
  auto put = raw(store, "PUT", s3_key(info.id), {}, {}, forged);
  REQUIRE(put.ok());
  auto vs = store.versions(info.id);
  REQUIRE(vs.size() == 2);
  CHECK(vs[0].latest);
  CHECK(vs[0].version != info.version);
  CHECK(vs[1].version == info.version);

  CHECK(read_all(*store.open(info.id, info.version)) == original);
  CHECK(read_all(*store.open(info.id)) == forged);  // why records keep the version id

  // Storing the original content again finds the original version, not the forgery.
  auto again = write_blob(store, original);
  CHECK(again.existed);
  CHECK(again.version == info.version);
}

TEST_CASE("s3 backend: a bucket without Object Lock is refused unless allowed", "[s3][backend]") {
  if (!have_endpoint()) return;
  test::TempDir dir;
  auto opts = options_for(fresh_bucket_name(), dir.path());
  {
    s3::ClientOptions co;
    co.endpoint = opts.endpoint;
    co.credentials = {opts.access_key, opts.secret_key};
    s3::Client client(co);
    s3::Request create;
    create.method = "PUT";
    create.path = "/" + opts.bucket;
    REQUIRE(client.send(create).ok());
  }
  try {
    S3BlobStore refused(opts);
    FAIL("an unlocked bucket was accepted");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::permission_denied);
    CHECK(std::string(e.what()).find("Object Lock") != std::string::npos);
  }
  opts.allow_unlocked = true;
  S3BlobStore store(opts);
  CHECK_FALSE(store.locked());
  Bytes data = pattern(3000, 8);
  auto info = write_blob(store, data);
  CHECK(read_all(*store.open(info.id, info.version)) == data);
}

TEST_CASE("s3 backend: legal hold is set and cleared on the recorded version", "[s3][backend]") {
  if (!have_endpoint()) return;
  test::TempDir dir;
  S3BlobStore store(options_for(fresh_bucket_name(), dir.path()));
  auto info = write_blob(store, pattern(2000, 9));
  CHECK_FALSE(store.retention(info.id, info.version).legal_hold);
  store.set_legal_hold(info.id, info.version, true);
  CHECK(store.retention(info.id, info.version).legal_hold);
  store.set_legal_hold(info.id, info.version, false);
  CHECK_FALSE(store.retention(info.id, info.version).legal_hold);
  CHECK_THROWS_AS(store.set_legal_hold(Sha256::of(std::string_view("absent")), info.version, true), Error);
}

TEST_CASE("s3 backend: stray keys and unfinished uploads are reported", "[s3][backend]") {
  if (!have_endpoint()) return;
  test::TempDir dir;
  S3BlobStore store(options_for(fresh_bucket_name(), dir.path()));
  write_blob(store, pattern(100, 10));
  Bytes junk{1, 2, 3};
  REQUIRE(raw(store, "PUT", "notes/junk.txt", {}, {}, junk).ok());
  REQUIRE(raw(store, "PUT", "sha256/not-a-hash", {}, {}, junk).ok());
  REQUIRE(raw(store, "POST", "sha256/abandoned", {{"uploads", ""}}).ok());
  auto strays = store.stray_names();
  std::sort(strays.begin(), strays.end());
  CHECK(strays == std::vector<std::string>{"notes/junk.txt", "sha256/not-a-hash", "upload:sha256/abandoned"});
}

TEST_CASE("s3 backend: an unreachable endpoint is reported as unavailable", "[s3][backend]") {
  // Runs without Ceph: nothing listens on port 1.
  S3Options o;
  o.endpoint = "http://127.0.0.1:1";
  o.bucket = "evidence";
  o.access_key = "k";
  o.secret_key = "s";
  o.max_attempts = 2;
  o.timeout = std::chrono::seconds(5);
  try {
    S3BlobStore store(o);
    FAIL("opened a store at a closed port");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::unavailable);
  }
}

// The streaming writer (store/s3/s3_stream_writer.cpp): parts go to a staging upload
// while the bytes arrive; commit copies the object to its content key with the lock.
TEST_CASE("s3 backend: a streamed upload of many parts arrives under its key with its bytes and lock",
          "[s3][backend][stream]") {
  if (!have_endpoint()) return;
  test::TempDir dir;
  auto opts = options_for(fresh_bucket_name(), dir.path());
  opts.part_size = 8u << 20;
  S3BlobStore store(opts);
  const Bytes data = pattern(40u << 20, 21);  // 5 parts of 8 MiB

  auto w = store.begin_write();
  const auto until = std::chrono::system_clock::now() + std::chrono::hours(50);
  w->lock_until(until);
  write_in_pieces(*w, data, 0, 20u << 20);
  // Parts are on their way under a staging key; a young one is no stray.
  CHECK(open_uploads(store).size() == 1);
  CHECK(open_uploads(store).at(0).rfind(std::string(kStagingPrefix), 0) == 0);
  CHECK(store.stray_names().empty());
  auto half = w->digest();
  CHECK(half.size == 20u << 20);
  CHECK(half.id == Sha256::of(std::span<const std::uint8_t>(data).first(20u << 20)));
  CHECK_FALSE(store.exists(Sha256::of(data)));
  write_in_pieces(*w, data, 20u << 20, data.size(), 777777);
  CHECK(w->digest().id == Sha256::of(data));
  auto info = w->commit(Sha256::of(data));

  CHECK(info.id == Sha256::of(data));
  CHECK(info.size == data.size());
  CHECK_FALSE(info.existed);
  REQUIRE_FALSE(info.version.empty());
  CHECK(read_all(*store.open(info.id, info.version)) == data);
  auto ret = store.retention(info.id, info.version);
  CHECK(ret.mode == "COMPLIANCE");
  CHECK(ret.retain_until.substr(0, 19) == retain_until(until, 0).substr(0, 19));
  CHECK(store.versions(info.id).size() == 1);
  auto head = raw(store, "HEAD", s3_key(info.id), {{"versionId", info.version}});
  INFO("final ETag " << head.header("etag"));
  CHECK(head.header("content-length") == std::to_string(data.size()));
  // Nothing of the staging is left: no upload, no object, no version, no stray.
  CHECK(open_uploads(store).empty());
  CHECK(staging_versions(store) == 0);
  CHECK(store.stray_names().empty());
  CHECK(std::filesystem::is_empty(dir.path()));  // and nothing on local disk

  // The same bytes again: found by their ETag, the staging upload aborted.
  auto again = write_blob(store, data, 1u << 20);
  CHECK(again.existed);
  CHECK(again.version == info.version);
  CHECK(store.versions(info.id).size() == 1);
  CHECK(open_uploads(store).empty());
  CHECK(staging_versions(store) == 0);
}

TEST_CASE("s3 backend: a streamed upload whose digest does not match stores nothing", "[s3][backend][stream]") {
  if (!have_endpoint()) return;
  test::TempDir dir;
  S3BlobStore store(options_for(fresh_bucket_name(), dir.path()));
  const Bytes data = pattern((12u << 20) + 5, 22);  // 3 parts of 5 MiB
  const auto wrong = Sha256::of(std::string_view("declared but not sent"));
  auto w = store.begin_write();
  write_in_pieces(*w, data, 0, data.size());
  try {
    w->commit(wrong);
    FAIL("commit accepted a wrong digest");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::digest_mismatch);
    CHECK(std::string(e.what()).find(wrong.hex()) != std::string::npos);
  }
  w.reset();
  CHECK_FALSE(store.exists(Sha256::of(data)));
  CHECK(store.versions(Sha256::of(data)).empty());
  CHECK(store.versions(wrong).empty());
  CHECK(open_uploads(store).empty());
  CHECK(staging_versions(store) == 0);
}

TEST_CASE("s3 backend: a writer dropped mid-way leaves no upload behind", "[s3][backend][stream]") {
  if (!have_endpoint()) return;
  test::TempDir dir;
  S3BlobStore store(options_for(fresh_bucket_name(), dir.path()));
  const Bytes data = pattern(16u << 20, 23);
  {
    auto w = store.begin_write();
    write_in_pieces(*w, data, 0, 11u << 20);  // two parts sent or sending, one filling
    CHECK(open_uploads(store).size() == 1);
  }
  CHECK(open_uploads(store).empty());
  CHECK(staging_versions(store) == 0);
  CHECK_FALSE(store.exists(Sha256::of(std::span<const std::uint8_t>(data).first(11u << 20))));
  {
    auto w = store.begin_write();  // below one part: nothing was sent at all
    write_in_pieces(*w, data, 0, 1000);
  }
  CHECK(open_uploads(store).empty());
  std::map<std::string, std::uint64_t> listed;
  store.for_each([&](const ContentId& id, std::uint64_t size) { listed[id.hex()] = size; });
  CHECK(listed.empty());
}

TEST_CASE("s3 backend: digest tells the hash so far and a small upload stays one PUT", "[s3][backend][stream]") {
  if (!have_endpoint()) return;
  test::TempDir dir;
  S3BlobStore store(options_for(fresh_bucket_name(), dir.path()));
  const Bytes data = pattern(5u << 20, 24);  // exactly one part: no multipart upload
  auto w = store.begin_write();
  write_in_pieces(*w, data, 0, data.size());
  auto d = w->digest();
  CHECK(d.id == Sha256::of(data));
  CHECK(d.size == data.size());
  CHECK(open_uploads(store).empty());
  CHECK_FALSE(store.exists(d.id));  // digest() stores nothing
  auto info = w->commit(d.id);
  CHECK(info.id == d.id);
  auto head = raw(store, "HEAD", s3_key(info.id), {{"versionId", info.version}});
  CHECK(head.header("etag").find('-') == std::string::npos);  // a single PUT's ETag
  CHECK(store.retention(info.id, info.version).mode == "COMPLIANCE");
  CHECK(staging_versions(store) == 0);
}

TEST_CASE("s3 backend: staging uploads are strays only once they are old", "[s3][backend][stream]") {
  if (!have_endpoint()) return;
  test::TempDir dir;
  auto opts = options_for(fresh_bucket_name(), dir.path());
  S3BlobStore store(opts);
  REQUIRE(raw(store, "POST", std::string(kStagingPrefix) + "crashed", {{"uploads", ""}}).ok());
  REQUIRE(raw(store, "PUT", std::string(kStagingPrefix) + "left", {}, {}, Bytes{1, 2}).ok());
  CHECK(store.stray_names().empty());  // as young as an upload in progress
  opts.staging_grace = std::chrono::seconds(0);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  auto strays = S3BlobStore(opts).stray_names();
  std::sort(strays.begin(), strays.end());
  CHECK(strays == std::vector<std::string>{"staging/left", "upload:staging/crashed"});
}

// Not a test: bench/s3_upload.sh runs this hidden case to time an upload through the
// backend (parts streamed to a staging upload while hashing, then the copy to the
// content key with Object Lock), as the daemon's one-shot upload path does. Reads EVIDENCE_S3_BENCH_FILE in 1 MiB writes.
TEST_CASE("s3 bench: upload one file through the S3 backend", "[.s3bench]") {
  const char* file = std::getenv("EVIDENCE_S3_BENCH_FILE");
  if (!have_endpoint() || !file) return;
  test::TempDir dir;
  auto opts = options_for(std::getenv("EVIDENCE_S3_BUCKET") ? std::getenv("EVIDENCE_S3_BUCKET") : fresh_bucket_name(),
                          dir.path());
  opts.part_size = 16u << 20;
  S3BlobStore store(opts);
  auto t0 = std::chrono::steady_clock::now();
  std::ifstream in(file, std::ios::binary);
  REQUIRE(in);
  auto w = store.begin_write();
  std::vector<char> buf(1u << 20);
  while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0)
    w->write(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(buf.data()),
                                           static_cast<std::size_t>(in.gcount())));
  auto t1 = std::chrono::steady_clock::now();
  auto info = w->commit();
  auto t2 = std::chrono::steady_clock::now();
  auto secs = [](auto d) { return std::chrono::duration<double>(d).count(); };
  // "spool" is the time to take the bytes in (now streaming parts), "upload" the commit.
  std::printf("s3bench: %llu bytes sha256 %s version %s spool %.3f s upload %.3f s total %.3f s\n",
              static_cast<unsigned long long>(info.size), info.id.hex().c_str(), info.version.c_str(), secs(t1 - t0),
              secs(t2 - t1), secs(t2 - t0));
  CHECK_FALSE(info.existed);
}

// Disposition on S3: a blob is deleted only once its Object Lock has expired. A
// writer can ask for a short lock (a category's retain_until); remove() refuses with
// the date while it holds (and deletes no version), refuses while a legal hold is on,
// and afterwards deletes every version, so the key is gone, not hidden.
TEST_CASE("s3 backend: remove refuses a locked blob with its date and deletes it once the lock expires",
          "[s3][backend][lifecycle]") {
  if (!have_endpoint()) return;
  test::TempDir dir;
  S3BlobStore store(options_for(fresh_bucket_name(), dir.path()));
  const Bytes data = pattern(3000, 17);

  // The store's default lock (retention_days = 1 here): refused, nothing deleted.
  auto long_locked = write_blob(store, pattern(2000, 18));
  auto refused = store.remove(long_locked.id);
  CHECK(refused.outcome == BlobRemoval::Outcome::locked);
  CHECK(refused.locked_until > format_rfc3339(now_us()));
  CHECK(store.exists(long_locked.id));
  CHECK(store.versions(long_locked.id).size() == 1);

  const auto until = std::chrono::system_clock::now() + std::chrono::seconds(4);
  auto w = store.begin_write();
  CHECK_THROWS_AS(w->lock_until(std::chrono::system_clock::now() - std::chrono::seconds(1)), Error);
  w->lock_until(until);
  w->write(data);
  auto info = w->commit();
  auto ret = store.retention(info.id, info.version);
  CHECK(ret.mode == "COMPLIANCE");
  CHECK(ret.retain_until.substr(0, 19) == retain_until(until, 0).substr(0, 19));

  auto early = store.remove(info.id);
  CHECK(early.outcome == BlobRemoval::Outcome::locked);
  CHECK(early.locked_until.substr(0, 19) == retain_until(until, 0).substr(0, 19));
  CHECK(read_all(*store.open(info.id, info.version)) == data);

  std::this_thread::sleep_until(until + std::chrono::seconds(2));
  store.set_legal_hold(info.id, info.version, true);
  auto held = store.remove(info.id);
  CHECK(held.outcome == BlobRemoval::Outcome::locked);
  CHECK(held.locked_until == "legal hold");
  CHECK(store.exists(info.id));
  store.set_legal_hold(info.id, info.version, false);

  auto gone = store.remove(info.id);
  INFO(gone.detail);
  CHECK(gone.outcome == BlobRemoval::Outcome::removed);
  CHECK_FALSE(store.exists(info.id));
  CHECK(store.versions(info.id).empty());
  CHECK(store.remove(info.id).outcome == BlobRemoval::Outcome::absent);
  // The other blob was never touched.
  CHECK(store.exists(long_locked.id));
}
