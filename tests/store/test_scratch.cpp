#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "base/codec.h"
#include "store/data_dir.h"
#include "base/error.h"
#include "store/scratch.h"
#include "tests/store/store_fixture.h"
#include "tests/tempdir.h"

using namespace evidence;
namespace fs = std::filesystem;

namespace {

using Instance = test::DataDir;

std::size_t entries(const fs::path& dir) {
  std::size_t n = 0;
  for (auto it = fs::directory_iterator(dir); it != fs::directory_iterator(); ++it) ++n;
  return n;
}

}  // namespace

TEST_CASE("scratch: an anonymous file has no name and reads back what was written", "[scratch]") {
  Instance in;
  Scratch scratch(in.layout);
  {
    ScratchFile f = scratch.anonymous("export");
    CHECK(f.path().empty());
    CHECK(entries(in.layout.incoming_dir()) == 0);
    f.write(as_bytes(std::string("bundle bytes")));
    CHECK(f.size() == 12);
    std::string out(6, '\0');
    CHECK(f.read_at(7, {reinterpret_cast<std::uint8_t*>(out.data()), out.size()}) == 5);
    CHECK(out.substr(0, 5) == "bytes");
  }
  CHECK(entries(in.layout.incoming_dir()) == 0);
}

TEST_CASE("scratch: a created file is removed on destruction", "[scratch]") {
  Instance in;
  Scratch scratch(in.layout);
  fs::path name;
  {
    ScratchFile f = scratch.create(".src");
    name = f.path();
    CHECK(name.parent_path() == in.layout.incoming_dir());
    CHECK(fs::exists(name));
    f.write(as_bytes(std::string("copy")));
    f.close();
    const auto back = f.read_all(16);
    CHECK(std::string(back.begin(), back.end()) == "copy");
    ScratchFile moved = std::move(f);  // the owner moves, the file stays
    CHECK(fs::exists(name));
  }
  CHECK_FALSE(fs::exists(name));
}

TEST_CASE("scratch: a reserved name is removed once a child created it", "[scratch]") {
  Instance in;
  Scratch scratch(in.layout);
  fs::path name;
  {
    const ScratchFile f = scratch.reserve(".jpg");
    name = f.path();
    CHECK_FALSE(fs::exists(name));  // nothing created yet
    std::ofstream(name) << "jpeg";  // as the media worker would
    CHECK(f.read_all(4).size() == 4);
    CHECK_THROWS_AS(f.read_all(3), Error);  // over the cap
  }
  CHECK_FALSE(fs::exists(name));
  // Destroying a reservation nobody used is fine too.
  { const ScratchFile unused = scratch.reserve(".clip"); }
}

TEST_CASE("scratch: the startup sweep removes what a crash left and nothing else", "[scratch]") {
  Instance in;
  Scratch scratch(in.layout);
  const fs::path left = [&] {
    ScratchFile f = scratch.create(".src");
    fs::path p = f.path();
    // A crash: the owner never runs its destructor, so keep a hard link as the leftover.
    fs::create_hard_link(p, p.string() + ".jpg");
    return fs::path(p.string() + ".jpg");
  }();
  CHECK(fs::exists(left));
  std::ofstream(in.layout.upload_path("keepme")) << "partial upload";
  CHECK(scratch.sweep() == 1);
  CHECK_FALSE(fs::exists(left));
  CHECK(fs::exists(in.layout.upload_path("keepme")));
}

TEST_CASE("scratch: free space is known for the data directory", "[scratch]") {
  Instance in;
  const auto avail = Scratch(in.layout).available_bytes();
  REQUIRE(avail);
  CHECK(*avail == fs::space(in.layout.incoming_dir()).available);
}
