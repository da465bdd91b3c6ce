// Running the real programs from tests: the daemon on 127.0.0.1 port 0, HTTP calls
// to it (libcurl), and child processes with captured output.
#pragma once

#include <boost/json/value.hpp>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace evidence::test {

struct ProcResult {
  int exit_code = -1;  // -1 when killed by a signal
  std::string out;
  std::string err;
};

// Runs argv[0] with arguments, feeding `input` on stdin; waits at most `timeout_s`
// (then SIGKILL and exit_code -1). `env` entries are added to the environment.
ProcResult run_process(const std::vector<std::string>& argv, const std::string& input = {},
                       const std::vector<std::pair<std::string, std::string>>& env = {},
                       int timeout_s = 120);

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  boost::json::value json() const;  // parses body; throws on invalid JSON
  std::string header(const std::string& lower_name) const;  // "" when absent
};

using Headers = std::vector<std::pair<std::string, std::string>>;

// One HTTP request over loopback (libcurl, no proxy, no redirects). `token` adds
// "Authorization: Bearer <token>" when non-empty.
HttpResponse http(const std::string& method, const std::string& url, const std::string& token = {},
                  const std::string& body = {}, const Headers& headers = {});

// The real daemon: `evidenced init --data DIR` (unless DIR already holds an instance),
// then `evidenced serve --data DIR --listen 127.0.0.1:0 <extra>`; waits for the
// "listening on http://HOST:PORT" line on stdout. Stops it with SIGTERM in the
// destructor (and reports nothing; tests that care call stop()).
class Daemon {
 public:
  explicit Daemon(std::filesystem::path data_dir, std::vector<std::string> extra_args = {});
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  const std::string& url() const { return url_; }       // "http://127.0.0.1:PORT"
  std::string api(const std::string& path) const { return url_ + "/api/v1" + path; }
  const std::string& admin_token() const { return admin_token_; }
  const std::filesystem::path& data_dir() const { return data_dir_; }
  int pid() const { return pid_; }

  int stop();        // SIGTERM, wait; returns the exit code
  void kill9();      // SIGKILL, wait
  void start();      // serve again on the same data dir (new port)
  std::string stderr_text() const;  // what the daemon logged so far

  // POST /users as admin; returns the new user's token.
  std::string add_user(const std::string& name, const std::string& role);

 private:
  std::filesystem::path data_dir_;
  std::vector<std::string> extra_args_;
  std::string url_;
  std::string admin_token_;
  std::filesystem::path stderr_file_;
  int pid_ = -1;
};

// Starts argv (a program that prints "listening on URL" on stdout once it serves),
// stderr appended to `stderr_file`; returns its pid and URL. Fails the test when the
// line does not come within 30 s.
std::pair<int, std::string> spawn_listening(const std::vector<std::string>& argv,
                                            const std::filesystem::path& stderr_file);

// Any such server for the length of a test: started by the constructor, SIGTERM and
// wait in stop() or the destructor.
class ServerProcess {
 public:
  ServerProcess(std::vector<std::string> argv, std::filesystem::path stderr_file);
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  const std::string& url() const { return url_; }
  int stop();  // SIGTERM, wait; the exit code
  std::string stderr_text() const;

 private:
  std::filesystem::path stderr_file_;
  int pid_ = -1;
  std::string url_;
};

// A file of `size` pseudo-random bytes (seeded) at `path`.
void write_random_file(const std::filesystem::path& path, std::size_t size, unsigned seed = 1);
std::string read_file(const std::filesystem::path& path);
std::string sha256_hex_of_file(const std::filesystem::path& path);

}  // namespace evidence::test
