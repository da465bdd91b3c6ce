// Conformance, EvidenceIndex: items and their indexes, cases, search, derived data.
#include <algorithm>
#include <set>

#include "tests/store/conformance.h"

using namespace evidence;
using namespace evidence::conformance;

TEST_CASE("conformance: a committed item reads back with its bytes, token, cases and ingest entry", "[conformance]") {
  CONFORMANCE_FOR_EACH_ENGINE(engine) {
    Subject s(engine);
    auto n = item("footage one", {"CASE-1", "CASE-2"});
    const auto id = n.record.id;
    const Committed c = s->commit_evidence(n);
    CHECK(c.record.id == id);
    CHECK(c.log_index == 0);
    CHECK(c.record.log_index == 0);

    auto r = s->get_evidence(id);
    REQUIRE(r);
    CHECK(r->sha256 == n.record.sha256);
    CHECK(r->size == n.record.size);
    CHECK(r->officer == "officer-1");
    CHECK(r->device == "cam-7");
    CHECK(r->recorded_at == n.record.recorded_at);
    CHECK(r->cases == std::vector<std::string>{"CASE-1", "CASE-2"});
    CHECK(r->log_index == c.log_index);

    auto bytes = s->evidence_bytes(id);
    REQUIRE(bytes);
    CHECK(Sha256::of(*bytes).hex() == c.record_hash);
    CHECK(*bytes == c.record.encode());
    CHECK(s->timestamp_token(id) == std::optional<Bytes>(n.timestamp_token));

    auto cases = s->cases_of(id);
    std::sort(cases.begin(), cases.end());
    CHECK(cases == std::vector<std::string>{"CASE-1", "CASE-2"});
    CHECK(s->items_in_case("CASE-1") == std::vector<std::string>{id});
    CHECK(s->items_in_case("CASE-3").empty());
    CHECK(s->evidence_count() == 1);

    // The ingest entry, in the same commit, names the item and binds its record and content.
    REQUIRE(s->log_size() == 1);
    auto entry = s->log_entry(0);
    REQUIRE(entry);
    auto ev = CustodyEvent::decode(entry->leaf);
    CHECK(ev.action == "ingest");
    CHECK(ev.evidence == id);
    CHECK(ev.record_hash == c.record_hash);
    CHECK(ev.sha256 == n.record.sha256.hex());
    CHECK(ev.size == n.record.size);
    CHECK(s->entries_for_evidence(id) == std::vector<std::uint64_t>{0});

    CHECK_FALSE(s->get_evidence(new_evidence_id()));
    CHECK_FALSE(s->evidence_bytes("nothing"));
    CHECK_FALSE(s->timestamp_token("nothing"));
    CHECK(s->cases_of("nothing").empty());
  }
}

TEST_CASE("conformance: a batch commits every item with consecutive entries and its uploads", "[conformance]") {
  CONFORMANCE_FOR_EACH_ENGINE(engine) {
    Subject s(engine);
    s->append_event(event("before"));
    std::vector<NewEvidence> batch;
    for (int i = 0; i < 3; ++i) batch.push_back(item("batch " + std::to_string(i), {"B-1"}));
    batch[1].completes_upload = upload("up-1", 100);
    const auto done = s->commit_evidence_batch(batch);
    REQUIRE(done.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
      CHECK(done[i].record.id == batch[i].record.id);
      CHECK(done[i].log_index == i + 1);
      CHECK(s->get_evidence(batch[i].record.id));
      CHECK(s->entries_for_evidence(batch[i].record.id) == std::vector<std::uint64_t>{i + 1});
    }
    CHECK(s->log_size() == 4);
    CHECK(s->evidence_count() == 3);
    CHECK(s->items_in_case("B-1").size() == 3);
    auto up = s->get_upload("up-1");
    REQUIRE(up);
    CHECK(up->offset == 100);
    REQUIRE(up->metadata.contains("evidence_id"));
    CHECK(up->metadata.at("evidence_id").as_string() == batch[1].record.id);

    std::vector<std::string> ids;
    s->for_each_evidence([&](const std::string& id) { ids.push_back(id); });
    std::vector<std::string> want{batch[0].record.id, batch[1].record.id, batch[2].record.id};
    std::sort(want.begin(), want.end());
    CHECK(ids == want);
  }
}

TEST_CASE("conformance: a batch with one bad or known item commits nothing at all", "[conformance]") {
  CONFORMANCE_FOR_EACH_ENGINE(engine) {
    Subject s(engine);
    auto good = item("good", {"G-1"});
    auto bad = item("bad", {""});  // an empty case number
    CHECK(error_of([&] { s->commit_evidence_batch({good, bad}); }) == Errc::invalid_argument);
    auto bad_time = item("bad time");
    bad_time.record.recorded_at = "yesterday";
    CHECK(error_of([&] { s->commit_evidence(bad_time); }) == Errc::invalid_argument);
    auto bad_id = item("bad id");
    bad_id.record.id = "not-an-id";
    CHECK(error_of([&] { s->commit_evidence(bad_id); }) == Errc::invalid_argument);
    CHECK(s->evidence_count() == 0);
    CHECK(s->log_size() == 0);
    CHECK(s->list_cases("", 10).empty());

    // A known id, second in a batch: the first item and its entry do not stay either.
    auto first = s->commit_evidence(item("first"));
    auto again = item("again");
    again.record.id = first.record.id;
    auto fresh = item("fresh", {"F-1"});
    CHECK(error_of([&] { s->commit_evidence_batch({fresh, again}); }) == Errc::already_exists);
    CHECK(s->evidence_count() == 1);
    CHECK(s->log_size() == 1);
    CHECK_FALSE(s->get_evidence(fresh.record.id));
    CHECK(s->items_in_case("F-1").empty());
    CHECK(s->items_with_content(Sha256::of(std::string("fresh"))).empty());
  }
}

TEST_CASE("conformance: link and unlink are logged and refuse what is already so", "[conformance]") {
  CONFORMANCE_FOR_EACH_ENGINE(engine) {
    Subject s(engine);
    const auto a = s->commit_evidence(item("a", {"C-1"})).record.id;
    const auto b = s->commit_evidence(item("b")).record.id;

    const auto at = s->link_case(b, "C-1", event("detective", "link"));
    CHECK(at == 2);
    auto ev = CustodyEvent::decode(s->log_entry(at)->leaf);
    CHECK(ev.action == "link");
    CHECK(ev.evidence == b);
    CHECK(ev.case_number == "C-1");
    auto members = s->items_in_case("C-1");
    std::sort(members.begin(), members.end());
    CHECK(members == std::vector<std::string>{std::min(a, b), std::max(a, b)});
    CHECK(s->cases_of(b) == std::vector<std::string>{"C-1"});
    CHECK(s->entries_for_evidence(b) == std::vector<std::uint64_t>{1, 2});

    CHECK(error_of([&] { s->link_case(b, "C-1", event("detective", "link")); }) == Errc::conflict);
    CHECK(error_of([&] { s->link_case(new_evidence_id(), "C-1", event("d", "link")); }) == Errc::not_found);
    CHECK(error_of([&] { s->link_case(b, "", event("d", "link")); }) == Errc::invalid_argument);
    CHECK(error_of([&] { s->unlink_case(b, "C-9", event("d", "unlink")); }) == Errc::not_found);
    CHECK(s->log_size() == 3);  // refusals append nothing

    const auto out = s->unlink_case(a, "C-1", event("detective", "unlink"));
    CHECK(out == 3);
    auto un = CustodyEvent::decode(s->log_entry(out)->leaf);
    CHECK(un.action == "unlink");
    CHECK(un.evidence == a);
    CHECK(un.case_number == "C-1");
    CHECK(s->items_in_case("C-1") == std::vector<std::string>{b});
    CHECK(s->cases_of(a).empty());
    CHECK(error_of([&] { s->unlink_case(a, "C-1", event("d", "unlink")); }) == Errc::not_found);
    // The stored record keeps its ingest-time cases: links live in the case indexes.
    CHECK(s->get_evidence(a)->cases == std::vector<std::string>{"C-1"});
  }
}

TEST_CASE("conformance: list_cases gives case numbers by prefix in byte order up to the limit", "[conformance]") {
  CONFORMANCE_FOR_EACH_ENGINE(engine) {
    Subject s(engine);
    s->commit_evidence(item("1", {"2026-B", "2026-A"}));
    s->commit_evidence(item("2", {"2026-A", "2025-Z"}));
    s->commit_evidence(item("3", {"2027-A"}));
    CHECK(s->list_cases("", 100) == std::vector<std::string>{"2025-Z", "2026-A", "2026-B", "2027-A"});
    CHECK(s->list_cases("2026", 100) == std::vector<std::string>{"2026-A", "2026-B"});
    CHECK(s->list_cases("2026", 1) == std::vector<std::string>{"2026-A"});
    CHECK(s->list_cases("", 2) == std::vector<std::string>{"2025-Z", "2026-A"});
    CHECK(s->list_cases("2028", 100).empty());
    CHECK(s->list_cases("2026-AA", 100).empty());
    CHECK(error_of([&] { s->list_cases(std::string(512, 'x'), 10); }) == Errc::invalid_argument);
  }
}

namespace {

std::string at_minute(int m) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "2026-11-01T10:%02d:00Z", m);
  return buf;
}

std::int64_t us_at_minute(int m) { return to_unix_us(*parse_rfc3339(at_minute(m))); }

// Every item of a search, page by page through the cursors, as ids.
std::vector<std::string> all_pages(Index& index, SearchQuery q, std::size_t& pages) {
  std::vector<std::string> out;
  pages = 0;
  for (;;) {
    auto page = index.search(q);
    ++pages;
    REQUIRE(page.items.size() <= q.limit);
    for (auto& r : page.items) out.push_back(r.id);
    if (page.next.empty()) break;
    REQUIRE(pages < 100);
    q.cursor = page.next;
  }
  return out;
}

}  // namespace

TEST_CASE("conformance: search filters by officer, device and time and pages through cursors to the end", "[conformance]") {
  CONFORMANCE_FOR_EACH_ENGINE(engine) {
    Subject s(engine);
    // Ten items a minute apart, committed out of time order; officers and cameras alternate.
    std::vector<std::string> by_minute(10);
    for (int m : {5, 2, 9, 0, 7, 1, 8, 3, 6, 4}) {
      auto n = item("clip " + std::to_string(m), {}, m % 2 ? "officer-odd" : "officer-even",
                    m % 3 ? "cam-a" : "cam-b", at_minute(m));
      by_minute[static_cast<std::size_t>(m)] = s->commit_evidence(n).record.id;
    }
    std::size_t pages = 0;

    SearchQuery all;
    all.limit = 3;
    CHECK(all_pages(*s, all, pages) == by_minute);
    CHECK(pages == 4);

    SearchQuery odd;
    odd.officer = "officer-odd";
    odd.limit = 2;
    CHECK(all_pages(*s, odd, pages) ==
          std::vector<std::string>{by_minute[1], by_minute[3], by_minute[5], by_minute[7], by_minute[9]});
    CHECK(pages == 3);

    SearchQuery cam_b;
    cam_b.device = "cam-b";
    cam_b.limit = 1;
    CHECK(all_pages(*s, cam_b, pages) ==
          std::vector<std::string>{by_minute[0], by_minute[3], by_minute[6], by_minute[9]});

    SearchQuery both;
    both.officer = "officer-even";
    both.device = "cam-b";
    CHECK(all_pages(*s, both, pages) == std::vector<std::string>{by_minute[0], by_minute[6]});

    SearchQuery window;
    window.from_us = us_at_minute(2);
    window.to_us = us_at_minute(6);  // exclusive
    window.limit = 3;
    CHECK(all_pages(*s, window, pages) ==
          std::vector<std::string>{by_minute[2], by_minute[3], by_minute[4], by_minute[5]});
    SearchQuery odd_window = window;
    odd_window.officer = "officer-odd";
    CHECK(all_pages(*s, odd_window, pages) == std::vector<std::string>{by_minute[3], by_minute[5]});

    SearchQuery nobody;
    nobody.officer = "officer-none";
    auto empty = s->search(nobody);
    CHECK(empty.items.empty());
    CHECK(empty.next.empty());

    // A page that ends exactly at the last item may still offer a cursor; following
    // it gives nothing more (all_pages above checks the union is exact either way).
    SearchQuery exact;
    exact.limit = 10;
    auto one = s->search(exact);
    CHECK(one.items.size() == 10);

    SearchQuery bad = all;
    bad.cursor = "zz-not-hex";
    CHECK(error_of([&] { s->search(bad); }) == Errc::invalid_argument);
    // A cursor of an officer's search is refused by another officer's search.
    SearchQuery first_odd = odd;
    const auto next = s->search(first_odd).next;
    REQUIRE_FALSE(next.empty());
    SearchQuery even = odd;
    even.officer = "officer-even";
    even.cursor = next;
    CHECK(error_of([&] { s->search(even); }) == Errc::invalid_argument);
  }
}

TEST_CASE("conformance: items_with_content finds every item holding that content", "[conformance]") {
  CONFORMANCE_FOR_EACH_ENGINE(engine) {
    Subject s(engine);
    const auto a = s->commit_evidence(item("same bytes")).record.id;
    const auto b = s->commit_evidence(item("same bytes", {}, "officer-2")).record.id;
    const auto c = s->commit_evidence(item("other bytes")).record.id;
    auto same = s->items_with_content(Sha256::of(std::string("same bytes")));
    std::sort(same.begin(), same.end());
    CHECK(same == std::vector<std::string>{std::min(a, b), std::max(a, b)});
    CHECK(s->items_with_content(Sha256::of(std::string("other bytes"))) == std::vector<std::string>{c});
    CHECK(s->items_with_content(Sha256::of(std::string("never stored"))).empty());
  }
}

TEST_CASE("conformance: derived data is stored with its custody entry and replaced in place", "[conformance]") {
  CONFORMANCE_FOR_EACH_ENGINE(engine) {
    Subject s(engine);
    const auto id = s->commit_evidence(item("media")).record.id;
    CHECK_FALSE(s->get_derived("media", id));
    auto e = event("media-worker", "derive");
    e.evidence = id;
    CHECK(s->put_derived("media", id, "{\"codec\":\"h264\"}", e) == 1);
    CHECK(s->get_derived("media", id) == std::optional<std::string>("{\"codec\":\"h264\"}"));
    CHECK_FALSE(s->get_derived("thumbnail", id));
    CHECK_FALSE(s->get_derived("media", new_evidence_id()));
    CHECK(s->put_derived("media", id, "v2", e) == 2);
    CHECK(s->get_derived("media", id) == std::optional<std::string>("v2"));
    CHECK(s->entries_for_evidence(id) == std::vector<std::uint64_t>{0, 1, 2});
    // Kind and id are kept apart: ("ab", "c") is not ("a", "bc").
    s->put_derived("ab", "c", "one", event("w"));
    CHECK_FALSE(s->get_derived("a", "bc"));
  }
}
