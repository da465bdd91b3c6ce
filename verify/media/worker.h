// The media functions run in a confined child process (verify/media/sandbox.h).
#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace evidence::media {

// The worker's descriptors: its input (read only) and, for thumbnail and clip, the
// file its output goes to, both opened by the parent. The worker opens nothing.
inline constexpr int kWorkerInputFd = 3;
inline constexpr int kWorkerOutputFd = 4;

// Entry point of a worker process (`evidenced media-worker ...`); call it only as a
// process's main: it confines the process it runs in for good (verify/media/sandbox.h:
// no new privileges, an unprivileged user when started as root, private namespaces
// where the kernel allows them, a seccomp filter that refuses every open, socket and
// exec). argv[0] is ignored (program or subcommand name); then one of
//   probe                 -> to_json(MediaInfo)  (also for non-media)
//   thumbnail [W]         -> {"size": N}, the JPEG written to descriptor 4
//   segments              -> {"segments": [...], "root": hex}
//   clip START END        -> {"start", "end", "format"}, the clip written to descriptor 4
//   status                -> {"sandbox": {...}}: the protections in force (sandbox.h)
//   selftest DIR [PATH..] -> {"sandbox", "open_keys", "opened", "connect", "create", "env", ...}:
//                            what a hostile input could still do (tests; sandbox.h)
// reading its input from descriptor 3. It prints one JSON value on stdout and returns
// the exit code: 0 on success, 1 with {"error": message, "code": errc name} when the
// operation failed, 2 with {"error": usage} for bad arguments. When stdin is a pipe it
// first reads it to EOF: run_media_worker closes that pipe only after applying the
// resource limits, so no file byte is parsed before the limits hold.
int media_worker_main(int argc, char** argv);

// A descriptor to hand to a worker (WorkerOptions), closed when this dies. Move-only.
class WorkerFile {
 public:
  // `file` opened read-only. Throws Error(not_found / permission_denied / io_error).
  static WorkerFile input(const std::filesystem::path& file);
  // `file` created for writing (it must not exist yet; mode 0600). Throws as input.
  static WorkerFile output(const std::filesystem::path& file);
  WorkerFile(WorkerFile&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  WorkerFile& operator=(WorkerFile&&) = delete;
  WorkerFile(const WorkerFile&) = delete;
  WorkerFile& operator=(const WorkerFile&) = delete;
  ~WorkerFile();
  int fd() const { return fd_; }

 private:
  explicit WorkerFile(int fd) : fd_(fd) {}
  int fd_ = -1;
};

struct WorkerOptions {
  int timeout_s = 30;                  // wall clock; the CPU time limit is the same
  std::size_t memory_limit_bytes = 0;  // RLIMIT_AS; 0 = none
  int nice_increment = 0;              // > 0 lowers the child's CPU priority
  int input_fd = -1;                   // becomes the child's descriptor 3; -1 = none
  int output_fd = -1;                  // becomes the child's descriptor 4; -1 = none
  // RLIMIT_FSIZE: the largest file the child may write (through output_fd; it can
  // create none). 0 = no file at all.
  std::uint64_t max_output_bytes = 0;
};

// Spawns `exe` with `args` (args[0] is the first argument after the program name)
// via posix_spawn in its own process group, with an empty environment, stdout
// captured (at most 64 MiB), stderr discarded, and no descriptors but those and the
// two in `options` (as 3 and 4). Before the child may start (its stdin is a pipe
// closed only then) applies with prlimit: RLIMIT_AS = memory_limit_bytes (0 = none),
// RLIMIT_CPU = timeout_s, RLIMIT_NOFILE = kWorkerMaxFiles, RLIMIT_FSIZE =
// max_output_bytes, RLIMIT_CORE = 0. Kills the group with SIGKILL after `timeout_s` seconds.
// Returns the parsed stdout JSON when the child exited normally (whatever the exit
// code: the worker's errors are JSON too), nullopt when it could not be spawned,
// timed out, died by a signal (e.g. out of memory) or printed no valid JSON; then
// `*failure` (when given) says which.
inline constexpr int kWorkerMaxFiles = 16;
std::optional<boost::json::value> run_media_worker(const std::string& exe,
                                                   const std::vector<std::string>& args,
                                                   const WorkerOptions& options,
                                                   std::string* failure = nullptr);
// The same without descriptors (the form earlier callers use).
std::optional<boost::json::value> run_media_worker(const std::string& exe,
                                                   const std::vector<std::string>& args,
                                                   int timeout_s,
                                                   std::size_t memory_limit_bytes,
                                                   std::string* failure = nullptr,
                                                   int nice_increment = 0);

}  // namespace evidence::media
