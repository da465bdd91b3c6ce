// Conformance, case-file reviews (store/review_index.h and WriteTxn::put_review): a
// review and its `review` custody entry commit together, the entry binds the exact
// stored bytes, a case lists its reviews oldest first, and a refused or failed write
// leaves neither.
#include "tests/store/conformance.h"

#include <boost/json.hpp>

using namespace evidence;
using namespace evidence::conformance;

namespace {

CaseReview review(const std::string& case_number, const std::string& verdict = "complete") {
  CaseReview r;
  r.id = new_review_id();
  r.case_number = case_number;
  r.reviewer = "r.wang";
  r.role = "reviewer";
  r.time = "2026-12-01T09:00:00.000Z";
  r.verdict = verdict;
  r.notes = "每段执法过程均有记录";
  r.checklist = boost::json::object{{"scene_recorded", true}, {"items", 3}};
  return r;
}

}  // namespace

TEST_CASE("conformance: a review commits with its review entry, whose record_hash is the stored bytes' SHA-256",
          "[conformance][reviews]") {
  CONFORMANCE_FOR_EACH_ENGINE(engine) {
    Subject s(engine);
    s->commit_evidence(item("a", {"R-1"}));
    const auto before = s->log_size();
    const CaseReview r = review("R-1");
    const auto c = s->commit_review(r, event("r.wang"));
    CHECK(c.log_index == before);
    CHECK(s->log_size() == before + 1);
    CHECK(c.review.log_index == c.log_index);
    CHECK(c.bytes == c.review.encode());
    CHECK(c.sha256 == Sha256::of(c.bytes).hex());

    const auto stored = s->review_bytes(r.id);
    REQUIRE(stored);
    CHECK(*stored == c.bytes);
    const auto got = s->get_review(r.id);
    REQUIRE(got);
    CaseReview expected = r;
    expected.log_index = c.log_index;
    CHECK(*got == expected);

    const auto leaf = s->log_entry(c.log_index);
    REQUIRE(leaf);
    const auto e = CustodyEvent::decode(leaf->leaf);
    CHECK(e.action == "review");
    CHECK(e.actor == "r.wang");
    CHECK(e.case_number == std::optional<std::string>("R-1"));
    CHECK_FALSE(e.evidence);
    CHECK(e.record_hash == std::optional<std::string>(Sha256::of(*stored).hex()));
    REQUIRE(e.detail);
    CHECK(e.detail->at("review").as_string() == r.id);
    // The entry is on the case's chain like any other naming the case.
    CHECK(s->newest_entry_for_case("R-1") == std::optional<std::uint64_t>(c.log_index));
    const auto second = s->commit_review(review("R-1", "incomplete"), event("r.wang"));
    CHECK(CustodyEvent::decode(s->log_entry(second.log_index)->leaf).case_prev ==
          std::optional<std::uint64_t>(c.log_index));

    s.reopen(OpenMode::read_only);
    CHECK(s->review_bytes(r.id) == stored);
    CHECK(s->reviews_in_case("R-1") == std::vector<std::string>{r.id, second.review.id});
  }
}

TEST_CASE("conformance: a case lists its reviews oldest first, and every review is found once",
          "[conformance][reviews]") {
  CONFORMANCE_FOR_EACH_ENGINE(engine) {
    Subject s(engine);
    std::vector<std::string> in_a;
    std::vector<std::string> all;
    for (int i = 0; i < 4; ++i) {
      const auto r = review(i % 2 ? "案-B/2" : "案-A 1", i == 3 ? "defective" : "incomplete");
      s->commit_review(r, event("r.wang"));
      if (i % 2 == 0) in_a.push_back(r.id);
      all.push_back(r.id);
    }
    CHECK(s->reviews_in_case("案-A 1") == in_a);
    CHECK(s->reviews_in_case("案-B/2").size() == 2);
    CHECK(s->reviews_in_case("nothing here").empty());
    std::vector<std::string> seen;
    s->for_each_review([&](const std::string& id) { seen.push_back(id); });
    CHECK(seen == all);
    CHECK(s->get_review(all[3])->verdict == "defective");
    CHECK_FALSE(s->get_review(new_review_id()));
    CHECK_FALSE(s->review_bytes("not-an-id"));
  }
}

TEST_CASE("conformance: a refused review stores nothing and appends nothing", "[conformance][reviews]") {
  CONFORMANCE_FOR_EACH_ENGINE(engine) {
    Subject s(engine);
    const auto first = s->commit_review(review("R-2"), event("r.wang"));
    const auto size = s->log_size();
    auto bad_verdict = review("R-2", "fine");
    CHECK(error_of([&] { s->commit_review(bad_verdict, event("r.wang")); }) == Errc::invalid_argument);
    auto long_notes = review("R-2");
    long_notes.notes.assign(kMaxReviewNotes + 1, 'x');
    CHECK(error_of([&] { s->commit_review(long_notes, event("r.wang")); }) == Errc::invalid_argument);
    auto bad_case = review("");
    CHECK(error_of([&] { s->commit_review(bad_case, event("r.wang")); }) == Errc::invalid_argument);
    auto bad_utf8 = review("R-2");
    bad_utf8.notes = "\xff\xfe";
    CHECK(error_of([&] { s->commit_review(bad_utf8, event("r.wang")); }) == Errc::invalid_argument);
    CHECK(error_of([&] { s->commit_review(first.review, event("r.wang")); }) == Errc::already_exists);
    CHECK(s->log_size() == size);
    CHECK(s->reviews_in_case("R-2") == std::vector<std::string>{first.review.id});
  }
}

TEST_CASE("conformance: a write that fails after put_review keeps neither the review nor its case listing",
          "[conformance][reviews]") {
  CONFORMANCE_FOR_EACH_ENGINE(engine) {
    Subject s(engine);
    const auto r = review("R-3");
    CHECK(error_of([&] {
            s->write([&](WriteTxn& t) {
              t.put_review(r);
              t.append(event("r.wang", "review"));
              throw Error(Errc::io_error, "the disk went away");
            });
          }) == Errc::io_error);
    CHECK_FALSE(s->review_bytes(r.id));
    CHECK(s->reviews_in_case("R-3").empty());
    CHECK(s->log_size() == 0);
    s.reopen(OpenMode::read_only);
    CHECK(error_of([&] { s->commit_review(review("R-3"), event("r.wang")); }) == Errc::permission_denied);
  }
}
