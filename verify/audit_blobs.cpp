// Passes 2 and 4: every item's blob is present, hashes to its name and has the
// record's size. Content that several items share is hashed once (audit_content.cpp
// does the hashing, with its retry); a damaged media item's segment table names the
// damaged seconds. An item that a `dispose` entry names may lack its blob (disposed
// of); any other absent blob is blob_missing.

#include <algorithm>

#include "verify/audit_passes.h"
#include "verify/audit_versions.h"

namespace evidence::audit_detail {

namespace {

// The finding for one item of a hashed blob; nullopt when the item is intact.
std::optional<Problem> judge(const HashResult& r, const std::string& hex, const AuditItem& item) {
  Problem p;
  p.evidence = item.id;
  p.sha256 = hex;
  switch (r.status) {
    case HashResult::Status::ok:
      if (r.size == item.record.size) return std::nullopt;
      p.kind = ProblemKind::content_mismatch;
      p.detail = "blob " + hex + " holds " + std::to_string(r.size) + " bytes, the record says " +
                 std::to_string(item.record.size);
      p.expected_size = item.record.size;
      p.actual_size = r.size;
      return p;
    case HashResult::Status::mismatch:
      p.kind = ProblemKind::content_mismatch;
      p.detail = "content hashes to " + r.actual.hex() + " (" + std::to_string(r.size) + " bytes), expected " + hex +
                 " (" + std::to_string(item.record.size) + " bytes); same on a second read";
      p.expected_sha256 = item.record.sha256;
      p.actual_sha256 = r.actual;
      p.expected_size = item.record.size;
      p.actual_size = r.size;
      return p;
    case HashResult::Status::missing:
      p.kind = ProblemKind::blob_missing;
      p.detail = "content " + hex + " disappeared during the audit: " + r.error;
      return p;
    case HashResult::Status::unreadable:
      p.kind = ProblemKind::content_mismatch;
      p.detail = "content " + hex + " cannot be read (twice): " + r.error;
      return p;
  }
  return std::nullopt;
}

// Adds to a content_mismatch the damaged media range, from the item's segment table.
void locate_damage(AuditContext& ctx, const HashTask& task, Problem& p) {
  std::optional<std::string> table;
  try {
    table = ctx.options.segments ? ctx.options.segments(p.evidence) : ctx.index.get_derived(kSegmentsKind, p.evidence);
  } catch (const std::exception&) {
    table.reset();
  }
  if (!table) return;
  std::string what;
  p.segment = damaged_segment(ctx.blobs, task, *table, what);
  if (!what.empty()) p.detail += "; " + what;
}

}  // namespace

void check_blobs(AuditContext& ctx) {
  std::map<ContentId, std::vector<const AuditItem*>> by_blob;
  for (const auto& item : ctx.items) by_blob[item.record.sha256].push_back(&item);
  std::vector<std::vector<const AuditItem*>> task_items;
  for (const auto& [id, its] : by_blob) {
    bool present = false;
    try {
      present = blob_present(ctx.blobs, id, its.front()->record.blob_version);
    } catch (const std::exception&) {
      present = true;  // let the re-hash (with its retry) decide
    }
    if (!present) {
      for (const AuditItem* it : its) {
        // Disposed of (a `dispose` entry names it; pass 9 judges that entry): its
        // content is meant to be gone.
        if (ctx.log.disposed.count(it->id)) continue;
        auto p = item_problem(it->id, ProblemKind::blob_missing, "content " + id.hex() + " is not in the blob store");
        p.sha256 = id.hex();
        add_problem(ctx.report, std::move(p));
      }
      continue;
    }
    HashTask t;
    t.id = id;
    t.version = its.front()->record.blob_version;
    for (const AuditItem* it : its) t.expected_size = std::max(t.expected_size, it->record.size);
    ctx.hashed.push_back(t);
    task_items.push_back(its);
  }
  const auto results = rehash(ctx.blobs, ctx.hashed, ctx.options, ctx.report.bytes_hashed);
  for (std::size_t i = 0; i < ctx.hashed.size(); ++i) {
    const auto& r = results[i];
    const std::string hex = ctx.hashed[i].id.hex();
    if (r.transient) {
      Problem h;
      h.kind = ProblemKind::transient_read_error;
      h.sha256 = hex;
      h.detail = "blob " + hex + ": first read failed (" + r.first_error + "), the retry read it intact";
      add_hint(ctx.report, std::move(h));
    }
    for (const AuditItem* it : task_items[i]) {
      auto p = judge(r, hex, *it);
      if (!p) continue;
      if (p->kind == ProblemKind::blob_missing && ctx.log.disposed.count(it->id)) continue;  // deleted meanwhile
      if (p->kind == ProblemKind::content_mismatch) locate_damage(ctx, ctx.hashed[i], *p);
      add_problem(ctx.report, std::move(*p));
    }
  }
}

}  // namespace evidence::audit_detail
