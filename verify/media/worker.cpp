// The media worker: its entry point (media_worker_main, in the confined child) and
// the parent's side that spawns it (run_media_worker). See worker.h.
#include "base/files.h"
#include "verify/media/worker.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <thread>

#include "base/codec.h"
#include "base/error.h"
#include "verify/media/clip.h"
#include "verify/media/probe.h"
#include "verify/media/sandbox.h"
#include "verify/media/segments.h"
#include "verify/media/thumbnail.h"

namespace evidence::media {

using Clock = std::chrono::steady_clock;

namespace {

int emit(const boost::json::value& v, int code) {
  std::cout << boost::json::serialize(v) << '\n';
  std::cout.flush();
#ifdef __SANITIZE_ADDRESS__
  // LeakSanitizer's check at exit needs a thread, ptrace and /proc/self/maps, all of
  // which the sandbox's filter refuses: it would fail the worker after its answer.
  // A sanitizer build's worker ends here instead; the same code's leaks are checked
  // in process by the media tests.
  std::fflush(nullptr);
  ::_exit(code);
#endif
  return code;
}

double parse_seconds(const char* s) {
  char* end = nullptr;
  errno = 0;
  const double d = std::strtod(s, &end);
  if (errno != 0 || end == s || *end != '\0' || !std::isfinite(d))
    throw Error(Errc::invalid_argument, std::string("not a number of seconds: ") + s);
  return d;
}

// The entries of DIR/keys, for the selftest (read before the sandbox shuts).
std::vector<std::string> key_names(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(dir) / "keys", ec))
    names.push_back(e.path().filename().string());
  return names;
}

}  // namespace

int media_worker_main(int argc, char** argv) {
  // Wait for the parent to apply our resource limits: it closes the pipe after prlimit.
  struct stat st{};
  if (::fstat(0, &st) == 0 && S_ISFIFO(st.st_mode)) {
    char sink[256];
    for (;;) {
      const ssize_t n = ::read(0, sink, sizeof sink);
      if (n > 0 || (n < 0 && errno == EINTR)) continue;
      break;
    }
  }
  const std::string verb = argc >= 2 ? argv[1] : "";
  const bool writes = verb == "thumbnail" || verb == "clip";
  const bool reads = writes || verb == "probe" || verb == "segments";
  const bool selftest = verb == "selftest" && argc >= 4;
  const auto keys = selftest ? key_names(argv[2]) : std::vector<std::string>{};
  // Before any input byte is parsed; for good. Everything below is what a hostile
  // file could reach.
  const Sandbox sandbox = confine_media_worker(writes ? kWorkerOutputFd : reads ? kWorkerInputFd : 2,
                                               verb == "status" || selftest);

  const std::string usage =
      "usage: probe | thumbnail [WIDTH] | segments | clip START END | status | selftest DIR PORT [PATH...] "
      "(input on descriptor 3, output to descriptor 4)";
  try {
    if (verb == "probe" && argc == 2) {
      return emit(to_json(probe(kWorkerInputFd)), 0);
    }
    if (verb == "thumbnail" && (argc == 2 || argc == 3)) {
      const int width = argc == 3 ? static_cast<int>(parse_seconds(argv[2])) : 320;
      const Bytes jpeg = thumbnail_jpeg(kWorkerInputFd, width);
      write_all(kWorkerOutputFd, jpeg.data(), jpeg.size(), "the output descriptor");
      return emit(boost::json::object{{"size", jpeg.size()}}, 0);
    }
    if (verb == "segments" && argc == 2) {
      const auto segments = segment_hashes(kWorkerInputFd);
      const auto root = segments_root(segments);
      return emit(boost::json::object{{"segments", to_json(segments)}, {"root", to_hex(root)}}, 0);
    }
    if (verb == "clip" && argc == 4) {
      const auto r = clip(kWorkerInputFd, parse_seconds(argv[2]), parse_seconds(argv[3]), kWorkerOutputFd);
      return emit(boost::json::object{{"start", r.start}, {"end", r.end}, {"format", r.format}}, 0);
    }
    if (verb == "status" && argc == 2) {
      return emit(boost::json::object{{"sandbox", sandbox_status(sandbox)}}, 0);
    }
    if (selftest) {
      const std::vector<std::string> paths(argv + 4, argv + argc);
      return emit(sandbox_selftest(sandbox, argv[2], keys, static_cast<int>(parse_seconds(argv[3])), paths), 0);
    }
  } catch (const Error& e) {
    return emit(boost::json::object{{"error", e.what()}, {"code", errc_name(e.code())}}, 1);
  } catch (const std::exception& e) {
    return emit(boost::json::object{{"error", e.what()}, {"code", "internal"}}, 1);
  }
  return emit(boost::json::object{{"error", usage}}, 2);
}

namespace {

struct SpawnAttr {
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  SpawnAttr() {
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&actions);
  }
  ~SpawnAttr() {
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
  }
  SpawnAttr(const SpawnAttr&) = delete;
  SpawnAttr& operator=(const SpawnAttr&) = delete;
};

struct Pipe {
  int fd[2] = {-1, -1};
  Pipe() {
    if (::pipe2(fd, O_CLOEXEC) != 0) throw system_error(errno, "pipe");
  }
  ~Pipe() {
    close_read();
    close_write();
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  void close_read() {
    if (fd[0] >= 0) ::close(fd[0]);
    fd[0] = -1;
  }
  void close_write() {
    if (fd[1] >= 0) ::close(fd[1]);
    fd[1] = -1;
  }
};

std::optional<boost::json::value> fail(std::string* failure, std::string why) {
  if (failure) *failure = std::move(why);
  return std::nullopt;
}

// A copy of `fd` at 10 or above (close-on-exec), so that moving it to 3 or 4 in the
// child cannot overwrite the other one or a pipe end not yet moved.
struct HighFd {
  int fd = -1;
  explicit HighFd(int source) {
    if (source >= 0 && (fd = ::fcntl(source, F_DUPFD_CLOEXEC, 10)) < 0) throw system_error(errno, "dup");
  }
  ~HighFd() {
    if (fd >= 0) ::close(fd);
  }
  HighFd(const HighFd&) = delete;
  HighFd& operator=(const HighFd&) = delete;
};

}  // namespace

WorkerFile WorkerFile::input(const std::filesystem::path& file) {
  int fd;
  do {
    fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) throw system_error(errno, "open " + file.string());
  return WorkerFile(fd);
}

WorkerFile WorkerFile::output(const std::filesystem::path& file) {
  int fd;
  do {
    fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) throw system_error(errno, "create " + file.string());
  return WorkerFile(fd);
}

WorkerFile::~WorkerFile() {
  if (fd_ >= 0) ::close(fd_);
}

std::optional<boost::json::value> run_media_worker(const std::string& exe, const std::vector<std::string>& args,
                                                   int timeout_s, std::size_t memory_limit_bytes,
                                                   std::string* failure, int nice_increment) {
  WorkerOptions o;
  o.timeout_s = timeout_s;
  o.memory_limit_bytes = memory_limit_bytes;
  o.nice_increment = nice_increment;
  return run_media_worker(exe, args, o, failure);
}

std::optional<boost::json::value> run_media_worker(const std::string& exe, const std::vector<std::string>& args,
                                                   const WorkerOptions& options, std::string* failure) {
  const int timeout_s = options.timeout_s;
  if (timeout_s <= 0) return fail(failure, "timeout must be positive");
  constexpr std::size_t kMaxOutput = 64u << 20;

  Pipe in, out;
  const HighFd input_copy(options.input_fd), output_copy(options.output_fd);
  const int input_fd = input_copy.fd, output_fd = output_copy.fd;
  SpawnAttr sa;
  posix_spawn_file_actions_adddup2(&sa.actions, in.fd[0], 0);
  posix_spawn_file_actions_adddup2(&sa.actions, out.fd[1], 1);
  posix_spawn_file_actions_addopen(&sa.actions, 2, "/dev/null", O_WRONLY, 0);
  // 3 is the input and 4 the output, when given; /dev/null keeps the numbering when
  // only an output is.
  if (input_fd >= 0) posix_spawn_file_actions_adddup2(&sa.actions, input_fd, kWorkerInputFd);
  else if (output_fd >= 0) posix_spawn_file_actions_addopen(&sa.actions, kWorkerInputFd, "/dev/null", O_RDONLY, 0);
  if (output_fd >= 0) posix_spawn_file_actions_adddup2(&sa.actions, output_fd, kWorkerOutputFd);
  // The daemon's sockets, LMDB and blob descriptors are none of the worker's business.
  posix_spawn_file_actions_addclosefrom_np(&sa.actions,
                                           output_fd >= 0 ? kWorkerOutputFd + 1 : input_fd >= 0 ? kWorkerInputFd + 1 : 3);
  sigset_t empty, defaults;
  sigemptyset(&empty);
  sigfillset(&defaults);
  sigdelset(&defaults, SIGKILL);
  sigdelset(&defaults, SIGSTOP);
  posix_spawnattr_setsigmask(&sa.attr, &empty);
  posix_spawnattr_setsigdefault(&sa.attr, &defaults);
  posix_spawnattr_setpgroup(&sa.attr, 0);  // its own group, so a kill reaches all of it
  posix_spawnattr_setflags(&sa.attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);

  std::vector<std::string> owned;
  owned.push_back(exe);
  owned.insert(owned.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : owned) argv.push_back(s.data());
  argv.push_back(nullptr);

  // No environment: nothing of the daemon's (paths, settings, a token in a variable)
  // reaches the worker, and libav reads no setting from it.
  char* no_env[] = {nullptr};
  pid_t pid = -1;
  if (int rc = posix_spawn(&pid, exe.c_str(), &sa.actions, &sa.attr, argv.data(), no_env); rc != 0)
    return fail(failure, "cannot spawn " + exe + ": " + std::strerror(rc));
  in.close_read();
  out.close_write();

  auto kill_child = [&] {
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
  };
  auto reap = [&] {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
  };

  // Soft and hard alike: the worker, root or not, cannot raise them (it drops root, and
  // its seccomp filter refuses prlimit/setrlimit anyway).
  struct Limit {
    __rlimit_resource resource;
    rlim_t value;
    const char* what;
  };
  std::vector<Limit> limits = {
      // CPU seconds cannot exceed wall-clock ones: the timeout kill stays the rule;
      // this one holds if the parent dies first.
      {RLIMIT_CPU, static_cast<rlim_t>(timeout_s), "CPU time"},
      {RLIMIT_NOFILE, static_cast<rlim_t>(kWorkerMaxFiles), "open files"},
      {RLIMIT_FSIZE, static_cast<rlim_t>(options.max_output_bytes), "file size"},
      {RLIMIT_CORE, 0, "core size"},
  };
  if (options.memory_limit_bytes > 0)
    limits.push_back({RLIMIT_AS, static_cast<rlim_t>(options.memory_limit_bytes), "memory"});
  for (const auto& l : limits) {
    const rlimit lim{l.value, l.value};
    if (::prlimit(pid, l.resource, &lim, nullptr) != 0) {
      const int err = errno;
      kill_child();
      reap();
      return fail(failure, std::string("cannot apply the ") + l.what + " limit: " + std::strerror(err));
    }
  }
  // Best effort: a worker at normal priority is still a correct worker.
  if (options.nice_increment > 0) (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(pid), options.nice_increment);
  in.close_write();  // the worker may start now

  const auto deadline = Clock::now() + std::chrono::seconds(timeout_s);
  std::string output;
  bool timed_out = false, too_big = false;
  char buf[64 * 1024];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{out.fd[0], POLLIN, 0};
    const int pr = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000)));
    if (pr < 0 && errno != EINTR) break;
    if (pr <= 0) continue;
    const ssize_t n = ::read(out.fd[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    output.append(buf, static_cast<std::size_t>(n));
    if (output.size() > kMaxOutput) {
      too_big = true;
      break;
    }
  }
  int status = 0;
  bool exited = false;
  while (!timed_out && !too_big) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      exited = true;
      break;
    }
    if (r < 0 && errno != EINTR) break;
    if (Clock::now() >= deadline) {
      timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (!exited) {
    kill_child();
    status = reap();
  }
  if (timed_out) return fail(failure, "timed out after " + std::to_string(timeout_s) + " s");
  if (too_big) return fail(failure, "output larger than 64 MiB");
  if (WIFSIGNALED(status)) return fail(failure, "killed by signal " + std::to_string(WTERMSIG(status)));
  if (!WIFEXITED(status)) return fail(failure, "did not exit normally");
  boost::system::error_code ec;
  auto value = boost::json::parse(output, ec);
  if (ec) {
    return fail(failure, "no JSON on stdout (exit code " + std::to_string(WEXITSTATUS(status)) + ")");
  }
  return value;
}

}  // namespace evidence::media
