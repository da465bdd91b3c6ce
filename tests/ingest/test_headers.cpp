// The daemon's parsers of client-controlled header values and request targets
// (ingest/headers.h): what they accept, what they refuse with which status, and the
// inputs the fuzzers (fuzz/fuzz_http_*.cpp) found interesting.
#include <catch2/catch.hpp>

#include "ingest/headers.h"

using namespace evidence;
using namespace evidence::ingest;

namespace {

unsigned status_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const HttpError& e) {
    return static_cast<unsigned>(e.status);
  }
  return 0;
}

const std::vector<std::string_view> kKnown{"officer", "device", "case"};

}  // namespace

TEST_CASE("parse_uint takes up to 19 decimal digits and nothing else", "[headers]") {
  CHECK(parse_uint("0") == 0u);
  CHECK(parse_uint("1234567890123456789") == 1234567890123456789ull);
  CHECK(!parse_uint(""));
  CHECK(!parse_uint("12345678901234567890"));  // 20 digits could overflow
  CHECK(!parse_uint("-1"));
  CHECK(!parse_uint("1 "));
  CHECK(!parse_uint("0x10"));
}

TEST_CASE("Upload-Metadata keeps known keys, decodes base64 and refuses bad base64 with 400", "[headers]") {
  auto m = parse_upload_metadata("officer Sm8=, device Y2FtLTE=,evidence_id eA==,case", kKnown);
  CHECK(m.size() == 3);
  CHECK(m.at("officer").as_string() == "Jo");
  CHECK(m.at("device").as_string() == "cam-1");
  CHECK(m.at("case").as_string() == "");  // a key without a value
  CHECK(!m.contains("evidence_id"));      // server-side fields cannot be planted
  CHECK(parse_upload_metadata("", kKnown).empty());
  CHECK(parse_upload_metadata(",,, ,", kKnown).empty());
  CHECK(status_of([] { parse_upload_metadata("officer !!!", kKnown); }) == 400);
  // Values decode to arbitrary bytes (validation of the fields happens later).
  auto nul = parse_upload_metadata("officer AA==", kKnown);
  CHECK(nul.at("officer").as_string().size() == 1);
}

TEST_CASE("Upload-Checksum accepts sha1 and sha256 of the right length only", "[headers]") {
  const std::string sha256_b64 = to_base64(Sha256::of(std::string("abc")).bytes);
  auto c = parse_upload_checksum("sha256 " + sha256_b64);
  CHECK(c.algorithm == UploadChecksum::Algorithm::sha256);
  CHECK(c.digest.size() == 32);
  auto s1 = parse_upload_checksum("sha1 qZk+NkcGgWq6PiVxeFDCbJzQ2J0=");
  CHECK(s1.algorithm == UploadChecksum::Algorithm::sha1);
  CHECK(s1.digest.size() == 20);
  CHECK(status_of([] { parse_upload_checksum(""); }) == 400);
  CHECK(status_of([] { parse_upload_checksum("sha256"); }) == 400);
  CHECK(status_of([] { parse_upload_checksum("md5 1B2M2Y8AsgTpgAmY7PhCfg=="); }) == 400);
  CHECK(status_of([] { parse_upload_checksum("sha1 " + std::string(44, 'A')); }) == 400);  // 33 bytes
  CHECK(status_of([&] { parse_upload_checksum("sha1 " + sha256_b64); }) == 400);          // wrong length
}

TEST_CASE("Content-Digest and Digest yield the sha-256 member and refuse malformed ones", "[headers]") {
  const ContentId id = Sha256::of(std::string("hello"));
  const std::string b64 = to_base64(id.bytes);
  CHECK(parse_digest_header("sha-256=:" + b64 + ":", true) == id);
  CHECK(parse_digest_header("sha-512=:AAAA:, sha-256=:" + b64 + ":", true) == id);
  CHECK(parse_digest_header("SHA-256=" + b64, false) == id);
  CHECK(!parse_digest_header("sha-512=:AAAA:", true));
  CHECK(!parse_digest_header("", true));
  CHECK(!parse_digest_header("garbage", false));
  CHECK(status_of([&] { parse_digest_header("sha-256=" + b64, true); }) == 400);  // no colons
  CHECK(status_of([] { parse_digest_header("sha-256=::", true); }) == 400);
  CHECK(status_of([] { parse_digest_header("sha-256=:", true); }) == 400);
  CHECK(status_of([] { parse_digest_header("sha-256=AAAA", false); }) == 400);  // 3 bytes
}

TEST_CASE("Range: single byte ranges, suffixes, ignored forms and 416", "[headers]") {
  auto r = parse_range("bytes=0-99", 1000);
  REQUIRE(r);
  CHECK(r->first == 0);
  CHECK(r->last == 99);
  r = parse_range("bytes=900-", 1000);
  REQUIRE(r);
  CHECK(r->last == 999);
  r = parse_range("bytes=-100", 1000);
  REQUIRE(r);
  CHECK(r->first == 900);
  r = parse_range("bytes=-5000", 1000);
  REQUIRE(r);
  CHECK(r->first == 0);
  r = parse_range("bytes=10-999999", 1000);  // clamped to the content
  REQUIRE(r);
  CHECK(r->last == 999);
  CHECK(!parse_range("items=0-1", 1000));
  CHECK(!parse_range("bytes=0-1,5-6", 1000));
  CHECK(!parse_range("bytes=5-1", 1000));
  CHECK(!parse_range("bytes=a-b", 1000));
  CHECK(!parse_range("bytes=99999999999999999999-", 1000));
  CHECK(status_of([] { parse_range("bytes=1000-", 1000); }) == 416);
  CHECK(status_of([] { parse_range("bytes=-0", 1000); }) == 416);
  CHECK(status_of([] { parse_range("bytes=0-", 0); }) == 416);
  CHECK(status_of([] { parse_range("bytes=-1", 0); }) == 416);
  // Every range that is returned lies within the content.
  for (const char* h : {"bytes=0-0", "bytes=-1", "bytes=999-", "bytes= 3 - 7 ", "bytes=0-9999999999999999999"}) {
    auto x = parse_range(h, 1000);
    REQUIRE(x);
    CHECK(x->first <= x->last);
    CHECK(x->last < 1000);
  }
}

TEST_CASE("request paths: segments stay encoded until captured, {+} joins with slashes", "[headers]") {
  std::vector<std::string> params;
  CHECK(match_pattern(split_path("/evidence/{}/content"), split_path("/evidence/01ABC/content"), params));
  CHECK(params == std::vector<std::string>{"01ABC"});
  // An encoded slash stays inside one capture.
  CHECK(match_pattern(split_path("/cases/{+}"), split_path("/cases/K%2F1"), params));
  CHECK(params == std::vector<std::string>{"K/1"});
  CHECK(match_pattern(split_path("/cases/{+}"), split_path("/cases/a/b%20c"), params));
  CHECK(params == std::vector<std::string>{"a/b c"});
  CHECK(match_pattern(split_path("/evidence/{}/cases/{+}"), split_path("/evidence/X/cases/%E6%B1%89/1"), params));
  CHECK(params == std::vector<std::string>{"X", "汉/1"});
  CHECK(!match_pattern(split_path("/cases/{+}"), split_path("/cases/"), params));
  CHECK(!match_pattern(split_path("/cases/{+}"), split_path("/cases/a//b"), params));
  CHECK(!match_pattern(split_path("/evidence/{}"), split_path("/evidence/"), params));
  CHECK(!match_pattern(split_path("/evidence/{}"), split_path("/evidence/%zz"), params));
  CHECK(!match_pattern(split_path("/evidence/{}/content"), split_path("/evidence/x"), params));
  CHECK(decode_segment("%41%42") == std::string("AB"));
  CHECK(!decode_segment("%4"));
  CHECK(split_path("") == std::vector<std::string_view>{""});
  CHECK(split_path("/") == std::vector<std::string_view>{""});
}
