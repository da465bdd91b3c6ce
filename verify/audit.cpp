// The audit's driver: picks the items in scope and runs the passes described in
// audit.h, in the order that lets later passes reuse what earlier ones read (the log
// pass yields the ingest entries the record pass checks against). Each pass has its
// own file (audit_passes.h lists them).

#include "base/files.h"
#include "verify/audit.h"

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "base/error.h"
#include "verify/audit_passes.h"
#include "verify/audit_versions.h"
#include "verify/keys.h"

namespace evidence {

boost::json::object AuditReport::to_json() const {
  boost::json::object o;
  o["ok"] = ok;
  o["checked"] = checked;
  boost::json::array ps, hs;
  for (const auto& p : problems) ps.push_back(p.to_json());
  for (const auto& h : hints) hs.push_back(h.to_json());
  o["problems"] = std::move(ps);
  o["hints"] = std::move(hs);
  o["log_entries"] = log_entries;
  o["checkpoints"] = checkpoints;
  o["bytes_hashed"] = bytes_hashed;
  return o;
}

namespace audit_detail {

void add_problem(AuditReport& r, Problem p) {
  r.ok = false;
  r.problems.push_back(std::move(p));
}
void add_hint(AuditReport& r, Problem p) { r.hints.push_back(std::move(p)); }
void check_cancel(const std::atomic<bool>* cancel) {
  if (cancel && cancel->load(std::memory_order_relaxed)) throw Error(Errc::unavailable, "audit cancelled");
}

Problem item_problem(const std::string& id, ProblemKind kind, std::string detail) {
  Problem p;
  p.evidence = id;
  p.kind = kind;
  p.detail = std::move(detail);
  return p;
}

}  // namespace audit_detail

namespace {

using namespace audit_detail;

// The items the scope names. Throws Error(not_found) as run_audit documents.
std::vector<std::string> items_in_scope(const AuditContext& ctx) {
  std::vector<std::string> ids;
  switch (ctx.scope.kind) {
    case AuditScope::Kind::all:
      ctx.index.for_each_evidence([&](const std::string& id) { ids.push_back(id); });
      break;
    case AuditScope::Kind::case_number:
      ids = ctx.index.items_in_case(ctx.scope.id);
      if (ids.empty()) throw Error(Errc::not_found, "no evidence is linked to case '" + ctx.scope.id + "'");
      break;
    case AuditScope::Kind::evidence:
      if (!ctx.index.evidence_bytes(ctx.scope.id) && !ctx.log.ingest.count(ctx.scope.id)) {
        throw Error(Errc::not_found, "no evidence " + ctx.scope.id);
      }
      ids.push_back(ctx.scope.id);
      break;
  }
  return ids;
}

}  // namespace

AuditReport run_audit(const Layout& layout, const Index& index, BlobStore& blobs,
                      const AuditScope& scope, const AuditOptions& options) {
  AuditReport report;
  const note::Verifier verifier = options.log_verifier ? *options.log_verifier : load_log_verifier(layout);
  const std::string ca_pem = options.tsa_ca_pem ? *options.tsa_ca_pem : read_text_file(layout.tsa_ca_cert());
  AuditContext ctx{index, blobs, scope, options, ca_pem, report, {}, {}, {}};

  // Pass 6 first: its ingest entries are the reference for the record pass.
  ctx.log = check_log(index, verifier, ca_pem, report, options.cancel);
  check_records(ctx, items_in_scope(ctx));  // passes 1 and 5
  // Pass 8: which items each case holds follows from the log alone.
  check_membership(index, ctx.log, scope, report);
  check_tokens(ctx);  // pass 7
  check_blobs(ctx);   // passes 2 and 4
  check_disposals(ctx);  // pass 9: each dispose entry approved by two admins
  check_reviews(ctx);    // pass 10: case-file reviews against their entries
  // Object versions (S3): every version under an evidence key is one a record names.
  {
    std::set<ContentId> versioned;
    for (const auto& t : ctx.hashed) {
      if (!t.version.empty()) versioned.insert(t.id);
    }
    check_versions(blobs, named_versions(index, versioned), report);
  }
  if (scope.kind == AuditScope::Kind::all) check_orphans(ctx);  // pass 3
  return report;
}

AuditReport audit_data_dir(const Layout& layout, const Index& index, const AuditScope& scope, AuditOptions options,
                           const std::optional<std::filesystem::path>& extra_tsa_ca, BlobStore* blob_store) {
  std::unique_ptr<BlobStore> local;
  if (!blob_store) local = std::make_unique<LocalBlobStore>(layout);
  BlobStore& blobs = blob_store ? *blob_store : *local;
  if (extra_tsa_ca) {
    std::error_code ec2;
    std::string pem = std::filesystem::exists(layout.tsa_ca_cert(), ec2) ? read_text_file(layout.tsa_ca_cert()) : "";
    if (!pem.empty() && pem.back() != '\n') pem += '\n';
    options.tsa_ca_pem = pem + read_text_file(*extra_tsa_ca);
  }
  return run_audit(layout, index, blobs, scope, options);
}

}  // namespace evidence
