// base64 and hex decoders: never crash; whatever decodes re-encodes to the input.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view s(reinterpret_cast<const char*>(data), size);
  if (auto b = evidence::from_base64(s)) {
    if (evidence::to_base64(*b) != s) __builtin_trap();
  }
  if (auto h = evidence::from_hex(s)) {
    if (evidence::to_hex(*h).size() != s.size()) __builtin_trap();
  }
  return 0;
}
