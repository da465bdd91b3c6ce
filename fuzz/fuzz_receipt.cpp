// The offline receipt checker (verify/receipt.h) on arbitrary JSON against a small
// file: it promises never to throw and always to report all six checks.
#include <boost/json/parse.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string_view>
#include <unistd.h>

#include "verify/receipt.h"

namespace {

const std::filesystem::path& content_file() {
  static const std::filesystem::path p = [] {
    auto path = std::filesystem::temp_directory_path() / ("fuzz_receipt_" + std::to_string(::getpid()));
    std::ofstream(path, std::ios::binary) << "evidence bytes\n";
    return path;
  }();
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  boost::system::error_code ec;
  auto v = boost::json::parse(std::string_view(reinterpret_cast<const char*>(data), size), ec);
  if (ec || !v.is_object()) return 0;
  const auto check = evidence::verify_receipt(v.as_object(), content_file(), std::nullopt, std::nullopt);
  if (check.items.size() != 6) std::abort();
  (void)check.to_json();
  (void)evidence::receipt_log_origin(v.as_object());
  return 0;
}
