// `evidenced` subcommands: each file adds one to the CLI11 app and runs it.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace evidence::cli {

// Each returns the action to run when its subcommand was chosen (exit code).
std::function<int()> add_init(CLI::App& app);
std::function<int()> add_serve(CLI::App& app);
std::function<int()> add_verify(CLI::App& app);

}  // namespace evidence::cli
