// evidencectl verify-receipt RECEIPT FILE: offline, no server needed.
#include <boost/json.hpp>

#include "tools/evidencectl/cli.h"
#include "tools/evidencectl/disposed.h"
#include "tools/evidencectl/local_files.h"
#include "tools/evidencectl/trust.h"
#include "verify/cosignature.h"
#include "verify/signed_note.h"

namespace evidencectl {
namespace json = boost::json;

namespace {

struct ReceiptArgs {
  std::string receipt, file, tsa_ca, log_key, known_logs;
  bool as_json = false;
  std::vector<std::string> witness_keys;
  int quorum = -1;  // -1: every --witness-key
};

// --witness-key/--quorum: the keys, checked before anything else is read.
std::vector<evidence::note::Verifier> witness_verifiers(const ReceiptArgs& a) {
  std::vector<evidence::note::Verifier> out;
  for (const auto& k : a.witness_keys) {
    auto v = evidence::note::Verifier::parse(k);
    if (!v || v->type != evidence::note::kTypeCosignatureV1) {
      cannot_run("--witness-key is not a cosignature/v1 verifier key: " + k);
    }
    out.push_back(*v);
  }
  if (const auto* twice = evidence::note::repeated_witness(out))
    cannot_run("--witness-key names the witness " + twice->name + " twice (it counts once toward the quorum)");
  return out;
}

// At least the quorum of valid cosignatures by `witnesses` on the receipt's checkpoint
// (the log's own signature is checked by check_receipt). Says what it found.
bool witnesses_ok(const json::object& receipt, const std::vector<evidence::note::Verifier>& witnesses, int quorum,
                  bool quiet) {
  const auto* cp = receipt.if_contains("checkpoint");
  const std::string note = cp && cp->is_string() ? std::string(cp->as_string()) : std::string();
  int cosigned = 0;
  for (const auto& w : witnesses) {
    if (!note.empty() && evidence::note::verify_cosignature(note, w)) {
      ++cosigned;
      if (!quiet) say("cosigned by witness " + w.name);
    } else {
      warn("no valid cosignature by witness " + w.name + " on the receipt's checkpoint");
    }
  }
  if (cosigned >= quorum) return true;
  warn("NOT WITNESSED: the receipt's checkpoint has " + std::to_string(cosigned) + " valid cosignatures, " +
       std::to_string(quorum) + " required");
  return false;
}

int run_verify_receipt(const ReceiptArgs& a, const Globals& g) {
  if (a.file.empty() && g.server.empty())
    cannot_run("file is required: give the FILE the receipt is for (or --server, for a disposed item)");
  const auto witnesses = witness_verifiers(a);
  const int quorum = a.quorum < 0 ? static_cast<int>(witnesses.size()) : a.quorum;
  if (quorum > static_cast<int>(witnesses.size())) cannot_run("--quorum is more than the witness keys given");
  const auto text = read_small_file(a.receipt);
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) cannot_run(a.receipt + " is not a receipt (a JSON object expected)");
  TrustOptions trust;
  if (!a.tsa_ca.empty()) trust.tsa_ca_pem = read_pem_file(a.tsa_ca);
  if (!a.log_key.empty()) trust.log_key = a.log_key;
  if (!a.known_logs.empty()) trust.known_logs = a.known_logs;
  const auto disposed = receipt_item_disposed(g, v.as_object(), a.file.empty());  // disposed.h
  if (a.file.empty() && !disposed) cannot_run("file is required: the receipt's item is not disposed of, give the FILE it is for");
  auto check = check_receipt(v.as_object(), a.file, trust, nullptr);
  if (disposed && a.file.empty()) excuse_missing_content(check, *disposed);
  const bool witnessed = quorum == 0 || witnesses_ok(v.as_object(), witnesses, quorum, a.as_json);
  if (a.as_json) {
    auto out = check.to_json();
    if (disposed) out["disposed"] = disposed->to_json();
    if (quorum > 0) {
      out["witnessed"] = witnessed;
      out["ok"] = check.ok() && witnessed;
    }
    say(json::serialize(out));
  } else {
    say(std::string(check.ok() ? "receipt verified: " : "RECEIPT DOES NOT VERIFY: ") + a.receipt + " for " +
        (a.file.empty() ? std::string("its disposed item") : a.file));
    print_receipt_check(check, false);
    if (disposed) say("DISPOSED: " + disposed->describe());
  }
  return check.ok() && witnessed ? kOk : kProblems;
}

}  // namespace

void add_verify_receipt(CLI::App& app, Globals& g, Runner& run) {
  auto a = std::make_shared<ReceiptArgs>();
  auto* sub = app.add_subcommand(
      "verify-receipt",
      "Check a receipt against a local file offline: content hash, timestamp, inclusion proof, "
      "checkpoint signature. With --server it also asks for the item's state and reports a disposed item "
      "(when, by which disposition, requested and approved by whom); FILE may then be left out. "
      "Exit 0 verified (also for a disposed item's valid receipt: look for DISPOSED or \"disposed\" in --json), "
      "1 not, 2 could not run");
  sub->add_option("receipt", a->receipt, "Receipt JSON")->required()->check(CLI::ExistingFile);
  sub->add_option("file", a->file, "The local file it is for (optional with --server for a disposed item)")
      ->check(CLI::ExistingFile);
  sub->add_option("--tsa-ca", a->tsa_ca, "PEM of the TSA CA (default: pinned, else the receipt's)")->check(CLI::ExistingFile);
  sub->add_option("--log-key", a->log_key, "C2SP verifier key of the log (default: pinned, else the receipt's)");
  sub->add_option("--known-logs", a->known_logs, "Pinned keys file (default ~/.config/evidencectl/known_logs.json)");
  sub->add_flag("--json", a->as_json, "Print the checks as JSON");
  sub->add_option("--witness-key", a->witness_keys,
                  "A witness's cosignature/v1 verifier key whose cosignature the checkpoint must carry (repeatable)");
  sub->add_option("--quorum", a->quorum, "Valid cosignatures required (default: every --witness-key)")
      ->check(CLI::NonNegativeNumber);
  sub->callback([&run, &g, a] { run = [a, &g] { return run_verify_receipt(*a, g); }; });
}

}  // namespace evidencectl
