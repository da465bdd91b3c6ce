#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "store/blob_store.h"
#include "base/codec.h"
#include "base/error.h"
#include "tests/tempdir.h"

using namespace evidence;
namespace fs = std::filesystem;

namespace {

std::size_t count_files(const fs::path& dir) {
  if (!fs::exists(dir)) return 0;
  std::size_t n = 0;
  for (auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) ++n;
  return n;
}

std::string read_blob(BlobStore& store, const ContentId& id, std::uint64_t offset, std::size_t n) {
  auto r = store.open(id);
  std::string out(n, '\0');
  auto got = r->read_at(offset, {reinterpret_cast<std::uint8_t*>(out.data()), out.size()});
  out.resize(got);
  return out;
}

}  // namespace

TEST_CASE("a blob is stored under its SHA-256, read-only, and reads back by range", "[blob]") {
  test::TempDir dir;
  Layout layout(dir.path());
  LocalBlobStore store(layout, 4096);
  std::string content;
  for (int i = 0; i < 10000; ++i) content += std::to_string(i) + ",";
  auto w = store.begin_write();
  // Feed it in odd-sized pieces, some larger than the buffer.
  std::size_t pos = 0, step = 1;
  while (pos < content.size()) {
    auto n = std::min(step, content.size() - pos);
    w->write(as_bytes(std::string_view(content).substr(pos, n)));
    pos += n;
    step = step * 3 + 1;
  }
  auto info = w->commit();
  CHECK(info.id == Sha256::of(content));
  CHECK(info.size == content.size());
  CHECK_FALSE(info.existed);
  auto path = layout.blob_path(info.id);
  REQUIRE(fs::exists(path));
  CHECK(path.parent_path().filename() == info.id.hex().substr(0, 2));
  struct stat st{};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0444);
  CHECK(read_blob(store, info.id, 0, 5) == content.substr(0, 5));
  CHECK(read_blob(store, info.id, 1000, 100) == content.substr(1000, 100));
  CHECK(read_blob(store, info.id, content.size() - 3, 100) == content.substr(content.size() - 3));
  CHECK(count_files(layout.incoming_dir()) == 0);
}

TEST_CASE("the same content twice is stored once", "[blob]") {
  test::TempDir dir;
  LocalBlobStore store(Layout(dir.path()));
  auto a = store.begin_write();
  a->write(as_bytes(std::string("same bytes")));
  auto ia = a->commit();
  auto b = store.begin_write();
  b->write(as_bytes(std::string("same bytes")));
  auto ib = b->commit();
  CHECK(ia.id == ib.id);
  CHECK_FALSE(ia.existed);
  CHECK(ib.existed);
  CHECK(count_files(dir.path() / "blobs") == 1);
  CHECK(count_files(dir.path() / "incoming") == 0);
}

TEST_CASE("the same content again replaces a stored copy that lost bytes, and keeps the damaged one", "[blob]") {
  test::TempDir dir;
  Layout layout(dir.path());
  LocalBlobStore store(layout);
  const std::string content(100000, 'e');
  auto a = store.begin_write();
  a->write(as_bytes(content));
  const auto ia = a->commit();
  const auto path = layout.blob_path(ia.id);
  fs::resize_file(path, 1000);  // a disk that lost the tail
  auto b = store.begin_write();
  b->write(as_bytes(content));
  const auto ib = b->commit();
  CHECK_FALSE(ib.existed);  // not deduplicated against the damaged copy
  CHECK(fs::file_size(path) == content.size());
  CHECK(read_blob(store, ia.id, 99990, 10) == content.substr(99990));
  std::size_t damaged = 0;
  for (auto& e : fs::directory_iterator(path.parent_path())) {
    if (e.path().filename().string().rfind(ia.id.hex() + ".damaged-", 0) == 0) {
      ++damaged;
      CHECK(fs::file_size(e.path()) == 1000);
    }
  }
  CHECK(damaged == 1);
  // An intact copy is still deduplicated.
  auto c = store.begin_write();
  c->write(as_bytes(content));
  CHECK(c->commit().existed);
}

TEST_CASE("a declared digest that does not match stores nothing", "[blob]") {
  test::TempDir dir;
  LocalBlobStore store(Layout(dir.path()));
  auto w = store.begin_write();
  w->write(as_bytes(std::string("real content")));
  auto wrong = Sha256::of(std::string("other content"));
  try {
    w->commit(wrong);
    FAIL("commit accepted a wrong digest");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::digest_mismatch);
    CHECK(std::string(e.what()).find(wrong.hex()) != std::string::npos);
  }
  w.reset();
  CHECK(count_files(dir.path() / "blobs") == 0);
  CHECK(count_files(dir.path() / "incoming") == 0);
}

TEST_CASE("an abandoned writer leaves nothing behind", "[blob]") {
  test::TempDir dir;
  LocalBlobStore store(Layout(dir.path()));
  {
    auto w = store.begin_write();
    w->write(as_bytes(std::string(100000, 'x')));
  }
  CHECK(count_files(dir.path() / "blobs") == 0);
  CHECK(count_files(dir.path() / "incoming") == 0);
}

// The daemon time-stamps the content's hash before it commits: digest() must tell the
// hash and size of what was written so far without storing anything, and a writer
// dropped afterwards (a refused time stamp) must leave nothing.
TEST_CASE("digest tells the hash of the bytes so far without storing them", "[blob]") {
  test::TempDir dir;
  LocalBlobStore store(Layout(dir.path()), 4096);
  const std::string first(10000, 'a'), second = "and the rest";
  {
    auto w = store.begin_write();
    auto empty = w->digest();
    CHECK(empty.id == Sha256::of(std::string_view()));
    CHECK(empty.size == 0);
    w->write(as_bytes(first));
    auto d = w->digest();
    CHECK(d.id == Sha256::of(first));
    CHECK(d.size == first.size());
    CHECK(w->digest().id == d.id);  // asking twice changes nothing
    CHECK(count_files(dir.path() / "blobs") == 0);
  }
  CHECK(count_files(dir.path() / "blobs") == 0);
  CHECK(count_files(dir.path() / "incoming") == 0);

  auto w = store.begin_write();
  w->write(as_bytes(first));
  CHECK(w->digest().id == Sha256::of(first));
  w->write(as_bytes(second));  // writing goes on after digest()
  auto d = w->digest();
  CHECK(d.id == Sha256::of(first + second));
  CHECK(d.size == first.size() + second.size());
  auto info = w->commit(d.id);
  CHECK(info.id == d.id);
  CHECK(info.size == d.size);
  CHECK(read_blob(store, info.id, 0, 100000) == first + second);
}

TEST_CASE("a missing blob is a not_found error, and stray files are listed", "[blob]") {
  test::TempDir dir;
  Layout layout(dir.path());
  LocalBlobStore store(layout);
  try {
    store.open(Sha256::of(std::string("never stored")));
    FAIL("opened a missing blob");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::not_found);
  }
  auto w = store.begin_write();
  w->write(as_bytes(std::string("kept")));
  auto info = w->commit();
  std::ofstream(layout.blob_folder(info.id) / "junk.txt") << "junk";
  auto stray = store.stray_names();
  REQUIRE(stray.size() == 1);
  CHECK(stray[0].find("junk.txt") != std::string::npos);
  std::size_t listed = 0;
  store.for_each([&](const ContentId& id, std::uint64_t size) {
    CHECK(id == info.id);
    CHECK(size == 4);
    ++listed;
  });
  CHECK(listed == 1);
}

TEST_CASE("adopting a hashed file moves it into place", "[blob]") {
  test::TempDir dir;
  Layout layout(dir.path());
  LocalBlobStore store(layout);
  fs::create_directories(layout.incoming_dir());
  auto src = layout.upload_path("abc123");
  std::ofstream(src) << "uploaded through tus";
  auto id = Sha256::of(std::string("uploaded through tus"));
  auto info = store.adopt_file(src, id);
  CHECK(info.id == id);
  CHECK(info.size == 20);
  CHECK_FALSE(fs::exists(src));
  CHECK(store.exists(id));
  CHECK_THROWS_AS(layout.upload_path("../escape"), Error);
}

TEST_CASE("write_file_durably with exclusive never replaces a file", "[blob]") {
  test::TempDir dir;
  auto target = dir.path() / "key.pem";
  write_file_durably(target, as_bytes(std::string("first")), 0600, true);
  struct stat st{};
  REQUIRE(::stat(target.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  try {
    write_file_durably(target, as_bytes(std::string("second")), 0600, true);
    FAIL("replaced an existing file");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::already_exists);
  }
  std::ifstream in(target);
  std::string s;
  in >> s;
  CHECK(s == "first");
  CHECK(count_files(dir.path()) == 1);
}
