// Pass 9: disposals replayed from the log. Disposition needs two admins (DESIGN.md,
// "Lifecycle"): every `dispose` entry must name a disposition whose `dispose_request`
// and `dispose_approve` come earlier in the log, both by admins, and by two different
// actors. The log is the reference, not the index's dispositions, so an edited index
// cannot make an unapproved disposal look approved. (Absent blobs of items a `dispose`
// entry names are not blob_missing: audit_blobs.cpp.)

#include <map>

#include "verify/audit_passes.h"

namespace evidence::audit_detail {

namespace {

bool is_disposal_action(const std::string& a) {
  return a == "dispose_request" || a == "dispose_approve" || a == "dispose_reject" || a == "dispose";
}

}  // namespace

void note_disposal(std::uint64_t at, const CustodyEvent& ev, LogFacts& facts) {
  if (!is_disposal_action(ev.action)) return;
  DisposalEntry d;
  d.index = at;
  d.action = ev.action;
  d.actor = ev.actor;
  d.role = ev.role;
  d.evidence = ev.evidence.value_or("");
  if (ev.detail) {
    if (const auto* v = ev.detail->if_contains("disposition"); v && v->is_string()) d.disposition = v->as_string();
  }
  if (d.action == "dispose" && !d.evidence.empty()) facts.disposed.emplace(d.evidence, at);
  facts.disposals.push_back(std::move(d));
}

void check_disposals(AuditContext& ctx) {
  std::set<std::string> in_scope;
  for (const auto& item : ctx.items) in_scope.insert(item.id);
  const bool all = ctx.scope.kind == AuditScope::Kind::all;
  // The first request and the first approval of each disposition seen so far.
  std::map<std::string, const DisposalEntry*> requests, approvals;
  for (const auto& d : ctx.log.disposals) {
    if (d.action == "dispose_request") {
      requests.emplace(d.disposition, &d);
      continue;
    }
    if (d.action == "dispose_approve") {
      approvals.emplace(d.disposition, &d);
      continue;
    }
    if (d.action != "dispose" || (!all && !in_scope.count(d.evidence))) continue;
    const std::string at = "dispose entry " + std::to_string(d.index);
    std::string why;
    const auto req = requests.find(d.disposition);
    const auto app = approvals.find(d.disposition);
    if (d.disposition.empty()) {
      why = at + " names no disposition";
    } else if (req == requests.end()) {
      why = at + ": disposition " + d.disposition + " has no earlier dispose_request";
    } else if (app == approvals.end()) {
      why = at + ": disposition " + d.disposition + " has no earlier dispose_approve";
    } else if (req->second->role != "admin" || app->second->role != "admin") {
      why = at + ": disposition " + d.disposition + " was requested by " + req->second->actor + " (" +
            req->second->role + ") and approved by " + app->second->actor + " (" + app->second->role +
            "); both must be admins";
    } else if (req->second->actor == app->second->actor) {
      why = at + ": disposition " + d.disposition + " was requested and approved by the same admin, " +
            req->second->actor + " (four eyes)";
    }
    if (why.empty()) continue;
    auto p = item_problem(d.evidence, ProblemKind::disposal_unapproved, why);
    p.log_index = d.index;
    add_problem(ctx.report, std::move(p));
  }
}

}  // namespace evidence::audit_detail
