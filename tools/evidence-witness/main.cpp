// evidence-witness: a C2SP tlog-witness (https://c2sp.org/tlog-witness) that another
// institution (a procuratorate, a court, an inspection office) runs on its own
// machine. It cosigns a checkpoint of an evidence log only when it is consistent with
// every checkpoint of that log it cosigned before, so a log cannot show two histories.
//
//   evidence-witness init    --data DIR --name NAME      key and empty state; prints the vkey
//   evidence-witness add-log --data DIR --origin O --key VKEY   (adds; never removes)
//   evidence-witness vkey    --data DIR                  prints the witness's verifier key
//   evidence-witness serve   --data DIR --listen HOST:PORT
#include <CLI/CLI.hpp>
#include <iostream>

#include "base/error.h"
#include "store/witness_state.h"
#include "tools/evidence-witness/serve.h"
#include "verify/cosignature.h"
#include "verify/signed_note.h"

namespace {

using namespace evidence;

int run_init(const std::string& data, const std::string& name) {
  if (!note::valid_key_name(name)) {
    std::cerr << "evidence-witness init: --name must be a key name without spaces or '+': " << name << "\n";
    return 2;
  }
  const WitnessDir dir(data);
  WitnessState s;
  s.name = name;
  dir.create(s);
  const auto key = note::Ed25519Key::generate();
  key.save(dir.key_file());
  std::cout << note::cosigner_verifier(name, key).to_string() << "\n";
  return 0;
}

int run_add_log(const std::string& data, const std::string& origin, const std::string& vkey) {
  const auto v = note::Verifier::parse(vkey);
  if (!v || v->type != note::kTypeEd25519) {
    std::cerr << "evidence-witness add-log: --key is not an Ed25519 note verifier key (name+id+key): " << vkey << "\n";
    return 2;
  }
  if (origin.empty() || origin.find('\n') != std::string::npos) {
    std::cerr << "evidence-witness add-log: --origin must be one non-empty line\n";
    return 2;
  }
  const WitnessDir dir(data);
  WitnessLock lock(dir);  // not while a serve runs: it would keep its own copy
  WitnessState s = dir.load();
  WitnessedLog* log = s.find(origin);
  if (!log) {
    s.logs.push_back(WitnessedLog{origin, {}, 0, "", ""});
    log = &s.logs.back();
  }
  for (const auto& k : log->keys) {
    if (k == vkey) {
      std::cout << "log " << origin << " already has that key\n";
      return 0;
    }
  }
  log->keys.push_back(vkey);
  dir.save(s);
  std::cout << "log " << origin << ": " << log->keys.size() << " key(s), cosigned size " << log->size << "\n";
  return 0;
}

int run_vkey(const std::string& data) {
  const WitnessDir dir(data);
  const WitnessState s = dir.load();
  std::cout << note::cosigner_verifier(s.name, note::Ed25519Key::load(dir.key_file())).to_string() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"evidence-witness: a C2SP tlog-witness for evidence custody logs"};
  app.require_subcommand(1);
  std::string data, name, origin, vkey, listen = "127.0.0.1:8444";
  auto* init = app.add_subcommand("init", "create a witness: its key and empty state");
  init->add_option("--data", data, "witness directory")->required();
  init->add_option("--name", name, "the witness's key name, e.g. court.example/witness")->required();
  auto* add = app.add_subcommand("add-log", "witness a log (origin and verifier key); never removes one");
  add->add_option("--data", data, "witness directory")->required();
  add->add_option("--origin", origin, "the log's checkpoint origin line")->required();
  add->add_option("--key", vkey, "the log's verifier key (keys/log.vkey)")->required();
  auto* show = app.add_subcommand("vkey", "print the witness's verifier key (give it to the log)");
  show->add_option("--data", data, "witness directory")->required();
  auto* serve = app.add_subcommand("serve", "answer POST /add-checkpoint");
  serve->add_option("--data", data, "witness directory")->required();
  serve->add_option("--listen", listen, "HOST:PORT (port 0: any free port)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    if (app.got_subcommand(init)) return run_init(data, name);
    if (app.got_subcommand(add)) return run_add_log(data, origin, vkey);
    if (app.got_subcommand(show)) return run_vkey(data);
    if (app.got_subcommand(serve)) return evidence::witness::serve(WitnessDir(data), listen);
  } catch (const std::exception& e) {
    std::cerr << "evidence-witness: " << e.what() << "\n";
    return 1;
  }
  return 2;
}
