// Test support: child processes, HTTP over loopback, and the real daemon.
//
// Children are started with fork + execve; everything they need (argv, envp) is built
// before fork so the child only calls async-signal-safe functions. Every descriptor
// we create is close-on-exec, so one child never holds another child's pipe open
// (which would keep the reader from ever seeing end of file).
#include "tests/support/daemon.h"

#include <catch2/catch.hpp>

#include <curl/curl.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <tuple>

#include "store/content_id.h"

extern char** environ;

namespace evidence::test {
namespace {

using Clock = std::chrono::steady_clock;

// Writing to a pipe whose reader has gone must give EPIPE, not kill the test program.
void ignore_sigpipe_once() {
  static std::once_flag once;
  std::call_once(once, [] { ::signal(SIGPIPE, SIG_IGN); });
}

// curl_global_init is not thread-safe: do it once, before any handle.
void curl_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what); }
[[noreturn]] void fail_errno(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

// argv/envp as the NUL-terminated pointer arrays execve wants; owns the strings.
struct CStrings {
  std::vector<std::string> store;
  std::vector<char*> ptrs;
  void finish() {
    ptrs.clear();
    for (auto& s : store) ptrs.push_back(s.data());
    ptrs.push_back(nullptr);
  }
};

CStrings make_argv(const std::vector<std::string>& argv) {
  if (argv.empty()) fail("run_process: empty argv");
  CStrings a;
  a.store = argv;
  a.finish();
  return a;
}

// The current environment with `extra` added; an extra entry replaces one of the same name.
CStrings make_envp(const std::vector<std::pair<std::string, std::string>>& extra) {
  CStrings e;
  for (char** p = environ; p && *p; ++p) {
    std::string entry = *p;
    const auto name = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (const auto& [k, v] : extra) replaced = replaced || k == name;
    if (!replaced) e.store.push_back(std::move(entry));
  }
  for (const auto& [k, v] : extra) e.store.push_back(k + "=" + v);
  e.finish();
  return e;
}

struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) fail_errno("pipe2");
    r = fds[0];
    w = fds[1];
  }
  ~Pipe() {
    close_r();
    close_w();
  }
  void close_r() {
    if (r >= 0) ::close(r);
    r = -1;
  }
  void close_w() {
    if (w >= 0) ::close(w);
    w = -1;
  }
};

// Waits for `pid`; returns the exit code, or -1 when a signal ended it.
int wait_exit(int pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) fail_errno("waitpid");
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// waitpid with a deadline; nullopt when still running after `timeout`.
std::optional<int> wait_exit_for(int pid, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    int status = 0;
    const int r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (r < 0 && errno != EINTR) fail_errno("waitpid");
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string trim(std::string s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

}  // namespace

ProcResult run_process(const std::vector<std::string>& argv, const std::string& input,
                       const std::vector<std::pair<std::string, std::string>>& env,
                       int timeout_s) {
  ignore_sigpipe_once();
  CStrings args = make_argv(argv);
  CStrings envp = make_envp(env);
  Pipe in, out, err;

  const pid_t pid = ::fork();
  if (pid < 0) fail_errno("fork");
  if (pid == 0) {
    // Child: only async-signal-safe calls from here to execve.
    if (::dup2(in.r, 0) < 0 || ::dup2(out.w, 1) < 0 || ::dup2(err.w, 2) < 0) ::_exit(127);
    ::execve(args.ptrs[0], args.ptrs.data(), envp.ptrs.data());
    static const char msg[] = "run_process: execve failed\n";
    [[maybe_unused]] auto n = ::write(2, msg, sizeof msg - 1);
    ::_exit(127);
  }
  in.close_r();
  out.close_w();
  err.close_w();
  if (input.empty()) in.close_w();

  ProcResult result;
  std::size_t written = 0;
  const auto deadline = Clock::now() + std::chrono::seconds(timeout_s);
  bool killed = false;
  char buf[65536];
  while (out.r >= 0 || err.r >= 0) {
    std::vector<pollfd> fds;
    if (in.w >= 0) fds.push_back({in.w, POLLOUT, 0});
    if (out.r >= 0) fds.push_back({out.r, POLLIN, 0});
    if (err.r >= 0) fds.push_back({err.r, POLLIN, 0});
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      ::kill(pid, SIGKILL);
      killed = true;
      break;
    }
    const int n = ::poll(fds.data(), fds.size(), static_cast<int>(std::min<long long>(left, 1000)));
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_errno("poll");
    }
    for (const auto& p : fds) {
      if (p.revents == 0) continue;
      if (p.fd == in.w) {
        const ssize_t w = ::write(in.w, input.data() + written, input.size() - written);
        if (w > 0) written += static_cast<std::size_t>(w);
        if (w < 0 && errno != EINTR && errno != EAGAIN) in.close_w();  // child closed stdin
        if (written == input.size()) in.close_w();
        continue;
      }
      Pipe& src = p.fd == out.r ? out : err;
      std::string& dst = p.fd == out.r ? result.out : result.err;
      const ssize_t r = ::read(p.fd, buf, sizeof buf);
      if (r > 0) {
        dst.append(buf, static_cast<std::size_t>(r));
      } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
        src.close_r();
      }
    }
  }
  in.close_w();
  if (!killed) {
    // Output closed: normally the child is exiting; a child that closed its output
    // and lingers still gets the rest of the deadline.
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (auto code = wait_exit_for(pid, std::max(left, std::chrono::milliseconds(0)))) {
      result.exit_code = *code;
      return result;
    }
    ::kill(pid, SIGKILL);
  }
  wait_exit(pid);
  result.exit_code = -1;
  return result;
}

// ---------------------------------------------------------------------------- HTTP

boost::json::value HttpResponse::json() const { return boost::json::parse(body); }

std::string HttpResponse::header(const std::string& lower_name) const {
  const auto it = headers.find(lower_name);
  return it == headers.end() ? std::string{} : it->second;
}

namespace {

size_t on_body(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto& headers = *static_cast<std::map<std::string, std::string>*>(user);
  const std::string line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    headers.clear();  // a new response (after 100 Continue): forget the interim one
    return size * n;
  }
  const auto colon = line.find(':');
  if (colon == std::string::npos) return size * n;
  std::string name = line.substr(0, colon);
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::string value = trim(line.substr(colon + 1));
  auto [it, fresh] = headers.emplace(name, value);
  if (!fresh) it->second += ", " + value;
  return size * n;
}

}  // namespace

HttpResponse http(const std::string& method, const std::string& url, const std::string& token,
                  const std::string& body, const Headers& headers) {
  curl_init_once();
  CURL* curl = curl_easy_init();
  if (!curl) fail("curl_easy_init failed");
  curl_slist* list = nullptr;
  HttpResponse resp;

  bool has_content_type = false;
  for (const auto& [k, v] : headers) {
    std::string lower = k;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    has_content_type = has_content_type || lower == "content-type";
    // "Name;" is curl's way of sending a header with an empty value.
    list = curl_slist_append(list, (v.empty() ? k + ";" : k + ": " + v).c_str());
  }
  if (!token.empty()) list = curl_slist_append(list, ("Authorization: Bearer " + token).c_str());
  // Send exactly what the test asked for: no Expect: 100-continue, no form content type.
  list = curl_slist_append(list, "Expect:");
  if (!has_content_type) list = curl_slist_append(list, "Content-Type:");

  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 300L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &resp.headers);
  // Tests may talk to a daemon with a self-signed certificate.
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);

  if (method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (body.empty() && (method == "GET" || method == "DELETE" || method == "OPTIONS")) {
    // No body, no Content-Length.
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    if (method != "GET") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  } else {
    // Any method with a body (possibly empty: POST/PATCH/PUT still send Content-Length: 0).
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    if (method != "POST") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  }

  const CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp.status);
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) {
    fail(method + " " + url + ": " + curl_easy_strerror(rc));
  }
  return resp;
}

// -------------------------------------------------------------------------- Daemon

namespace {

// Reads the rest of a child's stdout so the child never blocks on (or dies of) a
// full or closed pipe; owns and finally closes `fd`.
void drain_in_background(int fd) {
  std::thread([fd] {
    char buf[4096];
    for (;;) {
      const ssize_t r = ::read(fd, buf, sizeof buf);
      if (r > 0) continue;
      if (r < 0 && errno == EINTR) continue;
      break;
    }
    ::close(fd);
  }).detach();
}

std::filesystem::path make_stderr_file() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "evidenced-stderr-XXXXXX").string();
  const int fd = ::mkstemp(tmpl.data());
  if (fd < 0) fail_errno("mkstemp");
  ::close(fd);
  return tmpl;
}

}  // namespace

Daemon::Daemon(std::filesystem::path data_dir, std::vector<std::string> extra_args)
    : data_dir_(std::move(data_dir)), extra_args_(std::move(extra_args)) {
  ignore_sigpipe_once();
  stderr_file_ = make_stderr_file();
  const auto token_file = data_dir_ / "admin.token";
  if (!std::filesystem::exists(token_file)) {
    const auto r = run_process({EVIDENCED_PATH, "init", "--data", data_dir_.string()}, {}, {}, 120);
    if (r.exit_code != 0) {
      std::filesystem::remove(stderr_file_);
      fail("evidenced init --data " + data_dir_.string() + " failed (exit " +
           std::to_string(r.exit_code) + "): " + r.err + r.out);
    }
  }
  admin_token_ = trim(read_file(token_file));
  if (admin_token_.empty()) fail(token_file.string() + " is empty");
  try {
    start();
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove(stderr_file_, ec);
    throw;
  }
}

Daemon::~Daemon() {
  // Every daemon a test started must exit 0 at SIGTERM: a crash at shutdown, or a
  // LeakSanitizer report (exit 23 here), fails the test that started it.
  if (pid_ > 0) {
    int code = -1;
    try {
      code = stop();
    } catch (...) {
    }
    if (code != 0) {
      std::string log;
      try {
        log = stderr_text();
      } catch (...) {
      }
      if (log.size() > 4000) log = "..." + log.substr(log.size() - 4000);
      INFO("the daemon's log (end):\n" << log);
      CHECK(code == 0);
    }
  }
  std::error_code ec;
  std::filesystem::remove(stderr_file_, ec);
}

void Daemon::start() {
  if (pid_ > 0) fail("Daemon::start: already running (pid " + std::to_string(pid_) + ")");
  std::vector<std::string> argv = {EVIDENCED_PATH, "serve", "--data", data_dir_.string(),
                                   "--listen", "127.0.0.1:0"};
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  const auto [pid, url] = spawn_listening(argv, stderr_file_);
  pid_ = pid;
  url_ = url;
}

std::pair<int, std::string> spawn_listening(const std::vector<std::string>& argv,
                                            const std::filesystem::path& stderr_file) {
  CStrings args = make_argv(argv);
  CStrings envp = make_envp({});
  Pipe out;
  const int err_fd =
      ::open(stderr_file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (err_fd < 0) fail_errno("open " + stderr_file.string());
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) {
    ::close(err_fd);
    fail_errno("open /dev/null");
  }

  std::string url;
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(err_fd);
    ::close(null_fd);
    fail_errno("fork");
  }
  if (pid == 0) {
    if (::dup2(null_fd, 0) < 0 || ::dup2(out.w, 1) < 0 || ::dup2(err_fd, 2) < 0) ::_exit(127);
    ::execve(args.ptrs[0], args.ptrs.data(), envp.ptrs.data());
    static const char msg[] = "Daemon: execve failed\n";
    [[maybe_unused]] auto n = ::write(2, msg, sizeof msg - 1);
    ::_exit(127);
  }
  ::close(err_fd);
  ::close(null_fd);
  out.close_w();

  // Read stdout line by line until the bound address appears.
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  std::string seen;
  std::string why;
  char buf[4096];
  for (;;) {
    const auto nl = seen.find('\n');
    if (nl != std::string::npos) {
      const std::string line = trim(seen.substr(0, nl));
      seen.erase(0, nl + 1);
      const auto at = line.find("listening on ");
      if (at != std::string::npos) {
        url = trim(line.substr(at + std::strlen("listening on ")));
        while (!url.empty() && url.back() == '/') url.pop_back();
        break;
      }
      continue;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      why = "no 'listening on' line within 30 s";
      break;
    }
    pollfd p{out.r, POLLIN, 0};
    const int n = ::poll(&p, 1, static_cast<int>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_errno("poll");
    if (n == 0) continue;
    const ssize_t r = ::read(out.r, buf, sizeof buf);
    if (r > 0) {
      seen.append(buf, static_cast<std::size_t>(r));
    } else if (r == 0 || errno != EINTR) {
      why = "the daemon closed its output (exited?) before 'listening on'";
      break;
    }
  }
  if (url.empty() || !why.empty()) {
    ::kill(pid, SIGKILL);
    const int code = wait_exit(pid);
    std::error_code ec;
    const std::string log = std::filesystem::exists(stderr_file, ec) ? read_file(stderr_file) : std::string();
    fail(argv[0] + " " + (argv.size() > 1 ? argv[1] : std::string()) + " did not start: " + why + " (exit " +
         std::to_string(code) + "); stderr:\n" + log);
  }
  drain_in_background(out.r);
  out.r = -1;  // the drain thread owns it now
  return {pid, url};
}

ServerProcess::ServerProcess(std::vector<std::string> argv, std::filesystem::path stderr_file)
    : stderr_file_(std::move(stderr_file)) {
  std::tie(pid_, url_) = spawn_listening(argv, stderr_file_);
}

ServerProcess::~ServerProcess() { stop(); }

// SIGTERM, then at most 60 s for the exit (SIGKILL after that: -1); pid becomes -1.
int terminate_and_wait(int& pid) {
  if (pid <= 0) return -1;
  ::kill(pid, SIGTERM);
  auto code = wait_exit_for(pid, std::chrono::seconds(60));
  if (!code) {
    ::kill(pid, SIGKILL);
    wait_exit(pid);
    code = -1;
  }
  pid = -1;
  return *code;
}

int ServerProcess::stop() { return terminate_and_wait(pid_); }

std::string ServerProcess::stderr_text() const {
  std::error_code ec;
  return std::filesystem::exists(stderr_file_, ec) ? read_file(stderr_file_) : std::string();
}

int Daemon::stop() {
  const int code = terminate_and_wait(pid_);
  url_.clear();
  return code;
}

void Daemon::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  wait_exit(pid_);
  pid_ = -1;
  url_.clear();
}

std::string Daemon::stderr_text() const {
  std::error_code ec;
  if (!std::filesystem::exists(stderr_file_, ec)) return {};
  return read_file(stderr_file_);
}

std::string Daemon::add_user(const std::string& name, const std::string& role) {
  boost::json::object req;
  req["name"] = name;
  req["role"] = role;
  const auto resp = http("POST", api("/users"), admin_token_, boost::json::serialize(req),
                         {{"Content-Type", "application/json"}});
  if (resp.status != 201) {
    fail("POST /users " + name + " (" + role + "): status " + std::to_string(resp.status) + ": " +
         resp.body);
  }
  const auto v = resp.json();
  const auto* token = v.is_object() ? v.as_object().if_contains("token") : nullptr;
  if (!token || !token->is_string()) fail("POST /users answered without a token: " + resp.body);
  return std::string(token->as_string());
}

// --------------------------------------------------------------------------- files

void write_random_file(const std::filesystem::path& path, std::size_t size, unsigned seed) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) fail("cannot create " + path.string());
  std::mt19937_64 rng(seed);
  std::vector<std::uint64_t> block(1 << 17);  // 1 MiB
  std::size_t left = size;
  while (left > 0) {
    for (auto& w : block) w = rng();
    const std::size_t n = std::min(left, block.size() * sizeof(std::uint64_t));
    f.write(reinterpret_cast<const char*>(block.data()), static_cast<std::streamsize>(n));
    left -= n;
  }
  f.close();
  if (!f) fail("cannot write " + path.string());
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail("cannot open " + path.string());
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string sha256_hex_of_file(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail("cannot open " + path.string());
  Sha256 h;
  std::vector<char> buf(1 << 20);
  while (f) {
    f.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = f.gcount();
    if (n > 0) h.update(std::string_view(buf.data(), static_cast<std::size_t>(n)));
  }
  return h.finish().hex();
}

}  // namespace evidence::test
