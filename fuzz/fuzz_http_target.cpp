// Request targets as the daemon routes them: origin-form parsing (Boost.URL), path
// segments, percent-decoding and matching against every route pattern of the route
// table (ingest/*.cpp add_*_routes). Contract: no crash; a capture is never empty;
// a "{}" capture that matched holds no unencoded '/' from the path itself.
#include <boost/url/parse.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ingest/headers.h"

using namespace evidence::ingest;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const char* const patterns[] = {
      "/healthz", "/metrics", "/keys", "/users", "/evidence", "/evidence/{}", "/evidence/{}/content",
      "/evidence/{}/timestamp", "/evidence/{}/custody", "/evidence/{}/thumbnail", "/evidence/{}/cases",
      "/evidence/{}/cases/{+}", "/cases", "/cases/{+}", "/cases/{+}/export", "/search", "/verify",
      "/log/checkpoint", "/log/entries", "/log/proof/inclusion", "/log/proof/consistency", "/uploads",
      "/uploads/{}"};
  const std::string_view target(reinterpret_cast<const char*>(data), size);
  auto parsed = boost::urls::parse_origin_form(target);
  std::string_view path = target;
  if (parsed) {
    path = parsed->encoded_path();
    // What handlers read: decoded query parameters.
    for (auto p : parsed->params()) {
      if (p.key.size() > size * 3 + 3) std::abort();
    }
  }
  const auto segs = split_path(path);
  for (const auto seg : segs) (void)decode_segment(seg);
  std::vector<std::string> params;
  for (const char* p : patterns) {
    const auto pat = split_path(p);
    if (!match_pattern(pat, segs, params)) continue;
    std::size_t captures = 0;
    for (auto q : pat) captures += (q == "{}" || q == "{+}") ? 1 : 0;
    if (params.size() != captures) std::abort();
    for (const auto& v : params) {
      if (v.empty()) std::abort();
    }
  }
  return 0;
}
