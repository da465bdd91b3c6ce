// Conformance, chains: the engine sets `prev` (per item) and `case_prev` (per case)
// on every entry it appends (DESIGN.md, "Gaps are visible offline").
#include "tests/store/conformance.h"

using namespace evidence;
using namespace evidence::conformance;

namespace {

CustodyEvent entry_at(Index& s, std::uint64_t i) {
  auto e = s.log_entry(i);
  REQUIRE(e);
  return CustodyEvent::decode(e->leaf);
}

CustodyEvent naming(const std::string& action, const std::string& id, std::optional<std::string> case_number = {}) {
  auto e = event("reviewer-1", action);
  if (!id.empty()) e.evidence = id;
  e.case_number = std::move(case_number);
  return e;
}

}  // namespace

TEST_CASE("conformance: an item's entries chain by prev through ingest, view and link", "[conformance]") {
  CONFORMANCE_FOR_EACH_ENGINE(engine) {
    Subject s(engine);
    s->append_event(event("before"));                                          // 0
    auto n = item("chained footage");
    n.event.case_number = "C-1";
    const auto id = n.record.id;
    const auto ingest = s->commit_evidence(n).log_index;                       // 1
    s->append_event(event("unrelated"));                                       // 2
    auto forged = naming("view", id);
    forged.prev = 99;        // callers never set prev: the engine overrides it
    forged.case_prev = 98;
    const auto view = s->append_event(forged);                                 // 3
    const auto link = s->link_case(id, "C-2", naming("link", id, "C-2"));     // 4

    CHECK(ingest == 1);
    CHECK_FALSE(entry_at(*s, ingest).prev);
    CHECK_FALSE(entry_at(*s, 0).prev);
    CHECK_FALSE(entry_at(*s, 2).prev);
    CHECK(entry_at(*s, view).prev == ingest);
    CHECK_FALSE(entry_at(*s, view).case_prev);  // it names no case
    CHECK(entry_at(*s, link).prev == view);
    CHECK_FALSE(entry_at(*s, link).case_prev);  // the first entry naming C-2

    // The chain survives a reopen (it is kept in the index, not in memory).
    s.reopen();
    const auto again = s->append_event(naming("view", id));
    CHECK(entry_at(*s, again).prev == link);
    CHECK(s->newest_entry_for_case("C-2") == link);
    CHECK(s->newest_entry_for_case("C-1") == ingest);
    CHECK_FALSE(s->newest_entry_for_case("C-3"));
  }
}

TEST_CASE("conformance: entries of two items in one case chain by case_prev", "[conformance]") {
  CONFORMANCE_FOR_EACH_ENGINE(engine) {
    Subject s(engine);
    auto a = item("item a", {"CASE-9"});
    a.event.case_number = "CASE-9";
    auto b = item("item b", {"CASE-9"});
    b.event.case_number = "CASE-9";
    const auto ia = s->commit_evidence(a).log_index;
    s->append_event(naming("view", a.record.id));  // names no case
    const auto ib = s->commit_evidence(b).log_index;
    const auto un = s->unlink_case(a.record.id, "CASE-9", naming("unlink", a.record.id, "CASE-9"));

    CHECK_FALSE(entry_at(*s, ia).case_prev);
    CHECK(entry_at(*s, ib).case_prev == ia);
    CHECK_FALSE(entry_at(*s, ib).prev);  // b's ingest
    CHECK(entry_at(*s, un).case_prev == ib);
    CHECK(entry_at(*s, un).prev == ia + 1);
    CHECK(s->newest_entry_for_case("CASE-9") == un);
  }
}

TEST_CASE("conformance: in one batch a later entry for the same case or item chains to the earlier", "[conformance]") {
  CONFORMANCE_FOR_EACH_ENGINE(engine) {
    Subject s(engine);
    const auto first = s->append_event(naming("note", "", "B-7"));  // a case entry naming no item
    // Two items ingested into one case in one group commit.
    std::vector<NewEvidence> batch;
    for (int i = 0; i < 2; ++i) {
      batch.push_back(item("batch item " + std::to_string(i), {"B-7"}));
      batch.back().event.case_number = "B-7";
    }
    const auto done = s->commit_evidence_batch(batch);
    REQUIRE(done.size() == 2);
    CHECK(entry_at(*s, done[0].log_index).case_prev == first);
    CHECK(entry_at(*s, done[1].log_index).case_prev == done[0].log_index);

    // Several entries in one append: same item twice, same case twice.
    const auto id = done[0].record.id;
    const auto idx = s->append_events({naming("view", id, "B-7"), naming("download", id), naming("view", id, "B-7")});
    REQUIRE(idx.size() == 3);
    CHECK(entry_at(*s, idx[0]).prev == done[0].log_index);
    CHECK(entry_at(*s, idx[0]).case_prev == done[1].log_index);
    CHECK(entry_at(*s, idx[1]).prev == idx[0]);
    CHECK_FALSE(entry_at(*s, idx[1]).case_prev);
    CHECK(entry_at(*s, idx[2]).prev == idx[1]);
    CHECK(entry_at(*s, idx[2]).case_prev == idx[0]);
  }
}
