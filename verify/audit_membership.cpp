// Pass 8: case membership. Which items belong to a case decides what a case export
// holds and what a reviewer sees, so it must follow from the log alone: replaying the
// ingest entries' "case" and every link and unlink gives each case's items, and the
// index must say the same. An item slipped into or out of a case behind the log's
// back (an edited index, a path that forgot its entry) is a `case_membership` problem.
#include <algorithm>
#include <limits>
#include <tuple>

#include "store/content_id.h"
#include "store/index.h"
#include "verify/audit_passes.h"

namespace evidence::audit_detail {
namespace {

Problem membership_problem(const std::string& item, const std::string& case_number, bool in_index) {
  Problem p;
  p.evidence = item;
  p.kind = ProblemKind::case_membership;
  p.detail = in_index ? "the index lists " + item + " in case '" + case_number +
                            "', but no custody entry puts it there (or an unlink took it out)"
                      : "the custody log puts " + item + " in case '" + case_number +
                            "', but the index does not list it there";
  return p;
}

// The index's membership for the scope.
Membership indexed(const Index& index, const AuditScope& scope) {
  Membership m;
  switch (scope.kind) {
    case AuditScope::Kind::all:
      for (const auto& c : index.list_cases("", std::numeric_limits<std::size_t>::max())) {
        for (const auto& id : index.items_in_case(c)) m[c].insert(id);
      }
      break;
    case AuditScope::Kind::case_number:
      for (const auto& id : index.items_in_case(scope.id)) m[scope.id].insert(id);
      break;
    case AuditScope::Kind::evidence:
      for (const auto& c : index.cases_of(scope.id)) m[c].insert(scope.id);
      break;
  }
  return m;
}

// Replays the events in log order. An ingest entry puts its item in the entry's case
// and in every case its record lists (records made before 0.3 could list several),
// read from the record only when its bytes hash to the entry's record_hash (otherwise
// the record pass reports record_altered and the entry's own case is all we trust).
Membership replay(const Index& index, const std::vector<MembershipEvent>& events) {
  Membership m;
  for (const auto& e : events) {
    if (e.action == "ingest") {
      if (e.case_number) m[*e.case_number].insert(e.item);
      if (const auto bytes = index.evidence_bytes(e.item); bytes && e.record_hash &&
                                                           Sha256::of(*bytes).hex() == *e.record_hash) {
        try {
          for (const auto& c : EvidenceRecord::decode(*bytes).cases) m[c].insert(e.item);
        } catch (const std::exception&) {
          // a record that does not decode is the record pass's to report
        }
      }
    } else if (e.action == "link" && e.case_number) {
      m[*e.case_number].insert(e.item);
    } else if (e.action == "unlink" && e.case_number) {
      auto it = m.find(*e.case_number);
      if (it != m.end()) {
        it->second.erase(e.item);
        if (it->second.empty()) m.erase(it);
      }
    }
  }
  return m;
}

// The replay, cut down to the scope.
Membership scoped(const Membership& all, const AuditScope& scope) {
  if (scope.kind == AuditScope::Kind::all) return all;
  Membership m;
  for (const auto& [c, items] : all) {
    if (scope.kind == AuditScope::Kind::case_number) {
      if (c == scope.id) m[c] = items;
    } else if (items.count(scope.id)) {
      m[c].insert(scope.id);
    }
  }
  return m;
}

// (case, item, in_index) for every pair on one side only.
std::vector<std::tuple<std::string, std::string, bool>> differences(const Membership& log, const Membership& idx) {
  std::vector<std::tuple<std::string, std::string, bool>> out;
  static const std::set<std::string> none;
  std::set<std::string> cases;
  for (const auto& [c, _] : log) cases.insert(c);
  for (const auto& [c, _] : idx) cases.insert(c);
  for (const auto& c : cases) {
    const auto& a = log.count(c) ? log.at(c) : none;
    const auto& b = idx.count(c) ? idx.at(c) : none;
    for (const auto& id : a)
      if (!b.count(id)) out.emplace_back(c, id, false);
    for (const auto& id : b)
      if (!a.count(id)) out.emplace_back(c, id, true);
  }
  return out;
}

}  // namespace

void note_membership(std::uint64_t at, const CustodyEvent& ev, std::vector<MembershipEvent>& out) {
  if (!ev.evidence) return;
  if (ev.action == "ingest" || ((ev.action == "link" || ev.action == "unlink") && ev.case_number)) {
    out.push_back({at, ev.action, *ev.evidence, ev.case_number, ev.record_hash});
  }
}

void check_membership(const Index& index, LogFacts& log, const AuditScope& scope, AuditReport& report) {
  // A log with entries missing cannot be replayed: that is reported as
  // log_inconsistent, and every membership it would imply is suspect alike.
  if (!log.complete) return;
  Membership idx = indexed(index, scope);
  auto diff = differences(scoped(replay(index, log.membership), scope), idx);
  if (!diff.empty()) {
    // A running daemon may have linked or unlinked since the log pass: replay what it
    // appended, and read the index again, before calling anything a problem.
    const std::uint64_t now = index.log_size();
    for (std::uint64_t at = log.entries; at < now;) {
      const auto page = index.log_entries(at, std::min(now, at + 1000));
      if (page.empty()) break;
      for (const auto& e : page) {
        try {
          note_membership(e.index, CustodyEvent::decode(e.leaf), log.membership);
        } catch (const std::exception&) {
          // an entry that does not decode is the log pass's to report
        }
      }
      at = page.back().index + 1;
    }
    log.entries = std::max(log.entries, now);
    idx = indexed(index, scope);
    diff = differences(scoped(replay(index, log.membership), scope), idx);
  }
  for (const auto& [c, id, in_index] : diff) {
    // An item whose ingest entry is missing is reported as log_inconsistent by the
    // record pass; its cases are the same defect, not a second one.
    if (in_index && !log.ingest.count(id)) continue;
    add_problem(report, membership_problem(id, c, in_index));
  }
}

}  // namespace evidence::audit_detail
