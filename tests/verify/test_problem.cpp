// Problem kinds are an enum in code and a string on the wire (JSON, the human report,
// the web console): each kind has its own string, the strings read back to the kind,
// and they are the names the API has always used.
#include <catch2/catch.hpp>
#include <set>
#include <string>

#include "verify/problem.h"

using namespace evidence;

TEST_CASE("problem kinds: every kind has a distinct name that reads back to it", "[problem]") {
  std::set<std::string> names;
  for (const auto kind : kProblemKinds) {
    const std::string name(problem_kind_name(kind));
    INFO(name);
    CHECK_FALSE(name.empty());
    CHECK(name != "unknown");
    CHECK(names.insert(name).second);
    const auto back = problem_kind_from_name(name);
    REQUIRE(back);
    CHECK(*back == kind);
  }
  CHECK(names.size() == kProblemKinds.size());
  // The list holds every enumerator: the last one declared is its last element.
  CHECK(kProblemKinds.back() == ProblemKind::key_differs);
  CHECK(static_cast<std::size_t>(ProblemKind::key_differs) + 1 == kProblemKinds.size());
}

TEST_CASE("problem kinds: the wire names are the API's", "[problem]") {
  const std::set<std::string> expected = {
      "content_mismatch",  "blob_missing",      "record_altered",    "record_missing",
      "timestamp_invalid", "log_inconsistent",  "signature_invalid", "case_membership",
      "extra_version",     "bundle_malformed",  "blob_orphan",       "transient_read_error",
      "versions_unlisted", "bundle_unexpected", "key_differs",
      "disposal_unapproved",  // since 0.4 (lifecycle)
      "review_mismatch"};     // since case-file reviews (issue 19)
  std::set<std::string> names;
  for (const auto kind : kProblemKinds) names.emplace(problem_kind_name(kind));
  CHECK(names == expected);
}

TEST_CASE("problem kinds: a name that is no kind reads as none", "[problem]") {
  CHECK_FALSE(problem_kind_from_name(""));
  CHECK_FALSE(problem_kind_from_name("Content_Mismatch"));
  CHECK_FALSE(problem_kind_from_name("content_mismatch "));
  CHECK_FALSE(problem_kind_from_name("unknown"));
}

TEST_CASE("problem kinds: to_json carries the name, not the typed mismatch fields", "[problem]") {
  Problem p;
  p.kind = ProblemKind::record_altered;
  p.detail = "d";
  p.expected_size = 1;
  p.actual_size = 2;
  const auto j = p.to_json();
  CHECK(j.at("kind").as_string() == "record_altered");
  CHECK(j.at("evidence").is_null());
  CHECK(j.size() == 3);
}
