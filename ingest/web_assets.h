// The web console's static files (web/ in the source tree), compiled into the
// daemon so that a plain build serves the console with no install step.
// cmake/embed_web.cmake generates the table at build time (web_assets_data.cpp in
// the build folder); this header is its only interface.
#pragma once

#include <string_view>

namespace evidence::ingest {

struct WebAsset {
  std::string_view path;          // "/index.html", "/app.js", "/views/case.js"
  std::string_view content_type;  // e.g. "text/javascript; charset=utf-8"
  std::string_view body;          // the file's exact bytes
};

// The asset served at a decoded URL path, or nullptr. "/" is index.html. Paths are
// matched exactly (no normalisation, no "..", no query string): the caller passes
// the path part of the request target only. The returned object lives for the
// whole program.
const WebAsset* find_web_asset(std::string_view path);

}  // namespace evidence::ingest
