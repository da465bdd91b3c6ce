// The web console compiled into the daemon (cmake/embed_web.cmake, ingest/web_assets.h).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "ingest/web_assets.h"

using evidence::ingest::find_web_asset;
namespace fs = std::filesystem;

namespace {
std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
}  // namespace

TEST_CASE("web assets: the root path serves index.html as HTML") {
  const auto* root = find_web_asset("/");
  REQUIRE(root != nullptr);
  CHECK(root->path == "/index.html");
  CHECK(root->content_type == "text/html; charset=utf-8");
  CHECK(root == find_web_asset("/index.html"));
}

TEST_CASE("web assets: every file under web/ is embedded byte for byte with its type") {
  const fs::path web = fs::path(EVIDENCE_SOURCE_DIR) / "web";
  int files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(web)) {
    if (!entry.is_regular_file() || entry.path().filename().string().front() == '.') continue;
    const std::string url = "/" + fs::relative(entry.path(), web).generic_string();
    INFO(url);
    const auto* asset = find_web_asset(url);
    REQUIRE(asset != nullptr);
    CHECK(asset->body == read_file(entry.path()));
    if (url.ends_with(".js")) CHECK(asset->content_type == "text/javascript; charset=utf-8");
    if (url.ends_with(".css")) CHECK(asset->content_type == "text/css; charset=utf-8");
    ++files;
  }
  CHECK(files >= 5);
}

TEST_CASE("web assets: unknown, relative and traversal paths find nothing") {
  for (const char* p : {"", "/nope.js", "app.js", "/../web/app.js", "/views/../app.js", "/app.js?x=1", "/APP.JS"}) {
    INFO(p);
    CHECK(find_web_asset(p) == nullptr);
  }
}
