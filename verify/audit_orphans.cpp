// Pass 3, scope all: every blob must be referenced by a record (or be an item's poster
// frame), and everything in the blob area must be a well-formed blob (junk such as an
// editor's backup file is named, not skipped). Findings are hints: nothing is damaged.

#include "verify/audit_passes.h"

namespace evidence::audit_detail {

void check_orphans(AuditContext& ctx) {
  std::set<ContentId> referenced;
  ctx.index.for_each_evidence([&](const std::string& id) {
    if (auto bytes = ctx.index.evidence_bytes(id)) {
      try {
        referenced.insert(EvidenceRecord::decode(*bytes).sha256);
      } catch (const std::exception&) {
        // reported as record_altered by the record pass
      }
    }
    // A poster frame is a derived blob that the item's "thumbnail" value names.
    if (auto thumb = ctx.index.get_derived("thumbnail", id)) {
      if (auto tid = ContentId::from_hex(*thumb)) referenced.insert(*tid);
    }
  });
  ctx.blobs.for_each([&](const ContentId& id, std::uint64_t) {
    if (referenced.count(id)) return;
    Problem h;
    h.kind = ProblemKind::blob_orphan;
    h.detail = "blob " + id.hex() + " is not referenced by any record";
    h.sha256 = id.hex();
    add_hint(ctx.report, std::move(h));
  });
  for (const auto& name : ctx.blobs.stray_names()) {
    Problem h;
    h.kind = ProblemKind::blob_orphan;
    h.detail = "'" + name + "' in the blob area is not a blob (not named by its SHA-256 in its folder)";
    add_hint(ctx.report, std::move(h));
  }
}

}  // namespace evidence::audit_detail
