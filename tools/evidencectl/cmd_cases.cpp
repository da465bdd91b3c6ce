// evidencectl cases [--prefix P] and evidencectl case C: what a reviewer looks at.
#include <boost/json.hpp>
#include <iostream>

#include "tools/evidencectl/cli.h"
#include "tools/evidencectl/http.h"
#include "tools/evidencectl/local_files.h"

namespace evidencectl {
namespace json = boost::json;

namespace {

std::string field(const json::object& o, const char* k) {
  const auto* v = o.if_contains(k);
  if (!v) return "";
  if (v->is_string()) return std::string(v->as_string());
  return json::serialize(*v);
}

int run_cases(const Globals& g, const std::string& prefix, bool as_json) {
  Http http(g);
  const auto v = http.get_json("/api/v1/cases" + (prefix.empty() ? std::string{} : "?prefix=" + encode_query(prefix)));
  if (as_json) {
    say(json::serialize(v));
    return kOk;
  }
  const auto* cases = v.is_object() ? v.as_object().if_contains("cases") : nullptr;
  if (!cases || !cases->is_array()) cannot_run("the server's case list has no \"cases\" array");
  for (const auto& c : cases->as_array()) {
    if (c.is_string())
      say(std::string(c.as_string()));
    else if (c.is_object())
      say(field(c.as_object(), "case"));
    else
      say(json::serialize(c));
  }
  return kOk;
}

int run_case(const Globals& g, const std::string& case_number, bool as_json) {
  Http http(g);
  const auto v = http.get_json("/api/v1/cases/" + encode_segment(case_number));
  if (as_json) {
    say(json::serialize(v));
    return kOk;
  }
  const auto* items = v.is_object() ? v.as_object().if_contains("items") : nullptr;
  if (!items || !items->is_array()) cannot_run("the server's case has no \"items\" array");
  say("case " + case_number + ": " + std::to_string(items->as_array().size()) + " item(s)");
  for (const auto& it : items->as_array()) {
    if (!it.is_object()) continue;
    const auto& o = it.as_object();
    say(field(o, "id") + "  " + field(o, "sha256") + "  " + field(o, "size") + " bytes  " +
        field(o, "officer") + "  " + field(o, "device") + "  " + field(o, "recorded_at") + "  " +
        field(o, "filename"));
  }
  return kOk;
}

}  // namespace

void add_cases(CLI::App& app, Globals& g, Runner& run) {
  {
    auto prefix = std::make_shared<std::string>();
    auto as_json = std::make_shared<bool>(false);
    auto* sub = app.add_subcommand("cases", "List case numbers");
    sub->add_option("--prefix", *prefix, "Only cases starting with this");
    sub->add_flag("--json", *as_json, "Print the server's JSON");
    sub->callback([&g, &run, prefix, as_json] { run = [&g, prefix, as_json] { return run_cases(g, *prefix, *as_json); }; });
  }
  {
    auto c = std::make_shared<std::string>();
    auto as_json = std::make_shared<bool>(false);
    auto* sub = app.add_subcommand("case", "Show the items linked to one case");
    sub->add_option("case", *c, "Case number (any UTF-8 text)")->required();
    sub->add_flag("--json", *as_json, "Print the server's JSON");
    sub->callback([&g, &run, c, as_json] { run = [&g, c, as_json] { return run_case(g, *c, *as_json); }; });
  }
}

}  // namespace evidencectl
