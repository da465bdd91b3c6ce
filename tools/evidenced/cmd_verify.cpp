// evidenced verify --data DIR [--case C | --evidence ID] [--json]
// Wired to verify/audit.h once that lands; until then it says so and exits 2.
#include <iostream>
#include <memory>
#include <string>

#include "tools/evidenced/commands.h"

namespace evidence::cli {

std::function<int()> add_verify(CLI::App& app) {
  struct Args {
    std::string data, case_number, evidence;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("verify", "offline audit of an instance (read-only)");
  cmd->add_option("--data", a->data, "data folder")->required();
  auto* c = cmd->add_option("--case", a->case_number, "only items linked to this case");
  auto* e = cmd->add_option("--evidence", a->evidence, "only this item");
  c->excludes(e);
  cmd->add_flag("--json", a->json, "print the report as JSON");
  return [a]() {
    std::cerr << "evidenced verify: the audit is not built into this binary yet\n";
    return 2;
  };
}

}  // namespace evidence::cli
