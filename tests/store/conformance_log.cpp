// Conformance, CustodyLog: appends, reads, roots, proofs and stored subtrees checked
// against RFC 6962 computed here from the leaves, and checkpoints.
#include "tests/store/conformance.h"

using namespace evidence;
using namespace evidence::conformance;

namespace {

CustodyEvent numbered(int i) { return event("actor-" + std::to_string(i), "verify"); }

}  // namespace

TEST_CASE("conformance: entries are appended in order and read back exactly", "[conformance]") {
  CONFORMANCE_FOR_EACH_ENGINE(engine) {
    Subject s(engine);
    CHECK(s->log_size() == 0);
    CHECK(s->log_entries(0, 10).empty());
    CHECK_FALSE(s->log_entry(0));

    CHECK(s->append_event(numbered(0)) == 0);
    CHECK(s->append_events({numbered(1), numbered(2), numbered(3)}) == std::vector<std::uint64_t>{1, 2, 3});
    auto named = numbered(4);
    named.evidence = "01JD000000000000000000000A";
    CHECK(s->append_event(named) == 4);
    CHECK(s->append_events({}).empty());
    CHECK(s->log_size() == 5);

    auto all = s->log_entries(0, 100);
    REQUIRE(all.size() == 5);
    for (std::size_t i = 0; i < all.size(); ++i) {
      CHECK(all[i].index == i);
      CHECK(all[i].leaf == (i == 4 ? named : numbered(static_cast<int>(i))).encode());
    }
    auto middle = s->log_entries(1, 3);
    REQUIRE(middle.size() == 2);
    CHECK(middle[0].index == 1);
    CHECK(middle[1].index == 2);
    CHECK(s->log_entries(3, 3).empty());
    CHECK(s->log_entries(4, 2).empty());
    CHECK(s->log_entry(4)->leaf == named.encode());
    CHECK_FALSE(s->log_entry(5));
    CHECK(s->entries_for_evidence("01JD000000000000000000000A") == std::vector<std::uint64_t>{4});
    CHECK(s->entries_for_evidence("01JD000000000000000000000B").empty());
  }
}

TEST_CASE("conformance: roots and proofs agree with RFC 6962 computed from the leaves", "[conformance]") {
  CONFORMANCE_FOR_EACH_ENGINE(engine) {
    Subject s(engine);
    CHECK(s->log_root(0) == mth({}, 0, 0));
    constexpr int kEntries = 21;
    for (int i = 0; i < kEntries; ++i) s->append_event(numbered(i));
    const auto leaves = leaf_hashes(*s);
    REQUIRE(leaves.size() == kEntries);

    for (std::size_t n = 0; n <= kEntries; ++n) {
      INFO("size " << n);
      CHECK(s->log_root(n) == mth(leaves, 0, n));
      for (std::size_t m = 0; m < n; ++m) {
        INFO("inclusion of " << m);
        CHECK(s->inclusion_proof(m, n) == path(leaves, m, 0, n));
      }
      for (std::size_t m = 1; m <= n; ++m) {
        INFO("consistency from " << m);
        CHECK(s->consistency_proof(m, n) == subproof(leaves, m, 0, n, true));
      }
    }

    CHECK(error_of([&] { s->log_root(kEntries + 1); }) == Errc::invalid_argument);
    CHECK(error_of([&] { s->inclusion_proof(3, 3); }) == Errc::invalid_argument);
    CHECK(error_of([&] { s->inclusion_proof(0, kEntries + 1); }) == Errc::invalid_argument);
    CHECK(error_of([&] { s->consistency_proof(0, 5); }) == Errc::invalid_argument);
    CHECK(error_of([&] { s->consistency_proof(6, 5); }) == Errc::invalid_argument);
    CHECK(error_of([&] { s->consistency_proof(5, kEntries + 1); }) == Errc::invalid_argument);
  }
}

TEST_CASE("conformance: every stored subtree is the hash of its leaves", "[conformance]") {
  CONFORMANCE_FOR_EACH_ENGINE(engine) {
    Subject s(engine);
    constexpr std::uint64_t kEntries = 13;
    for (std::uint64_t i = 0; i < kEntries; ++i) s->append_event(numbered(static_cast<int>(i)));
    const auto leaves = leaf_hashes(*s);
    for (unsigned level = 0; (std::uint64_t{1} << level) <= kEntries; ++level) {
      const std::uint64_t width = std::uint64_t{1} << level;
      for (std::uint64_t i = 0; (i + 1) * width <= kEntries; ++i) {
        INFO("level " << level << " index " << i);
        auto stored = s->stored_subtree(level, i);
        REQUIRE(stored);
        CHECK(*stored == mth(leaves, i * width, (i + 1) * width));
      }
    }
    // Nothing is stored for a subtree the log has not completed.
    CHECK_FALSE(s->stored_subtree(0, kEntries));
    CHECK_FALSE(s->stored_subtree(4, 0));
  }
}

TEST_CASE("conformance: checkpoints are kept by size, listed in order and found by size", "[conformance]") {
  CONFORMANCE_FOR_EACH_ENGINE(engine) {
    Subject s(engine);
    CHECK_FALSE(s->latest_checkpoint());
    CHECK(s->checkpoints().empty());
    s->put_checkpoint({20, "note at 20\n", {0x30, 0x01}});
    s->put_checkpoint({3, "note at 3\n", {}});
    s->put_checkpoint({300, "note at 300\n", {0x30, 0x02}});
    s->put_checkpoint({256, "note at 256\n", {}});

    auto all = s->checkpoints();
    REQUIRE(all.size() == 4);
    CHECK(all[0].size == 3);
    CHECK(all[1].size == 20);
    CHECK(all[2].size == 256);  // numeric order, not text order
    CHECK(all[3].size == 300);
    CHECK(all[1].note == "note at 20\n");
    CHECK(all[1].root_timestamp == Bytes{0x30, 0x01});
    CHECK(all[0].root_timestamp.empty());

    auto latest = s->latest_checkpoint();
    REQUIRE(latest);
    CHECK(latest->size == 300);
    CHECK(latest->note == "note at 300\n");
    CHECK(latest->root_timestamp == Bytes{0x30, 0x02});

    auto at = s->checkpoint_at(20);
    REQUIRE(at);
    CHECK(at->note == "note at 20\n");
    CHECK_FALSE(s->checkpoint_at(21));

    s->put_checkpoint({20, "note at 20, again\n", {0x30, 0x03}});
    CHECK(s->checkpoints().size() == 4);
    CHECK(s->checkpoint_at(20)->note == "note at 20, again\n");
    CHECK(s->checkpoint_at(20)->root_timestamp == Bytes{0x30, 0x03});
  }
}
