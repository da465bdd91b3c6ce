// Signed-note and checkpoint parsers: arbitrary text must be rejected cleanly.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "verify/signed_note.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view s(reinterpret_cast<const char*>(data), size);
  if (auto cp = evidence::note::Checkpoint::parse(s)) {
    if (evidence::note::Checkpoint::parse(cp->body()) == std::nullopt) __builtin_trap();
  }
  (void)evidence::note::Verifier::parse(s);
  static const auto verifier = *evidence::note::Verifier::parse(
      "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
  (void)evidence::note::open(s, verifier);
  return 0;
}
