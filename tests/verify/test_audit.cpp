// The audit against a real store: intact, then the tamper matrix. Each attack runs on
// a fresh store and must be reported with its exact kind, ok=false, and exit code 1
// from `evidenced verify`; hints alone leave ok=true and exit 0.
#include <catch2/catch.hpp>
#include <set>
#include <thread>

#include "base/error.h"
#include "tests/verify/test_audit_fixture.h"

using namespace evidence;
using namespace evidence::test::audit;

namespace {

std::set<std::string> kind_set(const std::vector<Problem>& ps) {
  auto k = kinds(ps);
  return {k.begin(), k.end()};
}

}  // namespace

TEST_CASE("audit: an intact store is reported ok, every item and entry checked, exit 0", "[audit]") {
  Store s;
  s.populate();
  const auto r = s.audit();
  INFO(describe(r));
  CHECK(r.ok);
  CHECK(r.problems.empty());
  CHECK(r.hints.empty());
  CHECK(r.checked == 3);
  CHECK(r.log_entries == s.index->log_size());
  CHECK(r.checkpoints == 2);
  std::uint64_t bytes = 0;
  for (const auto& c : s.items) bytes += c.record.size;
  CHECK(r.bytes_hashed == bytes);

  const auto cli = s.cli();
  CHECK(cli.code == 0);
  const auto j = boost::json::parse(cli.out).as_object();
  CHECK(j.at("ok").as_bool());
  CHECK(j.at("checked").as_int64() == 3);
  CHECK(j.at("problems").as_array().empty());
  CHECK(j.at("hints").as_array().empty());

  const auto human = s.cli(AuditScope::all(), false);
  CHECK(human.code == 0);
  CHECK(human.out.find("intact") != std::string::npos);
}

TEST_CASE("audit: the report has DESIGN.md's POST /verify shape", "[audit]") {
  AuditReport r;
  Problem p;
  p.evidence = "01J0000000000000000000000";
  p.kind = ProblemKind::content_mismatch;
  p.detail = "d";
  p.segment = std::pair{2.0, 4.5};
  r.ok = false;
  r.checked = 7;
  r.problems.push_back(p);
  Problem h;
  h.kind = ProblemKind::blob_orphan;
  h.detail = "x";
  r.hints.push_back(h);
  const auto j = r.to_json();
  CHECK_FALSE(j.at("ok").as_bool());
  CHECK(boost::json::value_to<std::uint64_t>(j.at("checked")) == 7);
  const auto& pj = j.at("problems").as_array().at(0).as_object();
  CHECK(pj.at("evidence").as_string() == p.evidence);
  CHECK(pj.at("kind").as_string() == "content_mismatch");
  CHECK(pj.at("detail").as_string() == "d");
  CHECK(pj.at("segment").at("start").as_double() == 2.0);
  CHECK(pj.at("segment").at("end").as_double() == 4.5);
  const auto& hj = j.at("hints").as_array().at(0).as_object();
  CHECK(hj.at("evidence").is_null());
  CHECK(hj.at("kind").as_string() == "blob_orphan");
}

TEST_CASE("tamper: one flipped bit in a blob is content_mismatch for its item", "[audit][tamper]") {
  Store s;
  s.populate();
  s.flip_bit(1, 12345, 0x10);
  const auto r = s.audit();
  INFO(describe(r));
  CHECK_FALSE(r.ok);
  CHECK(kind_set(r.problems) == std::set<std::string>{"content_mismatch"});
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].evidence == s.items[1].record.id);
  CHECK(r.problems[0].sha256 == s.items[1].record.sha256.hex());
  CHECK_FALSE(r.problems[0].segment);  // not media: no time range
  CHECK(s.cli().code == 1);
  const auto human = s.cli(AuditScope::all(), false);
  CHECK(human.code == 1);
  CHECK(human.out.find("PROBLEM content_mismatch evidence " + s.items[1].record.id) != std::string::npos);
  CHECK(human.out.find("1 problem(s) found") != std::string::npos);
}

TEST_CASE("tamper: a truncated blob is content_mismatch", "[audit][tamper]") {
  Store s;
  s.populate();
  const auto p = s.blob_path(0);
  REQUIRE(::chmod(p.c_str(), 0644) == 0);
  std::filesystem::resize_file(p, 1000);
  const auto r = s.audit();
  INFO(describe(r));
  CHECK(kind_set(r.problems) == std::set<std::string>{"content_mismatch"});
  CHECK(has(r.problems, "content_mismatch", s.items[0].record.id));
  CHECK(s.cli().code == 1);
}

TEST_CASE("tamper: a deleted blob is blob_missing", "[audit][tamper]") {
  Store s;
  s.populate();
  std::filesystem::remove(s.blob_path(2));
  const auto r = s.audit();
  INFO(describe(r));
  CHECK_FALSE(r.ok);
  CHECK(kind_set(r.problems) == std::set<std::string>{"blob_missing"});
  CHECK(has(r.problems, "blob_missing", s.items[2].record.id));
  CHECK(s.cli().code == 1);
}

TEST_CASE("tamper: stray blobs and junk files are blob_orphan hints, and the store stays ok", "[audit][tamper]") {
  Store s;
  s.populate();
  // A blob with no record, as a crash between blob commit and index commit leaves.
  auto w = s.blobs->begin_write();
  w->write(as_bytes(std::string("uploaded, never committed")));
  const auto orphan = w->commit();
  // And junk that is not a blob at all.
  const auto folder = s.layout.blob_folder(s.items[0].record.sha256);
  std::ofstream(folder / "notes.txt") << "not evidence";
  const auto r = s.audit();
  INFO(describe(r));
  CHECK(r.ok);
  CHECK(r.problems.empty());
  CHECK(r.hints.size() == 2);
  CHECK(kind_set(r.hints) == std::set<std::string>{"blob_orphan"});
  bool named = false;
  for (const auto& h : r.hints) named = named || h.sha256 == orphan.id.hex();
  CHECK(named);
  const auto cli = s.cli();
  CHECK(cli.code == 0);
  CHECK(boost::json::parse(cli.out).at("hints").as_array().size() == 2);
}

TEST_CASE("tamper: a record edited in LMDB is record_altered", "[audit][tamper]") {
  Store s;
  s.populate();
  const auto& id = s.items[0].record.id;
  auto bytes = s.index->raw_get("evidence", as_bytes(id));
  REQUIRE(bytes);
  auto rec = EvidenceRecord::decode(*bytes);
  rec.officer = "someone-else";
  s.index->raw_put("evidence", as_bytes(id), rec.encode());
  const auto r = s.audit();
  INFO(describe(r));
  CHECK_FALSE(r.ok);
  CHECK(kind_set(r.problems) == std::set<std::string>{"record_altered"});
  CHECK(has(r.problems, "record_altered", id));
  CHECK(s.cli().code == 1);
}

TEST_CASE("tamper: a record that no longer decodes is record_altered", "[audit][tamper]") {
  Store s;
  s.populate();
  const auto& id = s.items[1].record.id;
  const std::string junk = "\x01{not json";
  s.index->raw_put("evidence", as_bytes(id), as_bytes(junk));
  const auto r = s.audit();
  INFO(describe(r));
  CHECK(has(r.problems, "record_altered", id));
  CHECK(s.cli().code == 1);
}

TEST_CASE("tamper: a deleted record whose ingest entry remains is record_missing", "[audit][tamper]") {
  Store s;
  s.populate();
  const auto& id = s.items[2].record.id;
  s.index->raw_del("evidence", as_bytes(id));
  const auto r = s.audit();
  INFO(describe(r));
  CHECK(has(r.problems, "record_missing", id));
  CHECK_FALSE(r.ok);
}

TEST_CASE("tamper: an edited custody entry is log_inconsistent", "[audit][tamper]") {
  Store s;
  s.populate();
  const auto key = be64(3);  // the link entry
  auto leaf = s.index->raw_get("log", key);
  REQUIRE(leaf);
  std::string text(as_chars(*leaf));
  const auto pos = text.find("reviewer-1");
  REQUIRE(pos != std::string::npos);
  text.replace(pos, 10, "reviewer-9");
  s.index->raw_put("log", key, as_bytes(text));
  const auto r = s.audit();
  INFO(describe(r));
  CHECK_FALSE(r.ok);
  CHECK(kind_set(r.problems) == std::set<std::string>{"log_inconsistent"});
  CHECK(s.cli().code == 1);
}

TEST_CASE("tamper: an edited ingest entry is log_inconsistent and record_altered", "[audit][tamper]") {
  Store s;
  s.populate();
  const auto idx = s.items[0].log_index;
  auto leaf = s.index->raw_get("log", be64(idx));
  REQUIRE(leaf);
  std::string text(as_chars(*leaf));
  const auto pos = text.find(s.items[0].record_hash);
  REQUIRE(pos != std::string::npos);
  text[pos] = text[pos] == '0' ? '1' : '0';
  s.index->raw_put("log", be64(idx), as_bytes(text));
  const auto r = s.audit();
  INFO(describe(r));
  CHECK(kind_set(r.problems) == std::set<std::string>{"log_inconsistent", "record_altered"});
}

TEST_CASE("tamper: deleting the newest custody entries is log_inconsistent", "[audit][tamper]") {
  Store s;
  s.populate();
  const auto n = s.index->log_size();
  REQUIRE(n == 5);
  s.index->raw_del("log", be64(n - 1));
  s.index->raw_del("log", be64(n - 2));
  const auto r = s.audit();
  INFO(describe(r));
  CHECK_FALSE(r.ok);
  CHECK(kind_set(r.problems) == std::set<std::string>{"log_inconsistent"});
  CHECK(s.cli().code == 1);
}

TEST_CASE("tamper: a custody entry deleted from the middle is log_inconsistent", "[audit][tamper]") {
  Store s;
  s.populate();
  s.index->raw_del("log", be64(1));
  const auto r = s.audit();
  INFO(describe(r));
  CHECK(has(r.problems, "log_inconsistent"));
  CHECK_FALSE(r.ok);
}

TEST_CASE("tamper: two items' timestamp tokens swapped are timestamp_invalid for both", "[audit][tamper]") {
  Store s;
  s.populate();
  const auto& a = s.items[0].record.id;
  const auto& b = s.items[1].record.id;
  const auto ta = s.index->raw_get("timestamps", as_bytes(a));
  const auto tb = s.index->raw_get("timestamps", as_bytes(b));
  REQUIRE(ta);
  REQUIRE(tb);
  s.index->raw_put("timestamps", as_bytes(a), *tb);
  s.index->raw_put("timestamps", as_bytes(b), *ta);
  const auto r = s.audit();
  INFO(describe(r));
  CHECK(kind_set(r.problems) == std::set<std::string>{"timestamp_invalid"});
  CHECK(has(r.problems, "timestamp_invalid", a));
  CHECK(has(r.problems, "timestamp_invalid", b));
  CHECK(s.cli().code == 1);
}

TEST_CASE("tamper: a token from another TSA is timestamp_invalid", "[audit][tamper]") {
  Store s;
  s.populate();
  Store other;
  const auto& id = s.items[2].record.id;
  s.index->raw_put("timestamps", as_bytes(id), other.tsa->stamp(s.items[2].record.sha256));
  const auto r = s.audit();
  INFO(describe(r));
  CHECK(kind_set(r.problems) == std::set<std::string>{"timestamp_invalid"});
  CHECK(has(r.problems, "timestamp_invalid", id));
  CHECK(s.cli().code == 1);

  // Trusted once that TSA's CA is given (an instance that used an outside TSA).
  CHECK(s.cli(AuditScope::all(), true, other.layout.tsa_ca_cert()).code == 0);
}

TEST_CASE("tamper: a forged checkpoint is signature_invalid", "[audit][tamper]") {
  Store s;
  s.populate();
  const auto good = s.index->latest_checkpoint();
  REQUIRE(good);

  SECTION("signed by another key under the log's name, with the true root") {
    note::Checkpoint cp;
    cp.origin = "evidence.test/audit";
    cp.size = good->size;
    cp.root = s.index->log_root(cp.size);
    const auto mallory = note::Ed25519Key::generate();
    s.index->put_checkpoint({cp.size, note::sign(cp.body(), cp.origin, mallory), {}});
    const auto r = s.audit();
    INFO(describe(r));
    CHECK_FALSE(r.ok);
    CHECK(kind_set(r.problems) == std::set<std::string>{"signature_invalid"});
    CHECK(s.cli().code == 1);
  }
  SECTION("the signed text altered after signing") {
    std::string forged = good->note;
    const auto line2 = forged.find('\n') + 1;
    const auto line3 = forged.find('\n', line2) + 1;
    forged[line3] = forged[line3] == 'A' ? 'B' : 'A';  // the root's first base64 digit
    s.index->put_checkpoint({good->size, forged, good->root_timestamp});
    const auto r = s.audit();
    INFO(describe(r));
    CHECK_FALSE(r.ok);
    CHECK(has(r.problems, "signature_invalid"));
    CHECK(s.cli().code == 1);
  }
}

TEST_CASE("tamper: a checkpoint root timestamp over another root is timestamp_invalid", "[audit][tamper]") {
  Store s;
  s.populate();
  auto cp = s.index->latest_checkpoint();
  REQUIRE(cp);
  cp->root_timestamp = s.index->timestamp_token(s.items[0].record.id).value();
  s.index->put_checkpoint(*cp);
  const auto r = s.audit();
  INFO(describe(r));
  CHECK(kind_set(r.problems) == std::set<std::string>{"timestamp_invalid"});
}

TEST_CASE("audit: scope limits item passes to the case or the item", "[audit][scope]") {
  Store s;
  s.populate();
  std::filesystem::remove(s.blob_path(2));  // item 2 is only in CASE-2 (and linked to CASE-1 later)

  const auto only_case = s.audit(AuditScope::of_case("汉台执罚〔2017〕第123号"));
  INFO(describe(only_case));
  CHECK(only_case.ok);
  CHECK(only_case.checked == 1);

  const auto item = s.audit(AuditScope::of_evidence(s.items[2].record.id));
  CHECK(item.checked == 1);
  CHECK(kind_set(item.problems) == std::set<std::string>{"blob_missing"});

  const auto case2 = s.audit(AuditScope::of_case("CASE-2"));
  CHECK_FALSE(case2.ok);

  CHECK_THROWS_AS(s.audit(AuditScope::of_evidence("01ZZZZZZZZZZZZZZZZZZZZZZZZ")), Error);
  CHECK_THROWS_AS(s.audit(AuditScope::of_case("NO-SUCH-CASE")), Error);
  CHECK(s.cli(AuditScope::of_evidence("01ZZZZZZZZZZZZZZZZZZZZZZZZ")).code == 2);
}

TEST_CASE("audit: the CLI cannot run on a folder that is not a store: exit 2", "[audit]") {
  test::TempDir d;
  CHECK(evidenced_verify(d.path() / "nothing-here", AuditScope::all(), true).first == 2);
  CHECK(evidenced_verify(d.path(), AuditScope::all(), false).first == 2);
}

TEST_CASE("audit: many items hashed on several threads with progress reported to the total", "[audit]") {
  Store s;
  for (int i = 0; i < 24; ++i) s.add(std::string(static_cast<std::size_t>(50000 + i * 9000), static_cast<char>('a' + i)));
  s.checkpoint();
  s.flip_bit(17, 40000);
  AuditOptions o;
  o.threads = 4;
  o.read_size = 64 << 10;
  std::uint64_t last = 0, total = 0;
  bool monotonic = true;
  o.progress = [&](std::uint64_t done, std::uint64_t t) {
    monotonic = monotonic && done >= last;
    last = done;
    total = t;
  };
  const auto r = s.audit(AuditScope::all(), o);
  INFO(describe(r));
  CHECK(r.checked == 24);
  CHECK(kind_set(r.problems) == std::set<std::string>{"content_mismatch"});
  CHECK(r.problems.size() == 1);
  CHECK(has(r.problems, "content_mismatch", s.items[17].record.id));
  CHECK(monotonic);
  CHECK(last == total);
  CHECK(total > 0);
}

TEST_CASE("audit: two items sharing one blob are both reported when it is damaged", "[audit]") {
  Store s;
  s.add("same bytes twice");
  s.add("same bytes twice", {"CASE-9"});
  s.checkpoint();
  s.flip_bit(0, 3);
  const auto r = s.audit();
  CHECK(r.problems.size() == 2);
  CHECK(has(r.problems, "content_mismatch", s.items[0].record.id));
  CHECK(has(r.problems, "content_mismatch", s.items[1].record.id));
}

TEST_CASE("audit: a media item's damage is named as the time range of its damaged segments", "[audit][media]") {
  Store s;
  std::string content;
  boost::json::array segs;
  for (int i = 0; i < 6; ++i) {
    const std::string part(1000, static_cast<char>('A' + i));
    segs.push_back(boost::json::object{{"offset", i * 1000}, {"length", 1000}, {"start", i * 2.0},
                                       {"end", i * 2.0 + 2.0}, {"sha256", Sha256::of(part).hex()}});
    content += part;
  }
  const auto item = s.add(content);
  s.index->put_derived(kSegmentsKind, item.record.id, boost::json::serialize(segs), event("media", "system", "system"));
  s.checkpoint();
  s.flip_bit(0, 2500);  // segment 2
  s.flip_bit(0, 3999);  // segment 3
  const auto r = s.audit();
  INFO(describe(r));
  REQUIRE(r.problems.size() == 1);
  CHECK(problem_kind_name(r.problems[0].kind) == "content_mismatch");
  REQUIRE(r.problems[0].segment);
  CHECK(r.problems[0].segment->first == 4.0);
  CHECK(r.problems[0].segment->second == 8.0);
  const auto j = r.to_json();
  CHECK(j.at("problems").at(0).at("segment").at("start").as_double() == 4.0);
}

namespace {

// A blob store whose reads fail in the ways real disks and networks do: the first
// open of each blob throws an I/O error (transient), or every read of one blob does.
class FaultyBlobStore final : public BlobStore {
 public:
  FaultyBlobStore(BlobStore& inner, bool permanent, ContentId victim)
      : inner_(inner), permanent_(permanent), victim_(victim) {}
  std::unique_ptr<BlobWriter> begin_write() override { return inner_.begin_write(); }
  BlobInfo adopt_file(const std::filesystem::path& f, const ContentId& id) override { return inner_.adopt_file(f, id); }
  bool exists(const ContentId& id) override { return inner_.exists(id); }
  std::unique_ptr<BlobReader> open(const ContentId& id, const std::string& version) override {
    if (id == victim_ && (permanent_ || opens_++ == 0)) throw Error(Errc::io_error, "EIO reading " + id.hex());
    return inner_.open(id, version);
  }
  void for_each(const std::function<void(const ContentId&, std::uint64_t)>& fn) override { inner_.for_each(fn); }
  std::vector<std::string> stray_names() override { return inner_.stray_names(); }
  std::string describe() const override { return "faulty"; }

 private:
  BlobStore& inner_;
  bool permanent_;
  ContentId victim_;
  int opens_ = 0;
};

}  // namespace

TEST_CASE("audit: a read error that clears on retry is a hint, not damage", "[audit][retry]") {
  Store s;
  s.populate();
  FaultyBlobStore flaky(*s.blobs, false, s.items[1].record.sha256);
  const auto r = s.audit(flaky);
  INFO(describe(r));
  CHECK(r.ok);
  CHECK(kind_set(r.hints) == std::set<std::string>{"transient_read_error"});
}

TEST_CASE("audit: a read error that persists is reported as content_mismatch", "[audit][retry]") {
  Store s;
  s.populate();
  FaultyBlobStore broken(*s.blobs, true, s.items[1].record.sha256);
  const auto r = s.audit(broken);
  INFO(describe(r));
  CHECK_FALSE(r.ok);
  CHECK(kind_set(r.problems) == std::set<std::string>{"content_mismatch"});
  CHECK(has(r.problems, "content_mismatch", s.items[1].record.id));
}

TEST_CASE("audit: a cancelled run throws instead of reporting a partial result", "[audit]") {
  Store s;
  s.populate();
  std::atomic<bool> stop{true};
  AuditOptions o;
  o.cancel = &stop;
  CHECK_THROWS_AS(s.audit(AuditScope::all(), o), Error);
}

TEST_CASE("audit: items and checkpoints committed during an audit raise no false problem", "[audit][concurrent]") {
  Store s;
  s.populate();
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; i < 30; ++i) {
      s.add("concurrent clip " + std::to_string(i) + std::string(20000, 'z'));
      if (i % 3 == 0) s.checkpoint();
    }
    done = true;
  });
  int runs = 0;
  std::string failures;
  while (!done || runs == 0) {
    const auto r = s.audit();
    ++runs;
    if (!r.ok) failures += describe(r);
  }
  writer.join();
  INFO(failures);
  CHECK(failures.empty());
  CHECK(s.audit().ok);
}

TEST_CASE("audit: the media worker's segment object, with untimed ranges, is understood", "[audit][media]") {
  Store s;
  const std::string header(500, 'H'), gop1(1500, '1'), gop2(1500, '2');
  boost::json::array segs{
      boost::json::object{{"offset", 0}, {"length", 500}, {"start", nullptr}, {"end", nullptr}, {"sha256", Sha256::of(header).hex()}},
      boost::json::object{{"offset", 500}, {"length", 1500}, {"start", 0.0}, {"end", 1.5}, {"sha256", Sha256::of(gop1).hex()}},
      boost::json::object{{"offset", 2000}, {"length", 1500}, {"start", 1.5}, {"end", 3.0}, {"sha256", Sha256::of(gop2).hex()}}};
  const auto item = s.add(header + gop1 + gop2);
  boost::json::object worker{{"segments", segs}, {"root", "00"}};
  s.index->put_derived(kSegmentsKind, item.record.id, boost::json::serialize(worker), event("media", "system", "system"));
  s.checkpoint();

  SECTION("damage in a timed range names it") {
    s.flip_bit(0, 2100);
    const auto r = s.audit();
    REQUIRE(r.problems.size() == 1);
    REQUIRE(r.problems[0].segment);
    CHECK(r.problems[0].segment->first == 1.5);
    CHECK(r.problems[0].segment->second == 3.0);
  }
  SECTION("damage only in an untimed range names no time but says so") {
    s.flip_bit(0, 10);
    const auto r = s.audit();
    REQUIRE(r.problems.size() == 1);
    CHECK(problem_kind_name(r.problems[0].kind) == "content_mismatch");
    CHECK_FALSE(r.problems[0].segment);
    CHECK(r.problems[0].detail.find("1 of 3 media segments damaged") != std::string::npos);
  }
}

TEST_CASE("tamper: an edited node of the stored Merkle tree is log_inconsistent", "[audit][tamper]") {
  Store s;
  s.populate();
  // Leaf 0's stored hash: not on the path of any root we sign (size 3 and 5), but
  // every inclusion proof of entry 1 uses it.
  std::array<std::uint8_t, 9> key{};  // level 0, index 0
  auto h = s.index->raw_get("tree", key);
  REQUIRE(h);
  REQUIRE(h->size() == 32);
  (*h)[0] ^= 0x01;
  s.index->raw_put("tree", key, *h);
  const auto r = s.audit();
  INFO(describe(r));
  CHECK_FALSE(r.ok);
  CHECK(kind_set(r.problems) == std::set<std::string>{"log_inconsistent"});
  CHECK(s.cli().code == 1);
}
