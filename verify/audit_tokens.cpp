// Pass 7, items: every item's RFC 3161 token verifies (signature, chain to a trusted
// TSA CA, timeStamping EKU) with imprint = the record's content hash. The checkpoints'
// root timestamps are the log pass's (audit_log.cpp).

#include "verify/audit_passes.h"
#include "verify/tsa.h"

namespace evidence::audit_detail {

void check_tokens(AuditContext& ctx) {
  for (const auto& item : ctx.items) {
    check_cancel(ctx.options.cancel);
    const auto token = ctx.index.timestamp_token(item.id);
    if (!token || token->empty()) {
      add_problem(ctx.report, item_problem(item.id, ProblemKind::timestamp_invalid, "no timestamp token is stored"));
      continue;
    }
    try {
      tsa::verify(*token, item.record.sha256, ctx.tsa_ca_pem);
    } catch (const std::exception& e) {
      add_problem(ctx.report, item_problem(item.id, ProblemKind::timestamp_invalid, e.what()));
    }
  }
}

}  // namespace evidence::audit_detail
