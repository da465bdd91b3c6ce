// Passes 1 and 5: every record in scope decodes, carries its own id, and its exact
// bytes hash to the record_hash of the one ingest custody entry that names it; the
// content it names is what that entry logged. For scope all, an ingest entry whose
// record is gone is record_missing.

#include "base/error.h"
#include "verify/audit_passes.h"

namespace evidence::audit_detail {

namespace {

// The log pass's ingest entries for `id`; for a record a running daemon committed
// after that pass read the log, its entry is read now.
auto ingest_entries(AuditContext& ctx, const std::string& id, const EvidenceRecord& rec) {
  auto it = ctx.log.ingest.find(id);
  if (it == ctx.log.ingest.end() && rec.log_index >= ctx.log.entries) {
    if (auto e = ctx.index.log_entry(rec.log_index)) {
      try {
        const auto ev = CustodyEvent::decode(e->leaf);
        if (ev.action == "ingest" && ev.evidence == id && ev.record_hash) {
          const IngestEntry entry{rec.log_index, *ev.record_hash, ev.sha256, ev.size};
          it = ctx.log.ingest.emplace(id, std::vector<IngestEntry>{entry}).first;
        }
      } catch (const std::exception&) {
        // left to the caller's problem
      }
    }
  }
  return it;
}

// A record against the first ingest entry that names it (and any second one).
void check_against_ingest(AuditContext& ctx, const std::string& id, const EvidenceRecord& rec,
                          const std::vector<IngestEntry>& entries, const ContentId& record_hash) {
  if (entries.size() > 1) {
    auto p = item_problem(id, ProblemKind::log_inconsistent,
                          std::to_string(entries.size()) + " ingest custody entries name this evidence");
    p.log_index = entries[1].index;
    add_problem(ctx.report, std::move(p));
  }
  const IngestEntry& ingest = entries.front();
  if (rec.log_index != ingest.index) {
    auto p = item_problem(id, ProblemKind::record_altered,
                          "record says its ingest entry is " + std::to_string(rec.log_index) +
                              ", the log's ingest entry for it is " + std::to_string(ingest.index));
    p.log_index = ingest.index;
    add_problem(ctx.report, std::move(p));
  }
  const std::string actual = record_hash.hex();
  if (actual != ingest.record_hash) {
    auto p = item_problem(id, ProblemKind::record_altered,
                          "record bytes hash to " + actual + ", ingest entry " + std::to_string(ingest.index) +
                              " recorded " + ingest.record_hash);
    p.log_index = ingest.index;
    p.expected_sha256 = ContentId::from_hex(ingest.record_hash);
    p.actual_sha256 = record_hash;
    add_problem(ctx.report, std::move(p));
  }
  // The log's own word on the content (entries since 0.3): a record that names
  // other bytes than its ingest entry did is altered, whatever else matches.
  if ((ingest.sha256 && *ingest.sha256 != rec.sha256.hex()) || (ingest.size && *ingest.size != rec.size)) {
    auto p = item_problem(id, ProblemKind::record_altered,
                          "record names content " + rec.sha256.hex() + " (" + std::to_string(rec.size) +
                              " bytes), ingest entry " + std::to_string(ingest.index) + " logged " +
                              ingest.sha256.value_or("?") + " (" +
                              (ingest.size ? std::to_string(*ingest.size) : std::string("?")) + " bytes)");
    p.log_index = ingest.index;
    if (ingest.sha256) p.expected_sha256 = ContentId::from_hex(*ingest.sha256);
    p.actual_sha256 = rec.sha256;
    p.expected_size = ingest.size;
    p.actual_size = rec.size;
    add_problem(ctx.report, std::move(p));
  }
}

}  // namespace

void check_records(AuditContext& ctx, const std::vector<std::string>& ids) {
  std::set<std::string> seen;
  for (const auto& id : ids) {
    check_cancel(ctx.options.cancel);
    seen.insert(id);
    ++ctx.report.checked;
    const auto bytes = ctx.index.evidence_bytes(id);
    if (!bytes) {
      add_problem(ctx.report, item_problem(id, ProblemKind::record_missing,
                                           "an ingest custody entry names this evidence but its record is gone"));
      continue;
    }
    EvidenceRecord rec;
    try {
      rec = EvidenceRecord::decode(*bytes);
    } catch (const std::exception& e) {
      add_problem(ctx.report,
                  item_problem(id, ProblemKind::record_altered, std::string("record does not decode: ") + e.what()));
      continue;
    }
    if (rec.id != id) {
      add_problem(ctx.report, item_problem(id, ProblemKind::record_altered,
                                           "record stored under " + id + " says its id is " + rec.id));
    }
    const auto it = ingest_entries(ctx, id, rec);
    if (it == ctx.log.ingest.end()) {
      add_problem(ctx.report,
                  item_problem(id, ProblemKind::log_inconsistent, "no ingest custody entry names this evidence"));
    } else {
      check_against_ingest(ctx, id, rec, it->second, Sha256::of(*bytes));
    }
    ctx.items.push_back({id, std::move(rec)});
  }
  if (ctx.scope.kind != AuditScope::Kind::all) return;
  for (const auto& [id, entries] : ctx.log.ingest) {
    if (seen.count(id)) continue;
    if (ctx.index.evidence_bytes(id)) continue;  // committed after our listing
    auto p = item_problem(id, ProblemKind::record_missing,
                          "ingest custody entry " + std::to_string(entries.front().index) +
                              " names this evidence but there is no record");
    p.log_index = entries.front().index;
    add_problem(ctx.report, std::move(p));
  }
}

}  // namespace evidence::audit_detail
