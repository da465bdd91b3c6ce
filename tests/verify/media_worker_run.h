// Runs the real media worker, `evidenced media-worker VERB ...`, as the daemon does:
// confined, its input and output handed over as descriptors.
#pragma once

#include <boost/json/value.hpp>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "verify/media/worker.h"

namespace evidence::test {

#ifdef __SANITIZE_ADDRESS__
inline constexpr std::size_t kTestWorkerMemory = 0;  // ASan's shadow memory needs no RLIMIT_AS (media_jobs.h)
#else
inline constexpr std::size_t kTestWorkerMemory = std::size_t{1} << 30;
#endif

struct WorkerCall {
  std::vector<std::string> args;  // after "media-worker"
  std::filesystem::path input;    // opened here as descriptor 3 (none when empty)
  std::filesystem::path output;   // created here as descriptor 4 (none when empty)
  std::uint64_t max_output;       // its RLIMIT_FSIZE
  int timeout_s;

  WorkerCall(std::vector<std::string> a, std::filesystem::path in = {}, std::filesystem::path out = {},
             std::uint64_t max_out = 64u << 20, int timeout = 120)
      : args(std::move(a)), input(std::move(in)), output(std::move(out)), max_output(max_out), timeout_s(timeout) {}
};

inline std::optional<boost::json::value> run_real_worker(const WorkerCall& call, std::string* why = nullptr) {
  std::optional<media::WorkerFile> in, out;
  if (!call.input.empty()) in.emplace(media::WorkerFile::input(call.input));
  if (!call.output.empty()) out.emplace(media::WorkerFile::output(call.output));
  media::WorkerOptions o;
  o.timeout_s = call.timeout_s;
  o.memory_limit_bytes = kTestWorkerMemory;
  o.input_fd = in ? in->fd() : -1;
  o.output_fd = out ? out->fd() : -1;
  o.max_output_bytes = out ? call.max_output : 0;
  std::vector<std::string> args{"media-worker"};
  args.insert(args.end(), call.args.begin(), call.args.end());
  return media::run_media_worker(EVIDENCED_PATH, args, o, why);
}

}  // namespace evidence::test
