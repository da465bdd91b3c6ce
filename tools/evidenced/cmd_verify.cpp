// evidenced verify --data DIR [--case C | --evidence ID] [--json] [--tsa-ca FILE]
// The audit itself is verify/audit.h's run_verify_cli (read-only index).
#include <iostream>
#include <memory>
#include <string>

#include "store/s3/open_blob_store.h"
#include "tools/evidenced/commands.h"
#include "verify/audit.h"

namespace evidence::cli {

std::function<int()> add_verify(CLI::App& app) {
  struct Args {
    std::string data, case_number, evidence, tsa_ca;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("verify", "offline audit of an instance (read-only; safe while serving)");
  cmd->add_option("--data", a->data, "data folder")->required();
  auto* c = cmd->add_option("--case", a->case_number, "only items linked to this case");
  auto* e = cmd->add_option("--evidence", a->evidence, "only this item");
  c->excludes(e);
  cmd->add_flag("--json", a->json, "print the report as JSON (the shape of POST /verify)");
  auto creds = std::make_shared<std::string>();
  cmd->add_option("--s3-credentials", *creds,
                  "S3 keys file for a bucket DIR/blobs.json names (default: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)");
  cmd->add_option("--tsa-ca", a->tsa_ca, "PEM file of further TSA CA certificates to trust (an outside TSA)");
  return [a, c, e, creds]() {
    AuditScope scope = AuditScope::all();
    if (c->count()) scope = AuditScope::of_case(a->case_number);
    if (e->count()) scope = AuditScope::of_evidence(a->evidence);
    std::optional<std::filesystem::path> extra;
    if (!a->tsa_ca.empty()) extra = a->tsa_ca;
    // The backend DIR/blobs.json names (S3); run_verify_cli opens the local folder itself.
    std::unique_ptr<BlobStore> blobs;
    try {
      const Layout layout(a->data);
      if (auto cfg = read_blob_config(layout); cfg && cfg->backend != "local") {
        std::optional<std::filesystem::path> file;
        if (!creds->empty()) file = *creds;
        blobs = open_data_blob_store(layout, file);
      }
    } catch (const std::exception& ex) {
      std::cerr << "evidenced verify: cannot open the blob store: " << ex.what() << "\n";
      return 2;
    }
    return run_verify_cli(a->data, scope, a->json, true, extra, blobs.get());
  };
}

}  // namespace evidence::cli
