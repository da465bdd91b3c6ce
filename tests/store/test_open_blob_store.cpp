#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "base/codec.h"
#include "store/data_dir.h"
#include "base/error.h"
#include "store/s3/open_blob_store.h"
#include "tests/store/store_fixture.h"
#include "tests/tempdir.h"

using namespace evidence;
namespace fs = std::filesystem;

namespace {

struct Instance : test::DataDir {
  void config(const std::string& text) const { std::ofstream(layout.blob_config()) << text; }
};

}  // namespace

TEST_CASE("blob backend factory: no blobs.json opens the local folder", "[open_blob_store]") {
  Instance in;
  CHECK_FALSE(read_blob_config(in.layout));
  auto blobs = open_data_blob_store(in.layout);
  REQUIRE(blobs);
  CHECK(blobs->describe() == "local:" + in.layout.blobs_dir().string());
  CHECK(blobs->local_files() != nullptr);
  CHECK(blobs->versioned() == nullptr);
  CHECK(blobs->legal_holds() == nullptr);
  auto w = blobs->begin_write();
  w->write(as_bytes(std::string("x")));
  const auto info = w->commit();
  CHECK(blobs->exists(info.id));
}

TEST_CASE("blob backend factory: an explicit local backend is the local folder", "[open_blob_store]") {
  Instance in;
  in.config(R"({"backend": "local"})");
  auto cfg = read_blob_config(in.layout);
  REQUIRE(cfg);
  CHECK(cfg->backend == "local");
  CHECK(open_data_blob_store(in.layout)->describe().rfind("local:", 0) == 0);
  // The daemon's factory without S3 flags agrees, and leaves blobs.json alone.
  CHECK(open_serve_blob_store(in.layout, {})->describe().rfind("local:", 0) == 0);
}

TEST_CASE("blob backend factory: an unknown backend is refused naming it", "[open_blob_store]") {
  Instance in;
  in.config(R"({"backend": "tape"})");
  try {
    (void)open_data_blob_store(in.layout);
    FAIL("opened");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::corrupt);
    const std::string what = e.what();
    CHECK(what.find("tape") != std::string::npos);
    CHECK(what.find("blobs.json") != std::string::npos);
  }
}

TEST_CASE("blob backend factory: a blobs.json that does not parse is corrupt", "[open_blob_store]") {
  Instance in;
  in.config("not json");
  try {
    (void)read_blob_config(in.layout);
    FAIL("parsed");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::corrupt);
  }
}

TEST_CASE("blob backend factory: S3 settings round-trip through blobs.json", "[open_blob_store]") {
  Instance in;
  BlobConfig c;
  c.backend = "s3";
  c.endpoint = "http://127.0.0.1:1";
  c.bucket = "evidence-test";
  c.lock_mode = "GOVERNANCE";
  c.retention_days = 7;
  write_blob_config(in.layout, c);
  auto got = read_blob_config(in.layout);
  REQUIRE(got);
  CHECK(got->backend == "s3");
  CHECK(got->endpoint == c.endpoint);
  CHECK(got->bucket == c.bucket);
  CHECK(got->lock_mode == "GOVERNANCE");
  CHECK(got->retention_days == 7);
}

TEST_CASE("blob backend factory: S3 flags without a bucket are refused", "[open_blob_store]") {
  Instance in;
  BlobBackendOptions o;
  o.s3_endpoint = "http://127.0.0.1:1";
  try {
    (void)open_serve_blob_store(in.layout, o);
    FAIL("opened");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::invalid_argument);
  }
}

TEST_CASE("data directory: a non-empty folder is never initialised", "[data_dir]") {
  test::TempDir tmp;
  std::ofstream(tmp / "something") << "x";
  try {
    create_data_directory(Layout(tmp.path()));
    FAIL("created");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::already_exists);
  }
  CHECK_FALSE(fs::exists(tmp / "blobs"));
}

TEST_CASE("data directory: finishing writes the admin token once", "[data_dir]") {
  Instance in;
  finish_data_directory(in.layout, "token\n");
  CHECK(static_cast<unsigned>(fs::status(in.layout.admin_token_path()).permissions() & fs::perms::all) == 0600);
  CHECK_THROWS_AS(finish_data_directory(in.layout, "other\n"), Error);
  CHECK_FALSE(has_embedded_tsa(in.layout));
  CHECK(read_embedded_tsa_ca(in.layout).empty());
}
