// Running evidencectl from tests: a private HOME (so pinned keys and resume state
// never leak between tests or from the developer's own), server and token by env.
#pragma once

#include <filesystem>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "tests/support/daemon.h"
#include "tests/tempdir.h"

namespace evidence::test {

struct Ctl {
  std::filesystem::path home;
  std::string server;
  std::string token;

  explicit Ctl(std::filesystem::path home_dir) : home(std::move(home_dir)) {
    std::filesystem::create_directories(home);
  }

  std::filesystem::path state_dir() const { return home / "state" / "evidencectl"; }
  std::filesystem::path config_dir() const { return home / "config" / "evidencectl"; }

  ProcResult run(const std::vector<std::string>& args, int timeout_s = 240) const {
    std::vector<std::string> argv{EVIDENCECTL_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_process(argv, {},
                       {{"HOME", home.string()},
                        {"XDG_CONFIG_HOME", (home / "config").string()},
                        {"XDG_STATE_HOME", (home / "state").string()},
                        {"EVIDENCE_SERVER", server},
                        {"EVIDENCE_TOKEN", token}},
                       timeout_s);
  }
};

// The number in the first line of `text` that matches `pattern` (one capture group).
inline std::optional<unsigned long long> find_number(const std::string& text, const std::string& pattern) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex(pattern))) return std::nullopt;
  return std::stoull(m[1].str());
}

}  // namespace evidence::test
