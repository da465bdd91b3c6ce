// Shared by every evidencectl command: exit codes, the failure type that carries
// one, the global options, and the registration functions (one per cmd_*.cpp).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <stdexcept>
#include <string>

namespace evidencectl {

// Exit codes as DESIGN.md gives them for verification tools.
inline constexpr int kOk = 0;
inline constexpr int kProblems = 1;   // a check ran and found something wrong
inline constexpr int kCannotRun = 2;  // usage error, or the work could not be done

// Thrown to end a command with `code` and a one-line message on stderr.
class Failure : public std::runtime_error {
 public:
  Failure(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
  int code() const noexcept { return code_; }

 private:
  int code_;
};

[[noreturn]] inline void cannot_run(const std::string& message) {
  throw Failure(kCannotRun, message);
}

struct Globals {
  std::string server;  // base URL, e.g. http://127.0.0.1:8443
  std::string token;
  std::string cacert;  // PEM bundle for a server with a private CA
  bool insecure = false;
};

// The command chosen on the command line; set by the subcommand's callback.
using Runner = std::function<int()>;

void add_upload(CLI::App& app, Globals& g, Runner& run);
void add_dock(CLI::App& app, Globals& g, Runner& run);
void add_cases(CLI::App& app, Globals& g, Runner& run);  // cases and case
void add_get(CLI::App& app, Globals& g, Runner& run);
void add_verify(CLI::App& app, Globals& g, Runner& run);
void add_export(CLI::App& app, Globals& g, Runner& run);
void add_verify_bundle(CLI::App& app, Globals& g, Runner& run);
void add_verify_receipt(CLI::App& app, Globals& g, Runner& run);
void add_users(CLI::App& app, Globals& g, Runner& run);
void add_log(CLI::App& app, Globals& g, Runner& run);
void add_log_monitor(CLI::App& log, Globals& g, Runner& run);  // cmd_monitor.cpp

}  // namespace evidencectl
