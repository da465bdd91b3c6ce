// evidencectl users add NAME --role R: create a user (admin); prints the token once.
#include <boost/json.hpp>

#include "tools/evidencectl/cli.h"
#include "tools/evidencectl/http.h"
#include "tools/evidencectl/local_files.h"

namespace evidencectl {
namespace json = boost::json;

void add_users(CLI::App& app, Globals& g, Runner& run) {
  auto* users = app.add_subcommand("users", "Manage users (admin)");
  users->require_subcommand(1);
  auto name = std::make_shared<std::string>();
  auto role = std::make_shared<std::string>();
  auto* add = users->add_subcommand("add", "Create a user and print their token (shown once)");
  add->add_option("name", *name, "User name")->required();
  add->add_option("--role", *role, "officer, reviewer, auditor or admin")
      ->required()
      ->check(CLI::IsMember({"officer", "reviewer", "auditor", "admin"}));
  add->callback([&g, &run, name, role] {
    run = [&g, name, role] {
      Http http(g);
      const auto v = http.post_json("/api/v1/users", json::object{{"name", *name}, {"role", *role}});
      const auto* tok = v.is_object() ? v.as_object().if_contains("token") : nullptr;
      if (!tok || !tok->is_string()) cannot_run("the server created no token");
      say(std::string(tok->as_string()));
      warn("created " + *role + " " + *name + "; the token above is shown only once");
      return kOk;
    };
  });
}

}  // namespace evidencectl
