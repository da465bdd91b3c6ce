// Conformance, the lifecycle (store/lifecycle_index.h and WriteTxn's lifecycle calls):
// retention categories and their defaults, each item's current category, tombstones,
// dispositions, the due query and live content.
#include "tests/store/conformance.h"

using namespace evidence;
using namespace evidence::conformance;

namespace {

// An item received long ago (so a 180-day category has passed).
NewEvidence old_item(const std::string& content, const std::string& category = {},
                     const std::string& received_at = "2020-01-01T00:00:00.000Z") {
  auto n = item(content);
  n.record.received_at = received_at;
  n.record.category = category;
  return n;
}

Disposed tombstone(const std::string& disposition = "01JDISP0000000000000000000") {
  return Disposed{"2026-11-30T12:00:00.000Z", disposition, "ada", "bob", "retention ended"};
}

Disposition disposition(const std::vector<std::string>& items) {
  Disposition d;
  d.id = new_disposition_id();
  d.items = items;
  d.reason = "retention ended";
  d.requested_by = "ada";
  d.requested_at = "2026-11-30T11:00:00.000Z";
  return d;
}

const std::string kNow = "2026-12-01T00:00:00.000Z";

}  // namespace

TEST_CASE("conformance: a new index holds the five default retention categories", "[conformance][lifecycle]") {
  CONFORMANCE_FOR_EACH_ENGINE(engine) {
    Subject s(engine);
    auto all = s->retention_categories();
    REQUIRE(all.size() == 5);
    std::vector<std::string> names;
    for (auto& c : all) names.push_back(c.name);
    CHECK(names == std::vector<std::string>{"complex_case", "evidence", "major_incident", "obstruction", "routine"});
    CHECK(s->retention_category("routine") == RetentionCategory{"routine", 180});
    for (const char* p : {"evidence", "obstruction", "major_incident", "complex_case"}) {
      INFO(p);
      auto c = s->retention_category(p);
      REQUIRE(c);
      CHECK(c->permanent());
    }
    CHECK_FALSE(s->retention_category("nonsense"));
    // Reopening adds nothing twice and keeps changes.
    s->write([](WriteTxn& t) { t.put_retention_category({"routine", 365}); });
    s.reopen();
    CHECK(s->retention_categories().size() == 5);
    CHECK(s->retention_category("routine")->days == 365u);
  }
}

TEST_CASE("conformance: categories are put, replaced and validated", "[conformance][lifecycle]") {
  CONFORMANCE_FOR_EACH_ENGINE(engine) {
    Subject s(engine);
    s->write([](WriteTxn& t) {
      t.put_retention_category({"traffic", 30});
      CHECK(t.retention_category("traffic") == RetentionCategory{"traffic", 30});  // reads its own write
      t.put_retention_category({"evidence", 10});  // replacing is allowed (the routes decide who may)
    });
    CHECK(s->retention_category("traffic") == RetentionCategory{"traffic", 30});
    CHECK(s->retention_category("evidence")->days == 10u);
    for (const char* bad : {"", "Traffic", "1st", "a b", "caf\xc3\xa9", "x/y"}) {
      INFO(bad);
      CHECK(error_of([&] { s->write([&](WriteTxn& t) { t.put_retention_category({bad, 30}); }); }) ==
            Errc::invalid_argument);
    }
    CHECK(s->retention_categories().size() == 6);
  }
}

TEST_CASE("conformance: an item's category is set apart from its record, which never changes",
          "[conformance][lifecycle]") {
  CONFORMANCE_FOR_EACH_ENGINE(engine) {
    Subject s(engine);
    const auto plain = s->commit_evidence(item("plain")).record.id;
    auto tagged = s->commit_evidence(old_item("tagged", "obstruction"));
    CHECK(s->item_category(plain) == std::optional<std::string>("routine"));
    CHECK(s->item_category(tagged.record.id) == std::optional<std::string>("obstruction"));
    CHECK_FALSE(s->item_category(new_evidence_id()));

    const auto bytes_before = s->evidence_bytes(tagged.record.id);
    s->write([&](WriteTxn& t) { t.set_item_category(tagged.record.id, "evidence"); });
    CHECK(s->item_category(tagged.record.id) == std::optional<std::string>("evidence"));
    CHECK(s->evidence_bytes(tagged.record.id) == bytes_before);
    CHECK(Sha256::of(*s->evidence_bytes(tagged.record.id)).hex() == tagged.record_hash);
    CHECK(s->get_evidence(tagged.record.id)->category == "obstruction");

    CHECK(error_of([&] { s->write([&](WriteTxn& t) { t.set_item_category(plain, "no_such"); }); }) == Errc::not_found);
    CHECK(error_of([&] { s->write([&](WriteTxn& t) { t.set_item_category(new_evidence_id(), "evidence"); }); }) ==
          Errc::not_found);
    // A bad category name at upload is refused like any bad metadata.
    CHECK(error_of([&] { s->commit_evidence(old_item("bad", "Not A Name")); }) == Errc::invalid_argument);
  }
}

TEST_CASE("conformance: a tombstone is written once and read back", "[conformance][lifecycle]") {
  CONFORMANCE_FOR_EACH_ENGINE(engine) {
    Subject s(engine);
    const auto a = s->commit_evidence(item("a")).record.id;
    const auto b = s->commit_evidence(item("b")).record.id;
    CHECK_FALSE(s->disposed(a));
    s->write([&](WriteTxn& t) {
      t.mark_disposed(a, tombstone());
      CHECK(t.disposed(a) == tombstone());
    });
    CHECK(s->disposed(a) == tombstone());
    CHECK_FALSE(s->disposed(b));
    CHECK(s->disposed_items() == std::vector<std::string>{a});
    CHECK(error_of([&] { s->write([&](WriteTxn& t) { t.mark_disposed(a, tombstone("other")); }); }) == Errc::conflict);
    CHECK(s->disposed(a)->disposition == tombstone().disposition);
    CHECK(error_of([&] { s->write([&](WriteTxn& t) { t.mark_disposed(new_evidence_id(), tombstone()); }); }) ==
          Errc::not_found);
    // The record stays.
    CHECK(s->get_evidence(a));
    s.reopen(OpenMode::read_only);
    CHECK(s->disposed(a) == tombstone());
  }
}

TEST_CASE("conformance: dispositions are stored, updated and listed newest first", "[conformance][lifecycle]") {
  CONFORMANCE_FOR_EACH_ENGINE(engine) {
    Subject s(engine);
    const auto a = s->commit_evidence(item("a")).record.id;
    std::vector<Disposition> made;
    for (int i = 0; i < 5; ++i) made.push_back(disposition({a}));
    s->write([&](WriteTxn& t) {
      for (auto& d : made) t.put_disposition(d);
    });
    CHECK(s->get_disposition(made[2].id) == made[2]);
    CHECK_FALSE(s->get_disposition(new_disposition_id()));
    CHECK_FALSE(s->get_disposition("not an id"));
    CHECK(error_of([&] { s->write([&](WriteTxn& t) { t.put_disposition(made[0]); }); }) == Errc::already_exists);
    auto bad = disposition({a});
    bad.id = "x";
    CHECK(error_of([&] { s->write([&](WriteTxn& t) { t.put_disposition(bad); }); }) == Errc::invalid_argument);

    auto decided = made[1];
    decided.state = DispositionState::rejected;
    decided.decided_by = "bob";
    decided.decided_at = "2026-11-30T13:00:00.000Z";
    s->write([&](WriteTxn& t) { t.update_disposition(decided); });
    CHECK(s->get_disposition(decided.id) == decided);
    CHECK(error_of([&] { s->write([&](WriteTxn& t) { t.update_disposition(disposition({a})); }); }) == Errc::not_found);

    std::vector<std::string> seen;
    std::string cursor;
    do {
      auto page = s->dispositions(2, cursor);
      CHECK(page.items.size() <= 2);
      for (auto& d : page.items) seen.push_back(d.id);
      cursor = page.next;
    } while (!cursor.empty());
    std::vector<std::string> expected;
    for (auto it = made.rbegin(); it != made.rend(); ++it) expected.push_back(it->id);
    CHECK(seen == expected);
    CHECK(s->dispositions(100).items.size() == 5);
    CHECK(error_of([&] { s->dispositions(10, "bogus"); }) == Errc::invalid_argument);
  }
}

TEST_CASE("conformance: due lists items past retention that are neither permanent nor disposed",
          "[conformance][lifecycle]") {
  CONFORMANCE_FOR_EACH_ENGINE(engine) {
    Subject s(engine);
    const auto due1 = s->commit_evidence(old_item("routine, old")).record.id;
    const auto fresh = s->commit_evidence(old_item("routine, new", "", "2026-11-01T00:00:00.000Z")).record.id;
    const auto kept = s->commit_evidence(old_item("permanent", "evidence")).record.id;
    const auto raised = s->commit_evidence(old_item("raised later")).record.id;
    const auto gone = s->commit_evidence(old_item("disposed of")).record.id;
    const auto due2 = s->commit_evidence(old_item("routine, old 2", "routine")).record.id;
    s->write([&](WriteTxn& t) {
      t.set_item_category(raised, "major_incident");
      t.mark_disposed(gone, tombstone());
    });
    (void)fresh;
    (void)kept;

    auto page = s->due(kNow, 100);
    REQUIRE(page.items.size() == 2);
    CHECK(page.items[0].id == due1);
    CHECK(page.items[0].category == "routine");
    CHECK(page.items[0].retain_until == "2020-06-29T00:00:00.000Z");  // 180 days after 2020-01-01
    CHECK(page.items[1].id == due2);
    CHECK(page.next.empty());

    auto first = s->due(kNow, 1);
    REQUIRE(first.items.size() == 1);
    CHECK(first.items[0].id == due1);
    REQUIRE_FALSE(first.next.empty());
    auto second = s->due(kNow, 1, first.next);
    REQUIRE(second.items.size() == 1);
    CHECK(second.items[0].id == due2);
    CHECK(second.next.empty());

    // Before the date nothing is due; a shorter category makes the fresh one due.
    CHECK(s->due("2020-06-28T00:00:00Z", 100).items.empty());
    s->write([](WriteTxn& t) { t.put_retention_category({"routine", 1}); });
    CHECK(s->due(kNow, 100).items.size() == 3);

    CHECK(error_of([&] { s->due("yesterday", 10); }) == Errc::invalid_argument);
    CHECK(error_of([&] { s->due(kNow, 10, "bogus"); }) == Errc::invalid_argument);
  }
}

TEST_CASE("conformance: content is live while any item that has it is not disposed", "[conformance][lifecycle]") {
  CONFORMANCE_FOR_EACH_ENGINE(engine) {
    Subject s(engine);
    const auto a = s->commit_evidence(item("shared")).record.id;
    const auto b = s->commit_evidence(item("shared")).record.id;
    const auto content = Sha256::of(std::string("shared"));
    CHECK(s->content_live(content));
    CHECK_FALSE(s->content_live(Sha256::of(std::string("never stored"))));
    s->write([&](WriteTxn& t) { t.mark_disposed(a, tombstone()); });
    CHECK(s->content_live(content));
    s->write([&](WriteTxn& t) { t.mark_disposed(b, tombstone()); });
    CHECK_FALSE(s->content_live(content));
  }
}

TEST_CASE("conformance: lifecycle writes in a failed transaction leave nothing", "[conformance][lifecycle]") {
  CONFORMANCE_FOR_EACH_ENGINE(engine) {
    Subject s(engine);
    const auto a = s->commit_evidence(item("a")).record.id;
    const auto d = disposition({a});
    struct Abort {};
    CHECK_THROWS_AS(s->write([&](WriteTxn& t) {
      t.put_disposition(d);
      t.mark_disposed(a, tombstone(d.id));
      t.set_item_category(a, "evidence");
      t.put_retention_category({"traffic", 30});
      throw Abort{};
    }),
                    Abort);
    CHECK_FALSE(s->get_disposition(d.id));
    CHECK_FALSE(s->disposed(a));
    CHECK(s->item_category(a) == std::optional<std::string>("routine"));
    CHECK_FALSE(s->retention_category("traffic"));
  }
}
