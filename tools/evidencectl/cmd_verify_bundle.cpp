// evidencectl verify-bundle FILE: check an exported case bundle offline.
#include <boost/json.hpp>

#include "base/error.h"
#include "tools/evidencectl/cli.h"
#include "tools/evidencectl/local_files.h"
#include "tools/evidencectl/trust.h"
#include "verify/bundle.h"

namespace evidencectl {
namespace json = boost::json;

namespace {

struct BundleArgs {
  std::string file, tsa_ca, log_key;
  bool as_json = false;
};

int run_verify_bundle(const BundleArgs& a) {
  std::optional<std::string> log_key, tsa_ca;
  if (!a.log_key.empty()) log_key = a.log_key;
  if (!a.tsa_ca.empty()) tsa_ca = read_pem_file(a.tsa_ca);
  evidence::BundleReport rep;
  try {
    rep = evidence::verify_bundle(a.file, log_key, tsa_ca);
  } catch (const evidence::Error& e) {
    cannot_run("cannot read the bundle " + a.file + ": " + e.what());
  }
  if (a.as_json) {
    say(json::serialize(rep.to_json()));
    return rep.ok ? kOk : kProblems;
  }
  say(std::string(rep.ok ? "intact" : "PROBLEMS FOUND") + ": case " + rep.case_number + ", " +
      std::to_string(rep.items) + " item(s), " + std::to_string(rep.reviews) + " review(s), " +
      std::to_string(rep.entries) + " custody entries");
  const auto j = rep.to_json();
  for (const char* list : {"problems", "hints"}) {
    const auto* arr = j.if_contains(list);
    if (!arr || !arr->is_array()) continue;
    for (const auto& p : arr->as_array()) say(std::string(list[0] == 'p' ? "  problem " : "  hint    ") + json::serialize(p));
  }
  for (const auto& d : rep.disposed) {
    say("  DISPOSED " + d.evidence + " on " + d.at + " by disposition " + d.disposition + ", approved by " + d.actor +
        " (log entry " + std::to_string(d.log_index) + "): its content is gone for good, its record stays");
  }
  if (!log_key)
    warn("note: the log key came from inside the bundle; compare it with one obtained independently (--log-key)");
  return rep.ok ? kOk : kProblems;
}

}  // namespace

void add_verify_bundle(CLI::App& app, Globals&, Runner& run) {
  auto a = std::make_shared<BundleArgs>();
  auto* sub = app.add_subcommand("verify-bundle", "Check an exported case bundle offline (exit 0 intact, 1 problems); items the bundle's log shows as "
                                 "disposed of are listed as DISPOSED, and their absent content is no problem");
  sub->add_option("bundle", a->file, "Bundle (tar) from `export`")->required()->check(CLI::ExistingFile);
  sub->add_option("--tsa-ca", a->tsa_ca, "PEM of the TSA CA to trust instead of the bundle's")->check(CLI::ExistingFile);
  sub->add_option("--log-key", a->log_key, "C2SP verifier key to trust instead of the bundle's");
  sub->add_flag("--json", a->as_json, "Print the report as JSON");
  sub->callback([&run, a] { run = [a] { return run_verify_bundle(*a); }; });
}

}  // namespace evidencectl
