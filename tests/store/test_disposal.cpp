// Carrying out dispositions (store/disposal.h) on the LMDB index and the local blob
// folder: one commit marks the items and logs them; blobs go after it, only when no
// live item shares them; a crash between the two is finished by reap_disposed_blobs.
#include <catch2/catch.hpp>

#include <filesystem>

#include "base/error.h"
#include "store/disposal.h"
#include "store/lmdb/lmdb_index.h"
#include "tests/store/store_fixture.h"

using namespace evidence;

namespace {

const Actor kAda{"ada", "admin"};
const Actor kBob{"bob", "admin"};
const std::string kNow = "2026-12-01T00:00:00.000Z";

// A blob store whose deletions fail, as a daemon killed right after the commit
// deletes nothing.
class NoDeletes final : public BlobStore {
 public:
  explicit NoDeletes(BlobStore& inner) : inner_(inner) {}
  std::unique_ptr<BlobWriter> begin_write() override { return inner_.begin_write(); }
  BlobInfo adopt_file(const std::filesystem::path& f, const ContentId& id) override { return inner_.adopt_file(f, id); }
  bool exists(const ContentId& id) override { return inner_.exists(id); }
  std::unique_ptr<BlobReader> open(const ContentId& id, const std::string& v) override { return inner_.open(id, v); }
  void for_each(const std::function<void(const ContentId&, std::uint64_t)>& fn) override { inner_.for_each(fn); }
  std::vector<std::string> stray_names() override { return inner_.stray_names(); }
  std::string describe() const override { return "no deletes"; }
  BlobRemoval remove(const ContentId&) override { throw Error(Errc::io_error, "killed before deleting"); }

 private:
  BlobStore& inner_;
};

struct Fixture {
  test::DataDir d;
  LocalBlobStore blobs{d.layout};
  std::unique_ptr<LmdbIndex> index = std::make_unique<LmdbIndex>(d.layout, OpenMode::read_write);

  Committed add(const std::string& content) {
    return index->commit_evidence(test::new_item(test::put_blob(blobs, content)));
  }
  std::vector<std::string> actions() const {
    std::vector<std::string> out;
    for (const auto& e : index->log_entries(0, index->log_size())) out.push_back(CustodyEvent::decode(e.leaf).action);
    return out;
  }
};

}  // namespace

TEST_CASE("disposal: local remove deletes the blob and is idempotent", "[blob][lifecycle]") {
  test::DataDir d;
  LocalBlobStore blobs(d.layout);
  auto info = test::put_blob(blobs, "to delete");
  auto r = blobs.remove(info.id);
  CHECK(r.outcome == BlobRemoval::Outcome::removed);
  CHECK_FALSE(blobs.exists(info.id));
  CHECK_FALSE(std::filesystem::exists(d.layout.blob_path(info.id)));
  CHECK(blobs.remove(info.id).outcome == BlobRemoval::Outcome::absent);
  CHECK(blobs.remove(Sha256::of(std::string("never"))).outcome == BlobRemoval::Outcome::absent);
}

TEST_CASE("disposal: executing marks items, logs each, and deletes content no live item shares",
          "[disposal][lifecycle]") {
  Fixture f;
  const auto shared1 = f.add("shared content");
  const auto shared2 = f.add("shared content");
  const auto alone = f.add("alone");
  // A poster frame of the lone item, stored as derived blob.
  const auto frame = test::put_blob(f.blobs, "jpeg of alone");
  f.index->write([&](WriteTxn& t) { t.put_derived("thumbnail", alone.record.id, frame.id.hex()); });

  auto d = request_disposition(*f.index, {shared1.record.id, alone.record.id}, "retention ended", kAda, kNow);
  CHECK(d.state == DispositionState::pending);
  CHECK(f.index->get_disposition(d.id) == d);
  CHECK_FALSE(f.index->disposed(shared1.record.id));

  auto done = execute_disposition(*f.index, f.blobs, d.id, kBob, "2026-12-01T01:00:00.000Z");
  CHECK(done.disposition.state == DispositionState::done);
  CHECK(done.disposition.decided_by == "bob");
  CHECK(f.index->get_disposition(d.id) == done.disposition);
  REQUIRE(done.entries.size() == 3);
  CHECK(f.actions() == std::vector<std::string>{"ingest", "ingest", "ingest", "dispose_request", "dispose_approve",
                                                "dispose", "dispose"});
  auto entry = CustodyEvent::decode(f.index->log_entry(done.entries[1])->leaf);
  CHECK(entry.evidence == shared1.record.id);
  CHECK(entry.actor == "bob");
  CHECK(entry.detail->at("disposition").as_string() == d.id);
  CHECK(f.index->entries_for_evidence(alone.record.id).back() == done.entries[2]);

  auto t = f.index->disposed(shared1.record.id);
  REQUIRE(t);
  CHECK(*t == Disposed{"2026-12-01T01:00:00.000Z", d.id, "ada", "bob", "retention ended"});
  CHECK(f.index->disposed(alone.record.id));
  CHECK_FALSE(f.index->disposed(shared2.record.id));
  CHECK(f.index->get_evidence(shared1.record.id));  // the record stays (tombstone)

  // Shared content stays while shared2 lives; the lone item's content and frame go.
  CHECK(f.blobs.exists(shared1.record.sha256));
  CHECK_FALSE(f.blobs.exists(alone.record.sha256));
  CHECK_FALSE(f.blobs.exists(frame.id));
  CHECK(done.blobs.removed.size() == 2);
  CHECK(done.blobs.shared == std::vector<ContentId>{shared1.record.sha256});

  // Once the last item sharing it is disposed of, the content goes too.
  auto d2 = request_disposition(*f.index, {shared2.record.id}, "retention ended", kBob, kNow);
  auto done2 = execute_disposition(*f.index, f.blobs, d2.id, kAda, kNow);
  CHECK(done2.blobs.removed == std::vector<ContentId>{shared1.record.sha256});
  CHECK_FALSE(f.blobs.exists(shared1.record.sha256));
  CHECK_FALSE(f.index->content_live(shared1.record.sha256));
}

TEST_CASE("disposal: four eyes, admins only, pending only, all or nothing", "[disposal][lifecycle]") {
  Fixture f;
  const auto a = f.add("a");
  const auto b = f.add("b");
  auto d = request_disposition(*f.index, {a.record.id, b.record.id}, "r", kAda, kNow);
  const auto size = f.index->log_size();
  try {
    execute_disposition(*f.index, f.blobs, d.id, kAda, kNow);
    FAIL("the requester approved");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::permission_denied);
    CHECK(std::string(e.what()).find("four_eyes") != std::string::npos);
  }
  auto code = [&](auto&& fn) {
    try {
      fn();
    } catch (const Error& e) {
      return e.code();
    }
    return Errc::internal;
  };
  CHECK(code([&] { execute_disposition(*f.index, f.blobs, d.id, Actor{"carl", "reviewer"}, kNow); }) ==
        Errc::permission_denied);
  CHECK(code([&] { execute_disposition(*f.index, f.blobs, new_disposition_id(), kBob, kNow); }) == Errc::not_found);
  CHECK(code([&] { request_disposition(*f.index, {}, "r", kAda, kNow); }) == Errc::invalid_argument);
  CHECK(code([&] { request_disposition(*f.index, {a.record.id, a.record.id}, "r", kAda, kNow); }) ==
        Errc::invalid_argument);
  CHECK(code([&] { request_disposition(*f.index, {new_evidence_id()}, "r", kAda, kNow); }) == Errc::not_found);
  CHECK(code([&] { request_disposition(*f.index, {a.record.id}, "r", Actor{"olga", "officer"}, kNow); }) ==
        Errc::permission_denied);
  CHECK(f.index->log_size() == size);

  // b disposed of by another disposition first: this one fails whole, a stays live.
  auto other = request_disposition(*f.index, {b.record.id}, "r", kAda, kNow);
  execute_disposition(*f.index, f.blobs, other.id, kBob, kNow);
  const auto after = f.index->log_size();
  CHECK(code([&] { execute_disposition(*f.index, f.blobs, d.id, kBob, kNow); }) == Errc::conflict);
  CHECK_FALSE(f.index->disposed(a.record.id));
  CHECK(f.blobs.exists(a.record.sha256));
  CHECK(f.index->get_disposition(d.id)->state == DispositionState::pending);
  CHECK(f.index->log_size() == after);

  auto rejected = reject_disposition(*f.index, d.id, kBob, kNow);
  CHECK(rejected.state == DispositionState::rejected);
  CHECK(f.actions().back() == "dispose_reject");
  CHECK(code([&] { reject_disposition(*f.index, d.id, kBob, kNow); }) == Errc::conflict);
  CHECK(code([&] { execute_disposition(*f.index, f.blobs, d.id, kBob, kNow); }) == Errc::conflict);
  CHECK(code([&] { request_disposition(*f.index, {b.record.id}, "r", kAda, kNow); }) == Errc::conflict);
  CHECK(f.index->dispositions(10).items.size() == 2);
}

TEST_CASE("disposal: a crash after the commit leaves items disposed, and reap finishes the deletions",
          "[disposal][lifecycle][crash]") {
  Fixture f;
  const auto a = f.add("content of a");
  const auto b = f.add("content of b");
  const auto live = f.add("content of live");
  auto d = request_disposition(*f.index, {a.record.id, b.record.id}, "r", kAda, kNow);
  {
    NoDeletes crashing(f.blobs);
    auto done = execute_disposition(*f.index, crashing, d.id, kBob, kNow);
    CHECK(done.blobs.errors.size() == 2);
    CHECK(done.blobs.removed.empty());
  }
  // The commit held: items disposed, blobs still there.
  CHECK(f.index->disposed(a.record.id));
  CHECK(f.index->disposed(b.record.id));
  CHECK(f.blobs.exists(a.record.sha256));
  CHECK(f.blobs.exists(b.record.sha256));

  // The daemon starts again.
  f.index.reset();
  f.index = std::make_unique<LmdbIndex>(f.d.layout, OpenMode::read_write);
  auto r = reap_disposed_blobs(*f.index, f.blobs);
  CHECK(r.removed.size() == 2);
  CHECK(r.errors.empty());
  CHECK_FALSE(f.blobs.exists(a.record.sha256));
  CHECK_FALSE(f.blobs.exists(b.record.sha256));
  CHECK(f.blobs.exists(live.record.sha256));
  // Again: nothing left to do, nothing fails.
  auto again = reap_disposed_blobs(*f.index, f.blobs);
  CHECK(again.removed.empty());
  CHECK(again.absent.size() == 2);
  CHECK(again.errors.empty());
}
