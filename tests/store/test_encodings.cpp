#include <catch2/catch.hpp>

#include "base/codec.h"
#include "store/content_id.h"
#include "store/ids.h"
#include "store/records.h"
#include "base/timefmt.h"

using namespace evidence;

TEST_CASE("hex and base64 round-trip and reject malformed text", "[codec]") {
  Bytes b{0x00, 0xff, 0x10, 0xab};
  CHECK(to_hex(b) == "00ff10ab");
  CHECK(from_hex("00FF10ab") == b);
  CHECK_FALSE(from_hex("0"));
  CHECK_FALSE(from_hex("zz"));
  for (std::size_t n = 0; n < 10; ++n) {
    Bytes x(n, 0x5a);
    CHECK(from_base64(to_base64(x)) == x);
  }
  CHECK(to_base64(as_bytes(std::string("hello world"))) == "aGVsbG8gd29ybGQ=");
  CHECK_FALSE(from_base64("aGVsbG8gd29ybGQ"));   // missing padding
  CHECK_FALSE(from_base64("aGVs=G8gd29ybGQ="));  // padding inside
  CHECK_FALSE(from_base64("aGVs*G8g"));
  CHECK_FALSE(from_base64("a9ybybG="));  // unused bits set: non-canonical (fuzzer find)
  CHECK(from_base64("a9ybybE="));
  CHECK(to_base64url(Bytes{0xfb, 0xff}) == "-_8");
}

TEST_CASE("SHA-256 content ids match sha256sum", "[codec]") {
  CHECK(Sha256::of(std::string("")).hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(Sha256::of(std::string("abc")).hex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(ContentId::from_hex(std::string(64, 'A')));
  CHECK_FALSE(ContentId::from_hex(std::string(63, 'a')));
  Sha1 s;
  s.update(as_bytes(std::string("hello world")));
  CHECK(to_base64(s.finish()) == "Kq5sNclPz7QV2+lfQIuc6R7oRu0=");  // shared test vector
}

TEST_CASE("evidence ids are ULIDs that sort by creation", "[ids]") {
  std::vector<std::string> ids;
  for (int i = 0; i < 1000; ++i) ids.push_back(new_evidence_id());
  CHECK(std::is_sorted(ids.begin(), ids.end()));
  CHECK(std::adjacent_find(ids.begin(), ids.end()) == ids.end());
  for (auto& id : ids) CHECK(is_evidence_id(id));
  CHECK_FALSE(is_evidence_id("not-an-id"));
  CHECK_FALSE(is_evidence_id("../../../../etc/passwd1234"));
}

TEST_CASE("case numbers are opaque UTF-8 of 1 to 128 bytes without control characters", "[ids]") {
  CHECK(case_number_problem("汉台执罚〔2017〕第123号").empty());
  CHECK(case_number_problem("2026/04 A-17 x").empty());
  CHECK(case_number_problem(std::string(128, 'a')).empty());
  CHECK_FALSE(case_number_problem("").empty());
  CHECK_FALSE(case_number_problem(std::string(129, 'a')).empty());
  CHECK_FALSE(case_number_problem("tab\there").empty());
  CHECK_FALSE(case_number_problem("\xc2\x85").empty());      // C1 control NEL
  CHECK_FALSE(case_number_problem("\xc0\xaf").empty());      // overlong '/'
  CHECK_FALSE(case_number_problem("\xed\xa0\x80").empty());  // surrogate
  CHECK_FALSE(case_number_problem("\xe6\xb1").empty());      // truncated
}

TEST_CASE("RFC 3339 times parse with offsets and format as UTC", "[time]") {
  auto t = parse_rfc3339("2026-11-27T20:52:17.5+08:00");
  REQUIRE(t);
  CHECK(format_rfc3339(*t) == "2026-11-27T12:52:17.500Z");
  CHECK(parse_rfc3339("2026-11-27t12:52:17z"));
  for (auto bad : {"2026-11-27", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-11-27T24:00:00Z",
                   "2026-11-27T12:00:00", "2026-11-27T12:00:00+0800", "2026-11-27T12:00:00Zjunk", "x"})
    CHECK_FALSE(parse_rfc3339(bad));
}

TEST_CASE("HTTP dates are IMF-fixdate in GMT with English names", "[time]") {
  CHECK(format_http_date(*parse_rfc3339("1994-11-06T08:49:37Z")) == "Sun, 06 Nov 1994 08:49:37 GMT");
  CHECK(format_http_date(*parse_rfc3339("2026-12-01T19:05:09.999+01:00")) == "Tue, 01 Dec 2026 18:05:09 GMT");
}

TEST_CASE("records decode what they encode and refuse unknown versions", "[records]") {
  EvidenceRecord r;
  r.id = new_evidence_id();
  r.sha256 = Sha256::of(std::string("x"));
  r.size = 1;
  r.cases = {"a", "b"};
  r.officer = "o";
  r.device = "d";
  r.recorded_at = "2026-11-27T00:00:00Z";
  r.received_at = "2026-11-27T00:00:01.000Z";
  r.log_index = 42;
  auto bytes = r.encode();
  auto back = EvidenceRecord::decode(bytes);
  CHECK(back.encode() == bytes);
  CHECK(back.log_index == 42);
  bytes[0] = 0x7f;
  CHECK_THROWS(EvidenceRecord::decode(bytes));
  CHECK_THROWS(CustodyEvent::decode("not json"));
}
