// evidenced verify --data DIR [--case C | --evidence ID] [--json]
// The audit itself is verify/audit.h's run_verify_cli (read-only index).
#include <memory>
#include <string>

#include "tools/evidenced/commands.h"
#include "verify/audit.h"

namespace evidence::cli {

std::function<int()> add_verify(CLI::App& app) {
  struct Args {
    std::string data, case_number, evidence;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("verify", "offline audit of an instance (read-only; safe while serving)");
  cmd->add_option("--data", a->data, "data folder")->required();
  auto* c = cmd->add_option("--case", a->case_number, "only items linked to this case");
  auto* e = cmd->add_option("--evidence", a->evidence, "only this item");
  c->excludes(e);
  cmd->add_flag("--json", a->json, "print the report as JSON (the shape of POST /verify)");
  return [a, c, e]() {
    AuditScope scope = AuditScope::all();
    if (c->count()) scope = AuditScope::of_case(a->case_number);
    if (e->count()) scope = AuditScope::of_evidence(a->evidence);
    return run_verify_cli(a->data, scope, a->json, true);
  };
}

}  // namespace evidence::cli
