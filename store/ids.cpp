#include "store/ids.h"

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <vector>

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include "base/codec.h"

namespace evidence {

namespace {

constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

// Monotonic ULID state: within one millisecond the random part is incremented so
// that ids made by this process sort in creation order.
std::mutex ulid_mutex;
std::uint64_t last_ms = 0;
std::array<std::uint8_t, 10> last_rand{};

}  // namespace

std::string new_evidence_id() {
  std::array<std::uint8_t, 16> b{};
  {
    std::lock_guard lock(ulid_mutex);
    auto ms = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());
    if (ms <= last_ms) {
      ms = last_ms;
      for (int i = 9; i >= 0; --i)
        if (++last_rand[static_cast<std::size_t>(i)] != 0) break;
    } else {
      auto r = random_bytes(10);
      std::copy(r.begin(), r.end(), last_rand.begin());
      last_ms = ms;
    }
    for (int i = 0; i < 6; ++i) b[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(ms >> (8 * (5 - i)));
    std::copy(last_rand.begin(), last_rand.end(), b.begin() + 6);
  }
  // 128 bits as 26 base32 digits, most significant first; the first digit carries
  // only 3 bits (two zero bits are implied in front).
  std::string out(26, '0');
  auto bit = [&](int k) { return k < 0 ? 0 : (b[static_cast<std::size_t>(k / 8)] >> (7 - k % 8)) & 1; };
  for (int i = 0; i < 26; ++i) {
    unsigned v = 0;
    for (int k = 5 * i - 2; k < 5 * i + 3; ++k) v = (v << 1) | static_cast<unsigned>(bit(k));
    out[static_cast<std::size_t>(i)] = kCrockford[v];
  }
  return out;
}

bool is_evidence_id(std::string_view s) {
  if (s.size() != 26 || s[0] > '7') return false;
  for (char c : s) {
    bool ok = false;
    for (const char* p = kCrockford; *p; ++p) ok = ok || (*p == c);
    if (!ok) return false;
  }
  return true;
}

std::string new_upload_id() { return to_hex(random_bytes(16)); }

long next_code_point(std::string_view s, std::size_t& i) {
  auto c = static_cast<unsigned char>(s[i]);
  int len;
  long cp;
  if (c < 0x80) {
    ++i;
    return c;
  } else if ((c & 0xE0) == 0xC0) {
    len = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4;
    cp = c & 0x07;
  } else {
    return -1;
  }
  if (i + static_cast<std::size_t>(len) > s.size()) return -1;
  for (int k = 1; k < len; ++k) {
    auto cc = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
    if ((cc & 0xC0) != 0x80) return -1;
    cp = (cp << 6) | (cc & 0x3F);
  }
  static constexpr long min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < min_for_len[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
  i += static_cast<std::size_t>(len);
  return cp;
}

namespace {

std::string text_problem(std::string_view what, std::string_view s, std::size_t max_bytes) {
  if (s.empty()) return std::string(what) + " must not be empty";
  if (s.size() > max_bytes)
    return std::string(what) + " is longer than " + std::to_string(max_bytes) + " bytes";
  for (std::size_t i = 0; i < s.size();) {
    long cp = next_code_point(s, i);
    if (cp < 0) return std::string(what) + " is not valid UTF-8";
    if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F))
      return std::string(what) + " contains a control character";
  }
  return {};
}

// NFC and no look-alike characters (ICU): what makes two strings that a person cannot
// tell apart one string.
std::string unicode_problem(std::string_view what, std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const long cp = next_code_point(s, i);
    const auto type = u_charType(static_cast<UChar32>(cp));
    if (type == U_FORMAT_CHAR) {
      char hex[16];
      std::snprintf(hex, sizeof hex, "U+%04lX", cp);
      return std::string(what) + " contains the invisible format character " + hex +
             " (zero-width, BOM or bidi mark)";
    }
    if (type == U_LINE_SEPARATOR || type == U_PARAGRAPH_SEPARATOR) {
      return std::string(what) + " contains a line or paragraph separator";
    }
  }
  UErrorCode err = U_ZERO_ERROR;
  std::vector<UChar> utf16(s.size() + 1);
  int32_t n = 0;
  u_strFromUTF8(utf16.data(), static_cast<int32_t>(utf16.size()), &n, s.data(), static_cast<int32_t>(s.size()), &err);
  if (U_FAILURE(err)) return std::string(what) + " is not valid UTF-8";
  const UNormalizer2* nfc = unorm2_getNFCInstance(&err);
  if (U_FAILURE(err)) return std::string(what) + ": Unicode normalisation is unavailable";
  const UBool normal = unorm2_isNormalized(nfc, utf16.data(), n, &err);
  if (U_FAILURE(err)) return std::string(what) + ": Unicode normalisation failed";
  if (!normal) return std::string(what) + " is not in Unicode NFC (compose it, e.g. \"e\" + U+0301 as U+00E9)";
  return {};
}

}  // namespace

std::string case_number_problem(std::string_view c) {
  if (auto p = text_problem("case number", c, 128); !p.empty()) return p;
  return unicode_problem("case number", c);
}

std::string user_name_problem(std::string_view name) {
  if (auto p = text_problem("user name", name, 256); !p.empty()) return p;
  if (auto p = unicode_problem("user name", name); !p.empty()) return p;
  if (name == kSystemActor) return "the user name \"system\" is reserved for the daemon itself";
  return {};
}

std::string name_problem(std::string_view what, std::string_view s) { return text_problem(what, s, 256); }

}  // namespace evidence
