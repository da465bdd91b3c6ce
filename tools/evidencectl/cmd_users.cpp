// evidencectl users add|list|set|token (admin): people who may use the store. Every
// change is a `user` custody entry on the server; tokens are printed once.
#include <boost/json.hpp>
#include <iostream>

#include "tools/evidencectl/cli.h"
#include "tools/evidencectl/http.h"
#include "tools/evidencectl/local_files.h"

namespace evidencectl {
namespace json = boost::json;

namespace {

const std::vector<std::string> kRoles = {"officer", "reviewer", "auditor", "admin", "station"};

struct Profile {
  std::string role, badge, unit, cert_number, cert_until;
  bool disable = false, enable = false, no_certificate = false;
};

void add_profile_options(CLI::App* cmd, Profile& p, bool with_state) {
  cmd->add_option("--badge", p.badge, "Badge number");
  cmd->add_option("--unit", p.unit, "Unit (e.g. a station or branch)");
  cmd->add_option("--cert-number", p.cert_number, "Enforcement certificate number");
  cmd->add_option("--cert-until", p.cert_until, "Certificate valid until (RFC 3339, e.g. 2027-06-30T23:59:59Z)");
  if (with_state) {
    cmd->add_option("--role", p.role, "New role")->check(CLI::IsMember(kRoles));
    cmd->add_flag("--disable", p.disable, "Disable: the token stops working at once");
    cmd->add_flag("--enable", p.enable, "Enable again");
    cmd->add_flag("--no-certificate", p.no_certificate, "Remove the certificate");
  }
}

json::object profile_json(const Profile& p) {
  json::object o;
  if (!p.role.empty()) o["role"] = p.role;
  if (!p.badge.empty()) o["badge"] = p.badge;
  if (!p.unit.empty()) o["unit"] = p.unit;
  if (p.disable) o["disabled"] = true;
  if (p.enable) o["disabled"] = false;
  if (p.no_certificate) o["certificate"] = nullptr;
  if (!p.cert_number.empty() || !p.cert_until.empty()) {
    if (p.cert_number.empty() || p.cert_until.empty()) {
      throw Failure(kCannotRun, "--cert-number and --cert-until go together");
    }
    o["certificate"] = json::object{{"number", p.cert_number}, {"valid_until", p.cert_until}};
  }
  return o;
}

std::string text(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string("-");
}

}  // namespace

void add_users(CLI::App& app, Globals& g, Runner& run) {
  auto* users = app.add_subcommand("users", "Manage users (admin)");
  users->require_subcommand(1);
  auto name = std::make_shared<std::string>();
  auto role = std::make_shared<std::string>();
  auto profile = std::make_shared<Profile>();

  auto* add = users->add_subcommand("add", "Create a user and print their token (shown once)");
  add->add_option("name", *name, "User name")->required();
  add->add_option("--role", *role, "officer, reviewer, auditor or admin")->required()->check(CLI::IsMember(kRoles));
  add_profile_options(add, *profile, false);
  add->callback([&g, &run, name, role, profile] {
    run = [&g, name, role, profile] {
      Http http(g);
      json::object body = profile_json(*profile);
      body["name"] = *name;
      body["role"] = *role;
      const auto v = http.post_json("/api/v1/users", body);
      const auto* tok = v.is_object() ? v.as_object().if_contains("token") : nullptr;
      if (!tok || !tok->is_string()) cannot_run("the server created no token");
      say(std::string(tok->as_string()));
      warn("created " + *role + " " + *name + "; the token above is shown only once");
      return kOk;
    };
  });

  auto as_json = std::make_shared<bool>(false);
  auto* list = users->add_subcommand("list", "List users: role, badge, unit, certificate, last seen, state");
  list->add_flag("--json", *as_json, "Print the server's JSON");
  list->callback([&g, &run, as_json] {
    run = [&g, as_json] {
      Http http(g);
      const auto v = http.get_json("/api/v1/users");
      if (*as_json) {
        say(json::serialize(v));
        return kOk;
      }
      for (const auto& u : v.as_object().at("users").as_array()) {
        const auto& o = u.as_object();
        std::string cert = "-";
        if (const auto* c = o.if_contains("certificate"); c && c->is_object()) {
          cert = text(c->as_object(), "number") + " until " + text(c->as_object(), "valid_until");
        }
        const bool disabled = o.contains("disabled") && o.at("disabled").is_bool() && o.at("disabled").as_bool();
        say(text(o, "name") + "\t" + text(o, "role") + "\t" + (disabled ? "disabled" : "active") +
            "\tbadge " + text(o, "badge") + "\tunit " + text(o, "unit") + "\tcertificate " + cert + "\tlast seen " +
            text(o, "last_seen"));
      }
      return kOk;
    };
  });

  auto* set = users->add_subcommand("set", "Change a user: --disable/--enable, --role, --badge, --unit, certificate");
  set->add_option("name", *name, "User name")->required();
  add_profile_options(set, *profile, true);
  set->callback([&g, &run, name, profile] {
    run = [&g, name, profile] {
      if (profile->disable && profile->enable) throw Failure(kCannotRun, "--disable and --enable contradict each other");
      const json::object body = profile_json(*profile);
      if (body.empty()) throw Failure(kCannotRun, "nothing to change (see evidencectl users set --help)");
      Http http(g);
      const auto v = http.send_json("PATCH", "/api/v1/users/" + encode_segment(*name), body);
      say(json::serialize(v));
      return kOk;
    };
  });

  auto* token = users->add_subcommand("token", "Issue a new token for a user; the old one stops working at once");
  token->add_option("name", *name, "User name")->required();
  token->callback([&g, &run, name] {
    run = [&g, name] {
      Http http(g);
      const auto v = http.post_json("/api/v1/users/" + encode_segment(*name) + "/token", json::object{});
      const auto* tok = v.is_object() ? v.as_object().if_contains("token") : nullptr;
      if (!tok || !tok->is_string()) cannot_run("the server issued no token");
      say(std::string(tok->as_string()));
      warn("new token for " + *name + " (shown only once); the old one no longer works");
      return kOk;
    };
  });
}

}  // namespace evidencectl
