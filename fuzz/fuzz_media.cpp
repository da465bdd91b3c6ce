// Media probing (verify/media/probe.h) of arbitrary bytes: ok=false with a reason for what
// is not media, never a crash, never an exception for a readable file.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "verify/media/limits.h"
#include "verify/media/probe.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto path = std::filesystem::temp_directory_path() / ("fuzz_media_" + std::to_string(::getpid()));
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  evidence::media::ProbeLimits limits;
  limits.seconds = 2.0;
  const auto info = evidence::media::probe(path, limits);
  if (!info.ok && info.reason.empty()) std::abort();
  (void)evidence::media::to_json(info);
  return 0;
}
