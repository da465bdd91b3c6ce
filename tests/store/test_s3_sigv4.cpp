// AWS Signature Version 4 against published vectors, no network:
// - the AWS SigV4 test suite (aws-sig-v4-test-suite: AKIDEXAMPLE, 20150830T123600Z,
//   us-east-1, service "service"),
// - the S3 examples of "Signature Calculations for the Authorization Header"
//   (AKIAIOSFODNN7EXAMPLE, 20130524T000000Z, examplebucket).
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "store/s3/s3_blob_store.h"
#include "store/s3/s3_client.h"
#include "base/codec.h"
#include "base/error.h"
#include "tests/tempdir.h"

using namespace evidence;
using namespace evidence::s3;
using namespace evidence::s3;

namespace {

const Credentials kSuite{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"};
const Credentials kS3Doc{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"};
constexpr const char* kSuiteDate = "20150830T123600Z";
constexpr const char* kS3Date = "20130524T000000Z";

Signature suite(const std::string& method, const std::string& path, Params query = {}, Params extra = {},
                std::string payload = std::string(kEmptySha256)) {
  SigningInput in;
  in.method = method;
  in.path = path;
  in.query = std::move(query);
  in.headers = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", kSuiteDate}};
  for (auto& h : extra) in.headers.push_back(h);
  in.payload_sha256 = std::move(payload);
  return sign_v4(in, kSuite, "us-east-1", "service", kSuiteDate);
}

Signature s3doc(const std::string& method, const std::string& path, Params query, Params extra,
                std::string payload) {
  SigningInput in;
  in.method = method;
  in.path = path;
  in.query = std::move(query);
  in.headers = {{"Host", "examplebucket.s3.amazonaws.com"}, {"x-amz-date", kS3Date},
                {"x-amz-content-sha256", payload}};
  for (auto& h : extra) in.headers.push_back(h);
  in.payload_sha256 = std::move(payload);
  return sign_v4(in, kS3Doc, "us-east-1", "s3", kS3Date);
}

}  // namespace

TEST_CASE("s3 sigv4: get-vanilla from the AWS test suite", "[s3][sigv4]") {
  auto s = suite("GET", "/");
  CHECK(s.canonical_request ==
        "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(s.authorization ==
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=host;x-amz-date, "
        "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST_CASE("s3 sigv4: post-vanilla from the AWS test suite", "[s3][sigv4]") {
  CHECK(suite("POST", "/").signature == "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
}

TEST_CASE("s3 sigv4: query vectors sort and encode parameters", "[s3][sigv4]") {
  auto empty_key = suite("GET", "/", {{"Param1", "value1"}});
  CHECK(empty_key.string_to_sign ==
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
        "1e24db194ed7d0eec2de28d7369675a243488e08526e8c1c73571282f7c517ab");
  CHECK(empty_key.signature == "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb");
  // get-vanilla-query-order-key-case: sent Param2 first, signed sorted.
  CHECK(suite("GET", "/", {{"Param2", "value2"}, {"Param1", "value1"}}).signature ==
        "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
  const std::string unreserved = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  CHECK(suite("GET", "/", {{unreserved, unreserved}}).signature ==
        "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197");
  CHECK(canonical_query({{"Param-3", "Value3"}, {"Param", "Value2"}, {"\xE1\x88\xB4", "Value1"}}) ==
        "%E1%88%B4=Value1&Param=Value2&Param-3=Value3");
}

TEST_CASE("s3 sigv4: get-utf8 encodes the path as UTF-8 bytes", "[s3][sigv4]") {
  auto s = suite("GET", "/\xE1\x88\xB4");
  CHECK(s.canonical_request.rfind("GET\n/%E1%88%B4\n\n", 0) == 0);
  CHECK(s.signature == "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85");
}

TEST_CASE("s3 sigv4: post-x-www-form-urlencoded signs content-type and the body hash", "[s3][sigv4]") {
  std::string body = "Param1=value1";
  auto s = suite("POST", "/", {}, {{"Content-Type", "application/x-www-form-urlencoded"}}, sha256_hex(as_bytes(body)));
  CHECK(s.signed_headers == "content-type;host;x-amz-date");
  CHECK(s.signature == "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
}

TEST_CASE("s3 sigv4: the S3 documentation's GET object with Range", "[s3][sigv4]") {
  auto s = s3doc("GET", "/test.txt", {}, {{"Range", "bytes=0-9"}}, std::string(kEmptySha256));
  CHECK(s.canonical_request ==
        "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
        "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
        "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(s.string_to_sign ==
        "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
        "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  CHECK(s.signature == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST_CASE("s3 sigv4: the S3 documentation's PUT object, list objects and lifecycle examples", "[s3][sigv4]") {
  std::string body = "Welcome to Amazon S3.";
  auto put = s3doc("PUT", "/test$file.text", {},
                   {{"Date", "Fri, 24 May 2013 00:00:00 GMT"}, {"x-amz-storage-class", "REDUCED_REDUNDANCY"}},
                   sha256_hex(as_bytes(body)));
  CHECK(put.canonical_request.rfind("PUT\n/test%24file.text\n", 0) == 0);
  CHECK(put.signature == "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
  CHECK(s3doc("GET", "/", {{"lifecycle", ""}}, {}, std::string(kEmptySha256)).signature ==
        "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
  CHECK(s3doc("GET", "/", {{"prefix", "J"}, {"max-keys", "2"}}, {}, std::string(kEmptySha256)).signature ==
        "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST_CASE("s3 sigv4: a changed byte anywhere changes the signature", "[s3][sigv4]") {
  auto base = s3doc("GET", "/test.txt", {}, {{"Range", "bytes=0-9"}}, std::string(kEmptySha256));
  CHECK(s3doc("GET", "/test.txu", {}, {{"Range", "bytes=0-9"}}, std::string(kEmptySha256)).signature != base.signature);
  CHECK(s3doc("GET", "/test.txt", {}, {{"Range", "bytes=0-8"}}, std::string(kEmptySha256)).signature != base.signature);
  CHECK(s3doc("GET", "/test.txt", {{"versionId", "x"}}, {{"Range", "bytes=0-9"}}, std::string(kEmptySha256)).signature !=
        base.signature);
  SigningInput in;
  in.method = "GET";
  in.path = "/test.txt";
  in.headers = {{"Host", "examplebucket.s3.amazonaws.com"}, {"x-amz-date", kS3Date}};
  in.payload_sha256 = std::string(kEmptySha256);
  CHECK(sign_v4(in, {kS3Doc.access_key, kS3Doc.secret_key + "x"}, "us-east-1", "s3", kS3Date).signature !=
        sign_v4(in, kS3Doc, "us-east-1", "s3", kS3Date).signature);
}

TEST_CASE("s3 sigv4: uri_encode keeps only unreserved characters", "[s3][sigv4]") {
  CHECK(uri_encode("a b+c/d~e_f.g-h", false) == "a%20b%2Bc%2Fd~e_f.g-h");
  CHECK(uri_encode("sha256/ab cd", true) == "sha256/ab%20cd");
  CHECK(uri_encode("!'()*", false) == "%21%27%28%29%2A");
  CHECK(amz_date(std::chrono::system_clock::time_point(std::chrono::seconds(1440938160))) == kSuiteDate);
}

TEST_CASE("s3 options: s3:// URLs name a bucket and nothing else", "[s3][options]") {
  CHECK(parse_s3_url("s3://evidence-archive") == "evidence-archive");
  CHECK(parse_s3_url("s3://evidence-archive/") == "evidence-archive");
  CHECK_THROWS_AS(parse_s3_url("http://evidence-archive"), Error);
  CHECK_THROWS_AS(parse_s3_url("s3://evidence-archive/some/prefix"), Error);
  CHECK_THROWS_AS(parse_s3_url("s3://"), Error);
  CHECK_THROWS_AS(parse_s3_url("s3://Bad_Bucket"), Error);
}

TEST_CASE("s3 options: retain-until is received time plus retention, in ISO 8601", "[s3][options]") {
  auto t = std::chrono::system_clock::time_point(std::chrono::seconds(1440938160));
  CHECK(retain_until(t, 1) == "2015-08-31T12:36:00.000Z");
  CHECK(retain_until(t, 3650) == "2025-08-27T12:36:00.000Z");
}

TEST_CASE("s3 options: the multipart ETag is the MD5 of the part MD5s", "[s3][options]") {
  auto md5abc = *from_hex("900150983cd24fb0d6963f7d28e17f72");  // MD5("abc")
  std::vector<std::array<std::uint8_t, 16>> parts(1);
  std::copy(md5abc.begin(), md5abc.end(), parts[0].begin());
  CHECK(expected_etag(parts, false) == "\"900150983cd24fb0d6963f7d28e17f72\"");
  parts.push_back(parts[0]);
  // MD5(MD5("abc") || MD5("abc")), then the part count.
  CHECK(expected_etag(parts, true) == "\"043a916d6cfeecedf5e04f0312ba762d-2\"");
}

TEST_CASE("s3 options: credentials come from a private file in env or AWS ini form", "[s3][options]") {
  test::TempDir dir;
  auto env_file = dir / "s3.env";
  std::ofstream(env_file) << "# keys\nS3_ENDPOINT=http://127.0.0.1:7480\nAWS_ACCESS_KEY_ID=AKID1\n"
                             "export AWS_SECRET_ACCESS_KEY=\"secret/1+\"\n";
  std::filesystem::permissions(env_file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  S3Options a;
  load_s3_credentials(a, env_file);
  CHECK(a.access_key == "AKID1");
  CHECK(a.secret_key == "secret/1+");

  auto ini = dir / "credentials";
  std::ofstream(ini) << "[default]\naws_access_key_id = AKID2\naws_secret_access_key = s2\n";
  std::filesystem::permissions(ini, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  S3Options b;
  load_s3_credentials(b, ini);
  CHECK(b.access_key == "AKID2");
  CHECK(b.secret_key == "s2");

  std::filesystem::permissions(ini, std::filesystem::perms::group_read, std::filesystem::perm_options::add);
  S3Options c;
  try {
    load_s3_credentials(c, ini);
    FAIL("a group-readable credentials file was accepted");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::permission_denied);
  }
  auto empty = dir / "empty";
  std::ofstream(empty) << "[default]\n";
  std::filesystem::permissions(empty, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  S3Options d;
  CHECK_THROWS_AS(load_s3_credentials(d, empty), Error);
}
