// A bundle's case-file reviews (verify/bundle.h): each review the manifest lists is in
// the bundle as reviews/<id>.review, and its exact bytes hash to the record_hash of its
// `review` custody entry, proved into the checkpoint, of this case and this review;
// every proved `review` entry of the case has its review in the bundle. An edited,
// swapped or left-out review is a problem `review_mismatch`.

#include <boost/json.hpp>

#include "store/review.h"
#include "verify/bundle_check.h"
#include "verify/bundle_format.h"

namespace evidence::bundle_detail {

namespace json = boost::json;
using namespace bundle_format;

namespace {

Problem review_finding(std::uint64_t entry, std::string detail) {
  auto p = finding("", ProblemKind::review_mismatch, std::move(detail));
  p.log_index = entry;
  return p;
}

std::string review_of(const CustodyEvent& ev) {
  if (!ev.detail) return {};
  const auto* v = ev.detail->if_contains("review");
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

// One manifest review: its file against its proved entry.
void check_review(BundleCheck& c, const std::string& id, std::uint64_t entry, const json::object& m) {
  const std::string path = review_path(id);
  const std::string where = "review " + id;
  const std::string* bytes = c.get(path);
  if (!bytes) c.problem(review_finding(entry, where + ": " + path + " is not in the bundle"));
  const auto ev = c.events.find(entry);
  if (ev == c.events.end() || ev->second.action != "review") {
    c.problem(review_finding(entry, where + ": the manifest names custody entry " + std::to_string(entry) +
                                        " as its review entry, but the bundle holds no proved review entry " +
                                        std::to_string(entry)));
    return;
  }
  const CustodyEvent& e = ev->second;
  if (review_of(e) != id || e.case_number != c.rep.case_number) {
    c.problem(review_finding(entry, where + ": review entry " + std::to_string(entry) + " records review '" +
                                        review_of(e) + "' of case '" + e.case_number.value_or("") +
                                        "', not this review of case '" + c.rep.case_number + "'"));
    return;
  }
  if (!bytes) return;
  const ContentId actual = Sha256::of(*bytes);
  if (actual.hex() != e.record_hash.value_or("")) {
    auto p = review_finding(entry, path + " hashes to " + actual.hex() + ", review entry " + std::to_string(entry) +
                                       " recorded " + e.record_hash.value_or("nothing") +
                                       ": the review was changed after it was made");
    if (e.record_hash) p.expected_sha256 = ContentId::from_hex(*e.record_hash);
    p.actual_sha256 = actual;
    c.problem(std::move(p));
  }
  if (const auto* listed = m.if_contains("review_hash");
      listed && (!listed->is_string() || listed->as_string() != actual.hex())) {
    c.problem(review_finding(entry, where + ": the manifest's review_hash is not the SHA-256 of " + path));
  }
  try {
    const auto r = CaseReview::decode(as_bytes(*bytes));
    if (r.id != id || r.case_number != c.rep.case_number || r.log_index != entry) {
      c.problem(review_finding(entry, path + " says it is review " + r.id + " of case '" + r.case_number +
                                          "' at entry " + std::to_string(r.log_index) + ", the manifest says " +
                                          id + " at entry " + std::to_string(entry)));
    }
  } catch (const std::exception& ex) {
    c.problem(review_finding(entry, path + " does not decode: " + ex.what()));
  }
}

}  // namespace

void check_reviews(BundleCheck& c) {
  std::set<std::string> listed;
  // Bundles from before reviews have no "reviews": none listed, and none may be owed.
  if (const auto* rv = c.manifest.if_contains("reviews")) {
    try {
      for (const auto& v : rv->as_array()) {
        const auto& m = v.as_object();
        const auto id = json::value_to<std::string>(m.at("review"));
        const auto entry = json::value_to<std::uint64_t>(m.at("entry"));
        ++c.rep.reviews;
        if (!is_review_id(id)) {
          c.problem(finding("", ProblemKind::bundle_malformed, "manifest review '" + id + "' is not a review id"));
          continue;
        }
        if (!listed.insert(id).second) {
          c.problem(finding("", ProblemKind::bundle_malformed, "the manifest lists review " + id + " twice"));
          continue;
        }
        check_review(c, id, entry, m);
      }
    } catch (const std::exception& ex) {
      c.problem(finding("", ProblemKind::bundle_malformed,
                        std::string("manifest.json reviews are malformed: ") + ex.what()));
      return;
    }
  }
  for (const auto& [i, ev] : c.events) {
    if (ev.action != "review" || ev.case_number != c.rep.case_number) continue;
    const std::string id = review_of(ev);
    if (listed.count(id)) continue;
    c.problem(review_finding(i, "review entry " + std::to_string(i) + " records review '" + id + "' of case '" +
                                    c.rep.case_number + "', but the bundle does not hold that review"));
  }
}

}  // namespace evidence::bundle_detail
