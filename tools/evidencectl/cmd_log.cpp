// evidencectl log checkpoint: the log's latest signed checkpoint, checked against the
// pinned (or given) log key when one is known.
#include <boost/json.hpp>
#include <iostream>

#include "tools/evidencectl/cli.h"
#include "tools/evidencectl/http.h"
#include "tools/evidencectl/local_files.h"
#include "verify/signed_note.h"

namespace evidencectl {
namespace json = boost::json;

namespace {

int run_checkpoint(const Globals& g, const std::string& key_arg) {
  Http http(g);
  // The checkpoint may come as the note itself or wrapped in JSON.
  std::string note = http.get_ok("/api/v1/log/checkpoint").body;
  boost::system::error_code ec;
  const auto v = json::parse(note, ec);
  if (!ec && v.is_object()) {
    const auto* c = v.as_object().if_contains("checkpoint");
    if (c && c->is_string()) note = std::string(c->as_string());
  }
  std::cout << note << std::flush;
  if (note.empty() || note.back() != '\n') std::cout << "\n";

  std::string key = key_arg;
  const auto origin = note.substr(0, note.find('\n'));
  if (key.empty()) {
    const auto pins = read_json_object(config_dir() / "known_logs.json");
    const auto* logs = pins ? pins->if_contains("logs") : nullptr;
    const auto* e = logs && logs->is_object() ? logs->as_object().if_contains(origin) : nullptr;
    const auto* k = e && e->is_object() ? e->as_object().if_contains("log_key") : nullptr;
    if (k && k->is_string()) key = std::string(k->as_string());
  }
  if (key.empty()) {
    warn("note: no log key pinned for " + origin + " (give --log-key to check the signature)");
    return kOk;
  }
  const auto verifier = evidence::note::Verifier::parse(key);
  if (!verifier) cannot_run("not a C2SP verifier key: " + key);
  if (!evidence::note::open(note, *verifier)) {
    warn("evidencectl: the checkpoint is NOT signed by " + verifier->name);
    return kProblems;
  }
  warn("signature ok: " + verifier->name);
  return kOk;
}

}  // namespace

void add_log(CLI::App& app, Globals& g, Runner& run) {
  auto* log = app.add_subcommand("log", "The custody log");
  log->require_subcommand(1);
  auto key = std::make_shared<std::string>();
  auto* cp = log->add_subcommand("checkpoint", "Print the latest signed checkpoint and check its signature");
  cp->add_option("--log-key", *key, "C2SP verifier key (default: the one pinned for this log)");
  cp->callback([&g, &run, key] { run = [&g, key] { return run_checkpoint(g, *key); }; });
  add_log_monitor(*log, g, run);
}

}  // namespace evidencectl
