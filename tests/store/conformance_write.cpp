// Conformance, Index::write and the index as a whole: one transaction for many
// changes (all or nothing), reopening, and read-only opens.
#include "tests/store/conformance.h"

using namespace evidence;
using namespace evidence::conformance;

TEST_CASE("conformance: changes in one write commit together and read their own writes", "[conformance]") {
  CONFORMANCE_FOR_EACH_ENGINE(engine) {
    Subject s(engine);
    const auto id = s->commit_evidence(item("held")).record.id;
    s->put_user(user("gina"), Sha256::of(std::string("gina")));
    s->put_upload(upload("gone"));
    std::vector<std::uint64_t> appended;
    s->write([&](WriteTxn& t) {
      appended.clear();  // the engine may run this again
      auto e = event("gina", "hold");
      e.evidence = id;
      appended.push_back(t.append(e));
      t.put_derived("hold", id, "until trial");
      CHECK(t.get_derived("hold", id) == std::optional<std::string>("until trial"));
      t.link_case(id, "H-1");
      appended.push_back(t.append(event("gina", "link")));
      t.put_user(user("hank"), Sha256::of(std::string("hank")));
      CHECK(t.user_by_name("hank"));
      auto g = t.user_by_name("gina");
      REQUIRE(g);
      g->unit = "evidence room";
      t.update_user(*g);
      t.replace_user_token("gina", Sha256::of(std::string("gina 2")));
      t.put_upload(upload("new"));
      t.delete_upload("gone");
    });
    CHECK(appended == std::vector<std::uint64_t>{1, 2});
    CHECK(s->log_size() == 3);
    CHECK(s->entries_for_evidence(id) == std::vector<std::uint64_t>{0, 1});
    CHECK(s->get_derived("hold", id) == std::optional<std::string>("until trial"));
    CHECK(s->items_in_case("H-1") == std::vector<std::string>{id});
    CHECK(s->user_by_name("hank"));
    CHECK(s->user_by_token_hash(Sha256::of(std::string("gina 2")))->unit == "evidence room");
    CHECK_FALSE(s->user_by_token_hash(Sha256::of(std::string("gina"))));
    CHECK(s->get_upload("new"));
    CHECK_FALSE(s->get_upload("gone"));
    // The tree kept up: the root is the one the leaves give.
    CHECK(s->log_root(3) == mth(leaf_hashes(*s), 0, 3));
  }
}

TEST_CASE("conformance: an exception inside write leaves nothing of the transaction", "[conformance]") {
  CONFORMANCE_FOR_EACH_ENGINE(engine) {
    Subject s(engine);
    const auto id = s->commit_evidence(item("kept")).record.id;
    s->put_user(user("ivan"), Sha256::of(std::string("ivan")));
    s->put_upload(upload("stays"));
    const auto root_before = s->log_root(1);

    struct Abort {};
    CHECK_THROWS_AS(s->write([&](WriteTxn& t) {
      t.append(event("ivan", "hold"));
      t.put_derived("hold", id, "x");
      t.link_case(id, "X-1");
      t.put_user(user("judy"), Sha256::of(std::string("judy")));
      auto u = t.user_by_name("ivan");
      u->disabled = true;
      t.update_user(*u);
      t.put_upload(upload("half"));
      t.delete_upload("stays");
      throw Abort{};
    }),
                    Abort);
    // An Error from the transaction itself, after an append, aborts it as well.
    CHECK(error_of([&] {
            s->write([&](WriteTxn& t) {
              t.append(event("ivan", "link"));
              t.link_case(id, "Y-1");
              t.link_case(id, "Y-1");  // conflict
            });
          }) == Errc::conflict);
    CHECK(error_of([&] {
            s->write([&](WriteTxn& t) {
              t.append(event("ivan"));
              t.put_user(user("ivan"), Sha256::of(std::string("another")));
            });
          }) == Errc::already_exists);

    CHECK(s->log_size() == 1);
    CHECK(s->log_root(1) == root_before);
    CHECK(s->entries_for_evidence(id) == std::vector<std::uint64_t>{0});
    CHECK_FALSE(s->get_derived("hold", id));
    CHECK(s->cases_of(id).empty());
    CHECK(s->list_cases("", 10).empty());
    CHECK_FALSE(s->user_by_name("judy"));
    CHECK_FALSE(s->user_by_name("ivan")->disabled);
    CHECK_FALSE(s->user_by_token_hash(Sha256::of(std::string("another"))));
    CHECK_FALSE(s->get_upload("half"));
    CHECK(s->get_upload("stays"));
    // And the log goes on from where it was.
    CHECK(s->append_event(event("ivan")) == 1);
    CHECK(s->log_root(2) == mth(leaf_hashes(*s), 0, 2));
  }
}

TEST_CASE("conformance: everything persists across reopening and the log continues", "[conformance]") {
  CONFORMANCE_FOR_EACH_ENGINE(engine) {
    Subject s(engine);
    const auto c = s->commit_evidence(item("persisted", {"P-1"}));
    s->link_case(c.record.id, "P-2", event("kim", "link"));
    auto derived = event("worker", "derive");
    derived.evidence = c.record.id;
    s->put_derived("media", c.record.id, "m", derived);
    s->put_user(user("kim"), Sha256::of(std::string("kim")));
    s->put_upload(upload("u"));
    s->put_checkpoint({3, "note\n", {0x30}});
    const auto root = s->log_root(3);

    s.reopen();
    CHECK(s->evidence_count() == 1);
    CHECK(s->evidence_bytes(c.record.id) == std::optional<Bytes>(c.record.encode()));
    CHECK(s->items_in_case("P-2") == std::vector<std::string>{c.record.id});
    CHECK(s->list_cases("P", 10) == std::vector<std::string>{"P-1", "P-2"});
    CHECK(s->get_derived("media", c.record.id) == std::optional<std::string>("m"));
    CHECK(s->user_by_token_hash(Sha256::of(std::string("kim"))));
    CHECK(s->get_upload("u"));
    CHECK(s->latest_checkpoint()->size == 3);
    CHECK(s->log_size() == 3);
    CHECK(s->log_root(3) == root);
    CHECK(s->entries_for_evidence(c.record.id) == std::vector<std::uint64_t>{0, 1, 2});
    SearchQuery q;
    q.officer = "officer-1";
    CHECK(s->search(q).items.size() == 1);

    CHECK(s->append_event(event("kim")) == 3);
    const auto leaves = leaf_hashes(*s);
    CHECK(s->log_root(4) == mth(leaves, 0, 4));
    CHECK(s->consistency_proof(3, 4) == subproof(leaves, 3, 0, 4, true));
  }
}

TEST_CASE("conformance: a read-only index reads everything and refuses every write", "[conformance]") {
  CONFORMANCE_FOR_EACH_ENGINE(engine) {
    Subject s(engine);
    const auto id = s->commit_evidence(item("read me", {"R-1"})).record.id;
    s->put_user(user("lena"), Sha256::of(std::string("lena")));
    s->put_upload(upload("u"));
    s->put_checkpoint({1, "note\n", {}});
    s.reopen(OpenMode::read_only);

    CHECK(s->get_evidence(id));
    CHECK(s->items_in_case("R-1") == std::vector<std::string>{id});
    CHECK(s->log_size() == 1);
    CHECK(s->log_root(1) == mth(leaf_hashes(*s), 0, 1));
    CHECK(s->user_by_name("lena"));
    CHECK(s->get_upload("u"));
    CHECK(s->checkpoints().size() == 1);

    const auto denied = Errc::permission_denied;
    CHECK(error_of([&] { s->commit_evidence(item("no")); }) == denied);
    CHECK(error_of([&] { s->append_event(event("x")); }) == denied);
    CHECK(error_of([&] { s->link_case(id, "R-2", event("x", "link")); }) == denied);
    CHECK(error_of([&] { s->unlink_case(id, "R-1", event("x", "unlink")); }) == denied);
    CHECK(error_of([&] { s->put_derived("media", id, "v", event("x")); }) == denied);
    CHECK(error_of([&] { s->put_user(user("mike"), Sha256::of(std::string("mike"))); }) == denied);
    CHECK(error_of([&] { s->update_user("lena", [](User& u) { u.disabled = true; }, event("x")); }) == denied);
    CHECK(error_of([&] { s->replace_user_token("lena", Sha256::of(std::string("l2")), event("x")); }) == denied);
    CHECK(error_of([&] { s->touch_users({{"lena", "2027-01-01T00:00:00Z"}}); }) == denied);
    CHECK(error_of([&] { s->put_upload(upload("v")); }) == denied);
    CHECK(error_of([&] { s->delete_upload("u"); }) == denied);
    CHECK(error_of([&] { s->put_checkpoint({1, "other\n", {}}); }) == denied);
    CHECK(error_of([&] { s->write([](WriteTxn&) {}); }) == denied);

    s.reopen();
    CHECK(s->log_size() == 1);
    CHECK(s->evidence_count() == 1);
    CHECK(s->get_upload("u"));
    CHECK_FALSE(s->user_by_name("lena")->disabled);
  }
}

TEST_CASE("conformance: a read-only open where there is no index is not_found", "[conformance]") {
  CONFORMANCE_FOR_EACH_ENGINE(engine) {
    test::TempDir dir;
    CHECK(error_of([&] { engine.open(dir.path() / "nothing", OpenMode::read_only); }) == Errc::not_found);
  }
}
