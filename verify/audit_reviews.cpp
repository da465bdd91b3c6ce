// Pass 10: case-file reviews (store/review_index.h) against their `review` custody
// entries. The log is the reference, read straight from the leaves by the log pass:
// a review's stored bytes must hash to the record_hash of the one entry naming it, so
// a review edited, swapped, added or deleted in the index behind the log's back is a
// problem `review_mismatch`, as an edited record is record_altered.

#include <map>

#include "verify/audit_passes.h"

namespace evidence::audit_detail {

namespace {

Problem review_problem_at(std::optional<std::uint64_t> at, std::string detail) {
  auto p = item_problem("", ProblemKind::review_mismatch, std::move(detail));
  p.log_index = at;
  return p;
}

std::optional<ReviewEntry> entry_of(std::uint64_t at, const CustodyEvent& ev) {
  if (ev.action != "review") return std::nullopt;
  ReviewEntry r;
  r.index = at;
  r.case_number = ev.case_number.value_or("");
  r.record_hash = ev.record_hash.value_or("");
  if (ev.detail) {
    if (const auto* v = ev.detail->if_contains("review"); v && v->is_string()) r.review = v->as_string();
  }
  return r;
}

// The `review` entry at `at` naming review `id`, for a review a running daemon
// committed after the log pass read the log.
std::optional<ReviewEntry> late_entry(const AuditContext& ctx, std::uint64_t at, const std::string& id) {
  if (at < ctx.log.entries) return std::nullopt;
  const auto e = ctx.index.log_entry(at);
  if (!e) return std::nullopt;
  try {
    auto r = entry_of(at, CustodyEvent::decode(e->leaf));
    if (r && r->review == id) return r;
  } catch (const std::exception&) {
    // left to the caller's problem
  }
  return std::nullopt;
}

}  // namespace

void note_review(std::uint64_t at, const CustodyEvent& ev, LogFacts& facts) {
  if (auto r = entry_of(at, ev)) facts.reviews.push_back(std::move(*r));
}

void check_reviews(AuditContext& ctx) {
  if (ctx.scope.kind == AuditScope::Kind::evidence) return;
  const bool all = ctx.scope.kind == AuditScope::Kind::all;
  auto& report = ctx.report;

  // What the log says: each review's entries, and each case's reviews.
  std::vector<ReviewEntry> entries;
  for (const auto& e : ctx.log.reviews) {
    if (all || e.case_number == ctx.scope.id) entries.push_back(e);
  }
  std::vector<std::string> ids;
  if (all) {
    ctx.index.for_each_review([&ids](const std::string& id) { ids.push_back(id); });
  } else {
    ids = ctx.index.reviews_in_case(ctx.scope.id);
  }
  // Reviews committed after the log pass have their entry read now.
  {
    std::set<std::string> named;
    for (const auto& e : entries) named.insert(e.review);
    for (const auto& id : ids) {
      if (named.count(id)) continue;
      try {
        if (const auto r = ctx.index.get_review(id)) {
          if (auto late = late_entry(ctx, r->log_index, id)) entries.push_back(std::move(*late));
        }
      } catch (const std::exception&) {
        // reported below
      }
    }
  }
  std::map<std::string, std::vector<const ReviewEntry*>> by_id;
  std::map<std::string, std::set<std::string>> by_case;
  for (const auto& e : entries) {
    if (e.review.empty() || e.case_number.empty() || e.record_hash.empty()) {
      add_problem(report, review_problem_at(e.index, "review entry " + std::to_string(e.index) +
                                                         " lacks its case, its review id or its record_hash"));
      continue;
    }
    by_id[e.review].push_back(&e);
    by_case[e.case_number].insert(e.review);
  }

  // Each stored review against its entry.
  for (const auto& id : ids) {
    check_cancel(ctx.options.cancel);
    const auto bytes = ctx.index.review_bytes(id);
    if (!bytes) continue;  // listed but not stored: judged with the case listings below
    const auto it = by_id.find(id);
    if (it == by_id.end()) {
      add_problem(report, review_problem_at(std::nullopt, "review " + id +
                                                              " is in the index, but no review custody entry "
                                                              "names it: it was not made through the log"));
      continue;
    }
    const ReviewEntry& e = *it->second.front();
    const std::string where = "review " + id + " (case '" + e.case_number + "')";
    if (it->second.size() > 1) {
      add_problem(report, review_problem_at(it->second[1]->index, std::to_string(it->second.size()) +
                                                                      " review entries name " + where));
    }
    const ContentId actual = Sha256::of(*bytes);
    if (actual.hex() != e.record_hash) {
      auto p = review_problem_at(e.index, where + ": its stored bytes hash to " + actual.hex() + ", review entry " +
                                              std::to_string(e.index) + " recorded " + e.record_hash +
                                              ": the review was changed after it was made");
      p.expected_sha256 = ContentId::from_hex(e.record_hash);
      p.actual_sha256 = actual;
      add_problem(report, std::move(p));
    }
    try {
      const auto r = CaseReview::decode(*bytes);
      if (r.id != id || r.case_number != e.case_number || r.log_index != e.index) {
        add_problem(report, review_problem_at(e.index, where + " says it is review " + r.id + " of case '" +
                                                           r.case_number + "' at entry " +
                                                           std::to_string(r.log_index) + ", its entry is " +
                                                           std::to_string(e.index)));
      }
    } catch (const std::exception& ex) {
      add_problem(report, review_problem_at(e.index, where + " does not decode: " + ex.what()));
    }
  }

  // Each case's reviews as the log has them against the index's listing of the case.
  for (const auto& [case_number, logged] : by_case) {
    const auto listed_v = ctx.index.reviews_in_case(case_number);
    const std::set<std::string> listed(listed_v.begin(), listed_v.end());
    for (const auto& id : logged) {
      const bool stored = ctx.index.review_bytes(id).has_value();
      if (listed.count(id) && stored) continue;
      const auto at = by_id.at(id).front()->index;
      add_problem(report, review_problem_at(at, "review entry " + std::to_string(at) + " records review " + id +
                                                    " of case '" + case_number + "', but the index " +
                                                    (stored ? "does not list it under that case"
                                                            : "no longer holds it: it was deleted")));
    }
    for (const auto& id : listed) {
      if (logged.count(id) || !by_id.count(id)) continue;  // no entry at all: reported above
      add_problem(report, review_problem_at(by_id.at(id).front()->index,
                                            "the index lists review " + id + " under case '" + case_number +
                                                "', but its review entry names another case"));
    }
  }
  // A listed review whose bytes are gone and whose entry does not name this case.
  for (const auto& id : ids) {
    if (!by_id.count(id) && !ctx.index.review_bytes(id)) {
      add_problem(report, review_problem_at(std::nullopt, "the index lists review " + id +
                                                              " but holds no such review and no entry names it"));
    }
  }
}

}  // namespace evidence::audit_detail
