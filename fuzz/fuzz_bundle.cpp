// The offline bundle verifier (verify/bundle.h) on arbitrary bytes written to a temp
// file: a report, or Error(corrupt) for what is not a readable bundle; never a crash.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "base/error.h"
#include "verify/bundle.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto path = std::filesystem::temp_directory_path() / ("fuzz_bundle_" + std::to_string(::getpid()) + ".tar");
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    auto report = evidence::verify_bundle(path, std::nullopt);
    (void)report.to_json();
  } catch (const evidence::Error&) {
  }
  return 0;
}
