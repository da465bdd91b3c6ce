// evidencectl verify [--case C | --evidence ID]: ask the server to audit (POST /verify).
#include <boost/json.hpp>

#include "tools/evidencectl/cli.h"
#include "tools/evidencectl/http.h"
#include "tools/evidencectl/local_files.h"

namespace evidencectl {
namespace json = boost::json;

namespace {

struct VerifyArgs {
  std::string case_number, evidence;
  bool as_json = false;
};

std::string text(const json::object& o, const char* k) {
  const auto* v = o.if_contains(k);
  return !v ? "" : v->is_string() ? std::string(v->as_string()) : json::serialize(*v);
}

int run_verify(const Globals& g, const VerifyArgs& a) {
  json::object req{{"scope", "all"}};
  if (!a.case_number.empty()) req = {{"scope", "case"}, {"id", a.case_number}};
  if (!a.evidence.empty()) req = {{"scope", "evidence"}, {"id", a.evidence}};
  Http http(g);
  const auto v = http.post_json("/api/v1/verify", req);
  if (!v.is_object() || !v.as_object().contains("ok")) cannot_run("the server's report has no \"ok\"");
  const auto& rep = v.as_object();
  const bool ok = rep.at("ok").is_bool() && rep.at("ok").as_bool();
  if (a.as_json) {
    say(json::serialize(rep));
    return ok ? kOk : kProblems;
  }
  say(std::string(ok ? "intact" : "PROBLEMS FOUND") + ": checked " + text(rep, "checked"));
  for (const char* list : {"problems", "hints"}) {
    const auto* arr = rep.if_contains(list);
    if (!arr || !arr->is_array()) continue;
    for (const auto& p : arr->as_array()) {
      if (!p.is_object()) continue;
      const auto& o = p.as_object();
      std::string line = std::string(list[0] == 'p' ? "  problem " : "  hint    ") + text(o, "kind") + " " +
                         text(o, "evidence") + ": " + text(o, "detail");
      if (const auto* seg = o.if_contains("segment"); seg && seg->is_object())
        line += " (seconds " + text(seg->as_object(), "start") + " to " + text(seg->as_object(), "end") + ")";
      say(line);
    }
  }
  return ok ? kOk : kProblems;
}

}  // namespace

void add_verify(CLI::App& app, Globals& g, Runner& run) {
  auto a = std::make_shared<VerifyArgs>();
  auto* sub = app.add_subcommand("verify", "Ask the server to audit everything, a case or one item (exit 0 intact, 1 problems)");
  auto* c = sub->add_option("--case", a->case_number, "Audit one case");
  auto* e = sub->add_option("--evidence", a->evidence, "Audit one item");
  c->excludes(e);
  sub->add_flag("--json", a->as_json, "Print the report as JSON");
  sub->callback([&g, &run, a] { run = [&g, a] { return run_verify(g, *a); }; });
}

}  // namespace evidencectl
