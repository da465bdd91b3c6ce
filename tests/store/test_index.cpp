#include <catch2/catch.hpp>

#include "base/error.h"
#include "store/index.h"
#include "store/lmdb/lmdb_index.h"
#include "tests/store/store_fixture.h"
#include "tests/tempdir.h"

using namespace evidence;

TEST_CASE("an item is committed with its indexes and its ingest custody entry", "[index]") {
  test::TempDir dir;
  Layout layout(dir.path());
  LocalBlobStore blobs(layout);
  LmdbIndex index(layout, OpenMode::read_write);
  auto blob = test::put_blob(blobs, "footage");
  const std::string cjk = "汉台执罚〔2017〕第123号";
  auto item = test::new_item(blob, {cjk});
  auto committed = index.commit_evidence(item);

  auto rec = index.get_evidence(item.record.id);
  REQUIRE(rec);
  CHECK(rec->sha256 == blob.id);
  CHECK(rec->cases == std::vector<std::string>{cjk});
  CHECK(rec->log_index == committed.log_index);
  CHECK(index.items_in_case(cjk) == std::vector<std::string>{item.record.id});
  CHECK(index.cases_of(item.record.id) == std::vector<std::string>{cjk});
  CHECK(index.items_with_content(blob.id) == std::vector<std::string>{item.record.id});
  CHECK(index.list_cases("汉台", 10) == std::vector<std::string>{cjk});
  CHECK(index.list_cases("X", 10).empty());

  // The ingest entry carries the SHA-256 of the exact stored record bytes.
  auto bytes = index.evidence_bytes(item.record.id);
  REQUIRE(bytes);
  auto entry = index.log_entry(committed.log_index);
  REQUIRE(entry);
  auto event = CustodyEvent::decode(entry->leaf);
  CHECK(event.action == "ingest");
  CHECK(event.evidence == item.record.id);
  CHECK(event.case_number == cjk);
  CHECK(event.record_hash == Sha256::of(*bytes).hex());
  CHECK(committed.record_hash == Sha256::of(*bytes).hex());
  CHECK(index.entries_for_evidence(item.record.id) == std::vector<std::uint64_t>{committed.log_index});
  CHECK(index.timestamp_token(item.record.id) == item.timestamp_token);
}

TEST_CASE("invalid metadata is refused before anything is written", "[index]") {
  test::TempDir dir;
  Layout layout(dir.path());
  LocalBlobStore blobs(layout);
  LmdbIndex index(layout, OpenMode::read_write);
  auto blob = test::put_blob(blobs, "x");
  for (auto bad_case : {std::string(), std::string(129, 'a'), std::string("a\nb"), std::string("\xff\xfe"),
                        std::string("a\x7f")}) {
    auto item = test::new_item(blob, {bad_case});
    try {
      index.commit_evidence(item);
      FAIL("accepted case number " << bad_case);
    } catch (const Error& e) {
      CHECK(e.code() == Errc::invalid_argument);
    }
  }
  auto no_time = test::new_item(blob);
  no_time.record.recorded_at = "yesterday";
  CHECK_THROWS_AS(index.commit_evidence(no_time), Error);
  CHECK(index.log_size() == 0);
  CHECK(index.evidence_count() == 0);
}

TEST_CASE("linking and unlinking cases are many-to-many and logged", "[index]") {
  test::TempDir dir;
  Layout layout(dir.path());
  LocalBlobStore blobs(layout);
  LmdbIndex index(layout, OpenMode::read_write);
  auto blob = test::put_blob(blobs, "same bytes, two items");
  auto a = test::new_item(blob, {"CASE/1 a"});
  auto b = test::new_item(blob, {"CASE/1 a"}, "officer-2");
  index.commit_evidence(a);
  index.commit_evidence(b);
  CHECK(index.items_with_content(blob.id).size() == 2);
  CustodyEvent ev{"2026-11-27T00:00:00.000Z", "rev", "reviewer", "link", {}, {}, {}, {}, {}, {}};
  auto li = index.link_case(a.record.id, "CASE-2", ev);
  CHECK(index.log_entry(li)->leaf.find("\"link\"") != std::string::npos);
  CHECK(index.cases_of(a.record.id).size() == 2);
  CHECK_THROWS_AS(index.link_case(a.record.id, "CASE-2", ev), Error);
  CHECK(index.items_in_case("CASE/1 a").size() == 2);
  ev.action = "unlink";
  index.unlink_case(a.record.id, "CASE/1 a", ev);
  CHECK(index.items_in_case("CASE/1 a") == std::vector<std::string>{b.record.id});
  CHECK_THROWS_AS(index.unlink_case(a.record.id, "CASE/1 a", ev), Error);
  // The ingest-time record is unchanged by later links.
  CHECK(index.get_evidence(a.record.id)->cases == std::vector<std::string>{"CASE/1 a"});
  CHECK(index.list_cases("", 10) == std::vector<std::string>{"CASE-2", "CASE/1 a"});
}

TEST_CASE("search by officer, device and time pages with a cursor", "[index]") {
  test::TempDir dir;
  Layout layout(dir.path());
  LocalBlobStore blobs(layout);
  LmdbIndex index(layout, OpenMode::read_write);
  for (int i = 0; i < 25; ++i) {
    auto blob = test::put_blob(blobs, "item " + std::to_string(i));
    char when[32];
    std::snprintf(when, sizeof when, "2026-11-01T10:%02d:00Z", i);
    index.commit_evidence(test::new_item(blob, {}, i % 2 ? "odd" : "even", i % 3 ? "cam-a" : "cam-b", when));
  }
  SearchQuery q;
  q.officer = "odd";
  q.limit = 5;
  std::vector<std::string> seen;
  for (int pages = 0; pages < 10; ++pages) {
    auto page = index.search(q);
    for (auto& r : page.items) {
      CHECK(r.officer == "odd");
      seen.push_back(r.recorded_at);
    }
    if (page.next.empty()) break;
    q.cursor = page.next;
  }
  CHECK(seen.size() == 12);
  CHECK(std::is_sorted(seen.begin(), seen.end()));

  SearchQuery both;
  both.officer = "even";
  both.device = "cam-b";
  for (auto& r : index.search(both).items) CHECK((r.officer == "even" && r.device == "cam-b"));
  CHECK(index.search(both).items.size() == 5);  // i in {0, 6, 12, 18, 24}

  SearchQuery range;
  range.from_us = to_unix_us(*parse_rfc3339("2026-11-01T10:05:00Z"));
  range.to_us = to_unix_us(*parse_rfc3339("2026-11-01T10:10:00Z"));
  CHECK(index.search(range).items.size() == 5);
  SearchQuery everything;  // no filter at all: every item, in time order
  everything.limit = 1000;
  CHECK(index.search(everything).items.size() == 25);
  CHECK(index.search(everything).next.empty());
  SearchQuery bad;
  bad.cursor = "zz";
  CHECK_THROWS_AS(index.search(bad), Error);
}

namespace {
User make_user(std::string name, Role role, std::string created_at) {
  User u;
  u.name = std::move(name);
  u.role = role;
  u.created_at = std::move(created_at);
  return u;
}
}  // namespace

TEST_CASE("users are found by token hash only", "[index]") {
  test::TempDir dir;
  LmdbIndex index(Layout(dir.path()), OpenMode::read_write);
  auto h = Sha256::of(std::string("token"));
  index.put_user(make_user("alice", Role::reviewer, "2026-11-27T00:00:00.000Z"), h);
  auto u = index.user_by_token_hash(h);
  REQUIRE(u);
  CHECK(u->name == "alice");
  CHECK(u->role == Role::reviewer);
  CHECK_FALSE(index.user_by_token_hash(Sha256::of(std::string("other"))));
  try {
    index.put_user(make_user("alice", Role::admin, ""), Sha256::of(std::string("t2")));
    FAIL("duplicate user name accepted");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::already_exists);
  }
}

TEST_CASE("upload sessions survive reopening", "[index]") {
  test::TempDir dir;
  Layout layout(dir.path());
  UploadSession s;
  s.id = "0123abcd";
  s.length = 1000;
  s.offset = 400;
  s.metadata["officer"] = "o";
  {
    LmdbIndex index(layout, OpenMode::read_write);
    index.put_upload(s);
  }
  LmdbIndex index(layout, OpenMode::read_write);
  auto got = index.get_upload("0123abcd");
  REQUIRE(got);
  CHECK(got->offset == 400);
  CHECK(got->metadata.at("officer").as_string() == "o");
  index.delete_upload("0123abcd");
  CHECK_FALSE(index.get_upload("0123abcd"));
}

TEST_CASE("the map grows when it fills instead of failing", "[index]") {
  test::TempDir dir;
  Layout layout(dir.path());
  LmdbIndex index(layout, OpenMode::read_write, 256 * 1024);
  auto before = index.map_size();
  CustodyEvent ev{"2026-11-27T00:00:00.000Z", "a", "admin", "view", {}, {}, {}, {}, {}, {}};
  ev.detail = boost::json::object{{"pad", std::string(2000, 'p')}};
  for (int i = 0; i < 400; ++i) index.append_event(ev);
  CHECK(index.log_size() == 400);
  CHECK(index.map_size() > before);
  // A read-only opener (as `evidenced verify` is) sees everything.
  LmdbIndex ro(layout, OpenMode::read_only);
  CHECK(ro.log_size() == 400);
  CHECK_THROWS_AS(ro.append_event(ev), Error);
}

TEST_CASE("a read-only open of a missing index fails clearly", "[index]") {
  test::TempDir dir;
  try {
    LmdbIndex ro(Layout(dir.path() / "nothing"), OpenMode::read_only);
    FAIL("opened nothing");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::not_found);
  }
}
