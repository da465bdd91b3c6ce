// evidenced init --data DIR
#include <exception>
#include <iostream>
#include <memory>
#include <string>

#include "ingest/instance.h"
#include "tools/evidenced/commands.h"

namespace evidence::cli {

std::function<int()> add_init(CLI::App& app) {
  auto data = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("init", "create a new instance (keys, index, first admin token)");
  cmd->add_option("--data", *data, "data folder (absent or empty)")->required();
  return [data]() {
    try {
      const auto r = ingest::init_instance(*data);
      std::cerr << "initialised " << *data << " (log " << r.log_name << "); admin token (shown once, also in "
                << *data << "/admin.token):\n";
      std::cout << r.admin_token << std::endl;
      return 0;
    } catch (const std::exception& e) {
      std::cerr << "evidenced init: " << e.what() << "\n";
      return 2;  // could not run (an existing instance, a folder not empty, keys that fail)
    }
  };
}

}  // namespace evidence::cli
