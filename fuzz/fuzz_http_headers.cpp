// The daemon's parsers of client-controlled header values (ingest/headers.h). The
// first byte picks the parser, the rest is the header value. Contract: a result or an
// HttpError with a 4xx status; anything else (crash, other exception, 5xx, a range
// outside the content) aborts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ingest/headers.h"

using namespace evidence::ingest;

namespace {

void check_status(const HttpError& e) {
  const unsigned s = static_cast<unsigned>(e.status);
  if (s < 400 || s >= 500) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view value(reinterpret_cast<const char*>(data + 1), size - 1);
  static const std::vector<std::string_view> known{"officer", "device", "recorded_at", "filename", "case", "sha256"};
  try {
    switch (data[0] % 6) {
      case 0: {
        auto m = parse_upload_metadata(value, known);
        if (m.size() > known.size()) std::abort();
        break;
      }
      case 1: {
        auto c = parse_upload_checksum(value);
        const std::size_t want = c.algorithm == UploadChecksum::Algorithm::sha1 ? 20 : 32;
        if (c.digest.size() != want) std::abort();
        break;
      }
      case 2:
        (void)parse_digest_header(value, true);
        break;
      case 3:
        (void)parse_digest_header(value, false);
        break;
      case 4: {
        // Sizes from 0 to a few thousand, and one near the 64-bit limit.
        const std::uint64_t sizes[] = {0, 1, 1000, 18446744073709551615ull};
        for (std::uint64_t n : sizes) {
          try {
            auto r = parse_range(value, n);
            if (r && (r->first > r->last || r->last >= n)) std::abort();
          } catch (const HttpError& e) {
            check_status(e);
          }
        }
        break;
      }
      case 5:
        (void)parse_uint(value);
        break;
    }
  } catch (const HttpError& e) {
    check_status(e);
  }
  return 0;
}
