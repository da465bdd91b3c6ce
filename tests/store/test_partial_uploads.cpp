#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "store/blob_store.h"
#include "base/codec.h"
#include "store/data_dir.h"
#include "base/error.h"
#include "store/partial_uploads.h"
#include "tests/store/store_fixture.h"
#include "tests/tempdir.h"

using namespace evidence;
namespace fs = std::filesystem;

namespace {

using Instance = test::DataDir;

}  // namespace

TEST_CASE("partial upload: create makes an empty file once", "[partial_uploads]") {
  Instance in;
  PartialUploads files(in.layout);
  CHECK_FALSE(files.exists("abc"));
  files.create("abc");
  CHECK(files.exists("abc"));
  CHECK(files.size("abc") == 0);
  CHECK(fs::exists(in.layout.upload_path("abc")));
  CHECK(static_cast<unsigned>(fs::status(in.layout.upload_path("abc")).permissions() & fs::perms::all) == 0600);
  CHECK_THROWS_AS(files.create("abc"), Error);
}

TEST_CASE("partial upload: ids that are not ours never become paths", "[partial_uploads]") {
  Instance in;
  PartialUploads files(in.layout);
  try {
    files.create("../escape");
    FAIL("created");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::invalid_argument);
  }
  CHECK_THROWS_AS(files.open_append("a/b", 0), Error);
}

TEST_CASE("partial upload: append, sync and size count the bytes", "[partial_uploads]") {
  Instance in;
  PartialUploads files(in.layout);
  files.create("u1");
  {
    auto f = files.open_append("u1", 0);
    f->append(as_bytes(std::string("hello ")));
    f->append(as_bytes(std::string("world")));
    f->sync();
    CHECK(f->size() == 11);
  }
  CHECK(files.size("u1") == 11);
  CHECK(files.rehash("u1") == Sha256::of(std::string_view("hello world")));
}

TEST_CASE("partial upload: reopening at the durable offset drops the tail", "[partial_uploads]") {
  Instance in;
  PartialUploads files(in.layout);
  files.create("u2");
  {
    auto f = files.open_append("u2", 0);
    f->append(as_bytes(std::string("durable-not durable")));
  }
  {
    auto f = files.open_append("u2", 7);  // the index recorded 7 bytes
    CHECK(f->size() == 7);
    f->append(as_bytes(std::string("+more")));
    f->sync();
  }
  CHECK(files.size("u2") == 12);
  CHECK(files.rehash("u2") == Sha256::of(std::string_view("durable+more")));
}

TEST_CASE("partial upload: a missing file is not_found", "[partial_uploads]") {
  Instance in;
  PartialUploads files(in.layout);
  try {
    (void)files.open_append("gone", 0);
    FAIL("opened");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::not_found);
  }
  try {
    (void)files.size("gone");
    FAIL("sized");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::not_found);
  }
}

TEST_CASE("partial upload: remove deletes the file and tolerates absence", "[partial_uploads]") {
  Instance in;
  PartialUploads files(in.layout);
  files.create("u3");
  CHECK(files.remove("u3"));
  CHECK_FALSE(files.exists("u3"));
  CHECK_FALSE(fs::exists(in.layout.upload_path("u3")));
  CHECK(files.remove("u3"));  // already gone: nothing to do
}

TEST_CASE("partial upload: adopt moves the bytes into the blob store", "[partial_uploads]") {
  Instance in;
  PartialUploads files(in.layout);
  LocalBlobStore blobs(in.layout);
  files.create("u4");
  {
    auto f = files.open_append("u4", 0);
    f->append(as_bytes(std::string("evidence")));
    f->sync();
  }
  const ContentId id = files.rehash("u4");
  const BlobInfo info = files.adopt_into(blobs, "u4", id);
  CHECK(info.id == id);
  CHECK(info.size == 8);
  CHECK_FALSE(files.exists("u4"));
  CHECK(blobs.exists(id));
}
