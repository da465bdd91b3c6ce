// evidencectl log monitor: watches one custody log from outside. Each run fetches the
// newest checkpoint, checks the log's signature, the witnesses' cosignatures (at least
// --quorum of the --witness-key witnesses) and that it extends the checkpoint kept in
// --state (an RFC 6962 consistency proof). A fork or a bad signature exits 1 and
// leaves the state file as it was; otherwise the state moves forward.
//
// State file (JSON): {"origin", "log_key", "size", "root", "checkpoint"}. The first run
// trusts what it sees (and says so); pin --log-key to trust nothing.
#include <boost/json.hpp>
#include <iostream>

#include "base/codec.h"
#include "tools/evidencectl/cli.h"
#include "tools/evidencectl/http.h"
#include "tools/evidencectl/local_files.h"
#include "verify/cosignature.h"
#include "verify/merkle_verify.h"
#include "verify/signed_note.h"

namespace evidencectl {
namespace json = boost::json;
namespace note = evidence::note;
namespace merkle = evidence::merkle;

namespace {

struct MonitorArgs {
  std::string state, log_key;
  std::vector<std::string> witness_keys;
  int quorum = -1;  // -1: every witness key given
};

struct Kept {
  std::string origin, log_key, checkpoint;
  std::uint64_t size = 0;
  merkle::Hash root{};
};

std::optional<Kept> read_state(const std::filesystem::path& file) {
  const auto o = read_json_object(file);
  if (!o) return std::nullopt;
  try {
    Kept k;
    k.origin = std::string(o->at("origin").as_string());
    k.log_key = std::string(o->at("log_key").as_string());
    k.checkpoint = std::string(o->at("checkpoint").as_string());
    k.size = o->at("size").to_number<std::uint64_t>();
    const auto r = evidence::from_base64(std::string(o->at("root").as_string()));
    if (!r || r->size() != 32) throw std::runtime_error("root is not a base64 hash");
    std::copy(r->begin(), r->end(), k.root.begin());
    return k;
  } catch (const std::exception& e) {
    cannot_run("the monitor state " + file.string() + " is not readable: " + e.what());
  }
}

void write_state(const std::filesystem::path& file, const Kept& k) {
  json::object o;
  o["origin"] = k.origin;
  o["log_key"] = k.log_key;
  o["size"] = k.size;
  o["root"] = evidence::to_base64(k.root);
  o["checkpoint"] = k.checkpoint;
  write_file_durably(file, json::serialize(o) + "\n");
}

std::vector<merkle::Hash> fetch_consistency(Http& http, std::uint64_t old_size, std::uint64_t new_size) {
  const auto v = http.get_json("/api/v1/log/proof/consistency?old=" + std::to_string(old_size) +
                                "&new=" + std::to_string(new_size));
  std::vector<merkle::Hash> out;
  const auto* hashes = v.is_object() ? v.as_object().if_contains("hashes") : nullptr;
  if (!hashes || !hashes->is_array()) cannot_run("the consistency proof is not JSON with \"hashes\"");
  for (const auto& h : hashes->as_array()) {
    const auto b = h.is_string() ? evidence::from_base64(std::string(h.as_string())) : std::nullopt;
    if (!b || b->size() != 32) cannot_run("a consistency proof hash is not base64 SHA-256");
    merkle::Hash hash{};
    std::copy(b->begin(), b->end(), hash.begin());
    out.push_back(hash);
  }
  return out;
}

int run_monitor(const Globals& g, const MonitorArgs& a) {
  const std::filesystem::path state_file(a.state);
  const auto kept = read_state(state_file);

  // Whose signature counts: --log-key, else the key the state was started with.
  const std::string key_text = !a.log_key.empty() ? a.log_key : kept ? kept->log_key : std::string();
  if (key_text.empty()) cannot_run("no log key: give --log-key on the first run (the log's keys/log.vkey)");
  const auto log_key = note::Verifier::parse(key_text);
  if (!log_key || log_key->type != note::kTypeEd25519) cannot_run("--log-key is not a C2SP note verifier key");
  std::vector<note::Verifier> witnesses;
  for (const auto& w : a.witness_keys) {
    const auto v = note::Verifier::parse(w);
    if (!v || v->type != note::kTypeCosignatureV1) cannot_run("--witness-key is not a cosignature/v1 verifier key: " + w);
    witnesses.push_back(*v);
  }
  if (const auto* twice = note::repeated_witness(witnesses))
    cannot_run("--witness-key names the witness " + twice->name + " twice (it counts once toward the quorum)");
  const int quorum = a.quorum < 0 ? static_cast<int>(witnesses.size()) : a.quorum;
  if (quorum > static_cast<int>(witnesses.size())) cannot_run("--quorum is more than the witness keys given");

  Http http(g);
  const std::string signed_note = http.get_ok("/api/v1/log/checkpoint", !g.token.empty()).body;

  const auto text = note::open(signed_note, *log_key);
  if (!text) {
    warn("FORK OR FORGERY: the checkpoint is not signed by " + log_key->name + "; state left as it was");
    return kProblems;
  }
  const auto cp = note::Checkpoint::parse(*text);
  if (!cp) {
    warn("the signed text is not a checkpoint; state left as it was");
    return kProblems;
  }
  int cosigned = 0;
  for (const auto& w : witnesses) {
    if (note::verify_cosignature(signed_note, w)) {
      ++cosigned;
      say("cosigned by " + w.name);
    } else {
      warn("no valid cosignature by " + w.name);
    }
  }
  if (cosigned < quorum) {
    warn("only " + std::to_string(cosigned) + " of the " + std::to_string(quorum) +
         " cosignatures required; state left as it was");
    return kProblems;
  }

  Kept next{cp->origin, key_text, signed_note, cp->size, cp->root};
  if (!kept) {
    write_state(state_file, next);
    say("first checkpoint kept: " + cp->origin + " size " + std::to_string(cp->size) + " (trusted on first use)");
    return kOk;
  }
  if (kept->origin != cp->origin) {
    warn("the server's log is " + cp->origin + ", the state follows " + kept->origin + "; state left as it was");
    return kProblems;
  }
  // Same size: same root, or two histories. Smaller: the older tree must be a prefix of
  // the kept one (a stale answer, not a fork). Larger: it must extend the kept one.
  bool consistent = false;
  if (cp->size == kept->size) {
    consistent = cp->root == kept->root;
  } else if (cp->size < kept->size) {
    consistent = cp->size > 0 && merkle::verify_consistency(cp->size, kept->size, cp->root, kept->root,
                                                            fetch_consistency(http, cp->size, kept->size));
  } else {
    consistent = kept->size == 0
                     ? true
                     : merkle::verify_consistency(kept->size, cp->size, kept->root, cp->root,
                                                  fetch_consistency(http, kept->size, cp->size));
  }
  if (!consistent) {
    warn("FORK: the checkpoint at size " + std::to_string(cp->size) + " is not consistent with the one kept at size " +
         std::to_string(kept->size) + "; state left as it was");
    std::cout << "kept:\n" << kept->checkpoint << "served:\n" << signed_note << std::flush;
    return kProblems;
  }
  if (cp->size <= kept->size) {
    say("no growth: size " + std::to_string(cp->size) + ", consistent with the kept size " + std::to_string(kept->size));
    return kOk;
  }
  write_state(state_file, next);
  say("consistent: " + std::to_string(kept->size) + " -> " + std::to_string(cp->size));
  return kOk;
}

}  // namespace

void add_log_monitor(CLI::App& log, Globals& g, Runner& run) {
  auto a = std::make_shared<MonitorArgs>();
  auto* m = log.add_subcommand("monitor", "Check the log's newest checkpoint against the one kept in --state (exit 1 on a fork)");
  m->add_option("--state", a->state, "file the monitor keeps the last good checkpoint in")->required();
  m->add_option("--log-key", a->log_key, "the log's verifier key (required on the first run)");
  m->add_option("--witness-key", a->witness_keys, "a witness's cosignature/v1 verifier key (repeatable)");
  m->add_option("--quorum", a->quorum, "cosignatures required (default: every --witness-key)")->check(CLI::NonNegativeNumber);
  m->callback([&g, &run, a] { run = [&g, a] { return run_monitor(g, *a); }; });
}

}  // namespace evidencectl
