// Conformance, UserDirectory and UploadSessions.
#include "tests/store/conformance.h"

using namespace evidence;
using namespace evidence::conformance;

TEST_CASE("conformance: users are found by token hash and name, and a taken name is refused", "[conformance]") {
  CONFORMANCE_FOR_EACH_ENGINE(engine) {
    Subject s(engine);
    const auto alice_token = Sha256::of(std::string("alice's token"));
    s->put_user(user("alice", Role::admin), alice_token);
    auto by_token = s->user_by_token_hash(alice_token);
    REQUIRE(by_token);
    CHECK(by_token->name == "alice");
    CHECK(by_token->role == Role::admin);
    CHECK(s->user_by_name("alice")->role == Role::admin);
    CHECK_FALSE(s->user_by_token_hash(Sha256::of(std::string("alice's token "))));
    CHECK_FALSE(s->user_by_name("bob"));
    CHECK_FALSE(s->user_by_name(""));
    CHECK_FALSE(s->user_by_name(std::string(600, 'x')));
    CHECK(s->log_size() == 0);  // without an event, no entry

    CHECK(error_of([&] { s->put_user(user("alice"), Sha256::of(std::string("other"))); }) == Errc::already_exists);
    CHECK(error_of([&] { s->put_user(user(""), Sha256::of(std::string("t"))); }) == Errc::invalid_argument);

    const auto ev = event("alice", "user_create");
    s->put_user(user("bob"), Sha256::of(std::string("bob's token")), &ev);
    CHECK(s->log_size() == 1);
    CHECK(CustodyEvent::decode(s->log_entry(0)->leaf).action == "user_create");

    auto all = s->users();
    REQUIRE(all.size() == 2);
    // In token-hash order.
    const bool alice_first = alice_token < Sha256::of(std::string("bob's token"));
    CHECK(all[0].name == (alice_first ? "alice" : "bob"));
    CHECK(all[1].name == (alice_first ? "bob" : "alice"));
  }
}

TEST_CASE("conformance: update_user changes a user with its entry and never renames", "[conformance]") {
  CONFORMANCE_FOR_EACH_ENGINE(engine) {
    Subject s(engine);
    const auto token = Sha256::of(std::string("carol's token"));
    s->put_user(user("carol"), token);
    const auto at = s->update_user(
        "carol",
        [](User& u) {
          u.disabled = true;
          u.unit = "traffic";
          u.name = "mallory";
        },
        event("admin", "user_disable"));
    CHECK(at == 0);
    auto carol = s->user_by_token_hash(token);
    REQUIRE(carol);
    CHECK(carol->name == "carol");
    CHECK(carol->disabled);
    CHECK(carol->unit == "traffic");
    CHECK_FALSE(s->user_by_name("mallory"));
    CHECK(CustodyEvent::decode(s->log_entry(0)->leaf).action == "user_disable");

    CHECK(error_of([&] { s->update_user("nobody", [](User&) {}, event("admin")); }) == Errc::not_found);
    CHECK(s->log_size() == 1);
  }
}

TEST_CASE("conformance: replacing a token retires the old one in the same commit as its entry", "[conformance]") {
  CONFORMANCE_FOR_EACH_ENGINE(engine) {
    Subject s(engine);
    const auto old_token = Sha256::of(std::string("old"));
    const auto new_token = Sha256::of(std::string("new"));
    s->put_user(user("dave", Role::reviewer), old_token);
    CHECK(s->replace_user_token("dave", new_token, event("admin", "token_replace")) == 0);
    CHECK_FALSE(s->user_by_token_hash(old_token));
    auto dave = s->user_by_token_hash(new_token);
    REQUIRE(dave);
    CHECK(dave->name == "dave");
    CHECK(dave->role == Role::reviewer);
    CHECK(s->user_by_name("dave")->role == Role::reviewer);
    CHECK(s->users().size() == 1);
    CHECK(error_of([&] { s->replace_user_token("nobody", old_token, event("admin")); }) == Errc::not_found);
    CHECK(s->log_size() == 1);
  }
}

TEST_CASE("conformance: touch_users only moves last_seen forward and logs nothing", "[conformance]") {
  CONFORMANCE_FOR_EACH_ENGINE(engine) {
    Subject s(engine);
    s->put_user(user("erin"), Sha256::of(std::string("erin")));
    s->put_user(user("frank"), Sha256::of(std::string("frank")));
    s->touch_users({{"erin", "2026-11-02T10:00:00Z"}, {"ghost", "2026-11-02T10:00:00Z"}});
    CHECK(s->user_by_name("erin")->last_seen == "2026-11-02T10:00:00Z");
    CHECK(s->user_by_name("frank")->last_seen.empty());
    s->touch_users({{"erin", "2026-11-01T10:00:00Z"}, {"frank", "2026-11-03T00:00:00Z"}});
    CHECK(s->user_by_name("erin")->last_seen == "2026-11-02T10:00:00Z");
    CHECK(s->user_by_name("frank")->last_seen == "2026-11-03T00:00:00Z");
    s->touch_users({});
    CHECK(s->log_size() == 0);
  }
}

TEST_CASE("conformance: upload sessions are put, replaced, listed and deleted", "[conformance]") {
  CONFORMANCE_FOR_EACH_ENGINE(engine) {
    Subject s(engine);
    CHECK(s->uploads().empty());
    CHECK_FALSE(s->get_upload("u-1"));
    s->put_upload(upload("u-2", 10));
    s->put_upload(upload("u-1", 0));
    s->put_upload(upload("u-2", 50));
    auto u2 = s->get_upload("u-2");
    REQUIRE(u2);
    CHECK(u2->offset == 50);
    CHECK(u2->length == 100);
    CHECK(u2->owner == "officer-1");
    CHECK(u2->metadata.at("officer").as_string() == "officer-1");
    auto all = s->uploads();
    REQUIRE(all.size() == 2);
    CHECK(all[0].id == "u-1");
    CHECK(all[1].id == "u-2");
    s->delete_upload("u-2");
    s->delete_upload("u-2");  // absent is fine
    s->delete_upload("never");
    CHECK_FALSE(s->get_upload("u-2"));
    CHECK(s->uploads().size() == 1);
    CHECK(s->log_size() == 0);
  }
}
