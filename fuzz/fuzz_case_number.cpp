// Case-number validation and the other text checks that guard what becomes data:
// they must never crash, and must accept only valid UTF-8 without control characters.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "store/ids.h"
#include "base/timefmt.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view s(reinterpret_cast<const char*>(data), size);
  auto problem = evidence::case_number_problem(s);
  if (problem.empty()) {
    if (s.empty() || s.size() > 128) __builtin_trap();
    for (unsigned char c : s)
      if (c < 0x20 || c == 0x7f) __builtin_trap();
  }
  (void)evidence::name_problem("officer", s);
  (void)evidence::is_evidence_id(s);
  if (auto t = evidence::parse_rfc3339(s)) (void)evidence::format_rfc3339(*t);
  return 0;
}
