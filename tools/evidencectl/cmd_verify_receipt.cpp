// evidencectl verify-receipt RECEIPT FILE: offline, no server needed.
#include <boost/json.hpp>

#include "tools/evidencectl/cli.h"
#include "tools/evidencectl/local_files.h"
#include "tools/evidencectl/trust.h"

namespace evidencectl {
namespace json = boost::json;

namespace {

struct ReceiptArgs {
  std::string receipt, file, tsa_ca, log_key, known_logs;
  bool as_json = false;
};

int run_verify_receipt(const ReceiptArgs& a) {
  const auto text = read_small_file(a.receipt);
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) cannot_run(a.receipt + " is not a receipt (a JSON object expected)");
  TrustOptions trust;
  if (!a.tsa_ca.empty()) trust.tsa_ca_pem = read_pem_file(a.tsa_ca);
  if (!a.log_key.empty()) trust.log_key = a.log_key;
  if (!a.known_logs.empty()) trust.known_logs = a.known_logs;
  const auto check = check_receipt(v.as_object(), a.file, trust, nullptr);
  if (a.as_json) {
    say(json::serialize(check.to_json()));
  } else {
    say(std::string(check.ok() ? "receipt verified: " : "RECEIPT DOES NOT VERIFY: ") + a.receipt + " for " + a.file);
    print_receipt_check(check, false);
  }
  return check.ok() ? kOk : kProblems;
}

}  // namespace

void add_verify_receipt(CLI::App& app, Globals&, Runner& run) {
  auto a = std::make_shared<ReceiptArgs>();
  auto* sub = app.add_subcommand(
      "verify-receipt",
      "Check a receipt against a local file offline: content hash, timestamp, inclusion proof, "
      "checkpoint signature (exit 0 verified, 1 not)");
  sub->add_option("receipt", a->receipt, "Receipt JSON")->required()->check(CLI::ExistingFile);
  sub->add_option("file", a->file, "The local file it is for")->required()->check(CLI::ExistingFile);
  sub->add_option("--tsa-ca", a->tsa_ca, "PEM of the TSA CA (default: pinned, else the receipt's)")->check(CLI::ExistingFile);
  sub->add_option("--log-key", a->log_key, "C2SP verifier key of the log (default: pinned, else the receipt's)");
  sub->add_option("--known-logs", a->known_logs, "Pinned keys file (default ~/.config/evidencectl/known_logs.json)");
  sub->add_flag("--json", a->as_json, "Print the checks as JSON");
  sub->callback([&run, a] { run = [a] { return run_verify_receipt(*a); }; });
}

}  // namespace evidencectl
