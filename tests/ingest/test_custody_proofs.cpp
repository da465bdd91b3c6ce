// Custody that proves itself (DESIGN.md, second milestone): the ingest entry names the
// content (sha256, size) and a receipt carries the record's bytes, so a receipt ties a
// file to the log without trusting the TSA key, and a record swapped for one naming
// other content is caught by verify-receipt and by the store audit.
#include <catch2/catch.hpp>
#include <fstream>
#include <set>

#include "base/codec.h"
#include "store/index.h"
#include "store/lmdb/lmdb_index.h"
#include "store/records.h"
#include "tests/ingest/daemon_fixture.h"
#include "verify/receipt.h"

using namespace evidence;
using namespace evidence::test;
namespace json = boost::json;

namespace {

std::string tus_upload(const Daemon& d, const std::string& data) {
  auto r = http("POST", d.api("/uploads"), d.admin_token(), data,
                {{"Tus-Resumable", "1.0.0"},
                 {"Upload-Length", std::to_string(data.size())},
                 {"Upload-Metadata", "officer " + b64("o.proof") + ",device " + b64("cam-p")},
                 {"Content-Type", "application/offset+octet-stream"}});
  REQUIRE(r.status == 201);
  REQUIRE(!r.header("evidence-id").empty());
  return d.url() + r.header("location");
}

const ReceiptCheckItem& item(const ReceiptCheck& c, const std::string& name) {
  const auto* i = c.find(name);
  REQUIRE(i != nullptr);
  return *i;
}

}  // namespace

TEST_CASE("an ingest entry logs the content's sha256 and size, and the receipt carries the record",
          "[daemon][custody]") {
  TempDir dir;
  Daemon d(dir.path() / "data");
  const std::string data = random_bytes_string(5000, 11);
  auto r = http("POST", d.api("/evidence?officer=o.proof&device=cam-p"), d.admin_token(), data);
  REQUIRE(r.status == 201);
  const json::object receipt = obj(r);
  const auto leaf = from_base64(std::string(receipt.at("log_entry").as_string()));
  REQUIRE(leaf);
  const auto entry = CustodyEvent::decode(as_chars(*leaf));
  CHECK(entry.sha256 == sha256_hex(data));
  CHECK(entry.size == data.size());
  const auto record = from_base64(std::string(receipt.at("record").as_string()));
  REQUIRE(record);
  CHECK(Sha256::of(*record).hex() == entry.record_hash);

  const auto file = dir.path() / "clip.bin";
  std::ofstream(file, std::ios::binary) << data;
  const auto check = verify_receipt(receipt, file, std::nullopt, std::nullopt);
  for (const auto& i : check.items) INFO(i.name << ": " << i.detail);
  CHECK(check.ok());
  CHECK(item(check, "record").detail.find("o.proof") != std::string::npos);
  // A receipt that drops its record is refused: its entry says it came from 0.3 on.
  json::object without = receipt;
  without.erase("record");
  CHECK_FALSE(item(verify_receipt(without, file, std::nullopt, std::nullopt), "record").ok);
  CHECK(d.stop() == 0);
}

TEST_CASE("a record swapped in LMDB for another content's is caught by verify-receipt and the audit",
          "[daemon][custody]") {
  TempDir dir;
  const std::string a = random_bytes_string(7000, 21), b = random_bytes_string(9000, 22);
  std::string upload_a;
  std::string id_a;
  {
    Daemon d(dir.path() / "data");
    upload_a = tus_upload(d, a);
    (void)tus_upload(d, b);
    id_a = http("HEAD", upload_a, d.admin_token(), "", {{"Tus-Resumable", "1.0.0"}}).header("evidence-id");
    REQUIRE(!id_a.empty());
    CHECK(d.stop() == 0);
  }
  // Behind the daemon's back: A's record now names B's bytes.
  {
    LmdbIndex index(Layout(dir.path() / "data"), OpenMode::read_write);
    auto rec = index.get_evidence(id_a);
    REQUIRE(rec);
    rec->sha256 = Sha256::of(b);
    rec->size = b.size();
    const Bytes bytes = rec->encode();
    index.raw_put("evidence", as_bytes(id_a), bytes);
  }
  Daemon d(dir.path() / "data");
  const std::string url = d.url() + upload_a.substr(upload_a.find("/api/v1/"));
  auto got = http("GET", url, d.admin_token());
  REQUIRE(got.status == 200);
  const json::object receipt = obj(got);
  CHECK(receipt.at("sha256").as_string() == sha256_hex(b));  // what the altered store now claims
  const auto file_b = dir.path() / "b.bin";
  std::ofstream(file_b, std::ios::binary) << b;
  const auto check = verify_receipt(receipt, file_b, std::nullopt, std::nullopt);
  for (const auto& i : check.items) INFO(i.name << ": " << i.detail);
  CHECK_FALSE(check.ok());
  CHECK(item(check, "content").ok);  // the file is the one the receipt names...
  CHECK_FALSE(item(check, "log_entry").ok);  // ...but the log logged other bytes
  CHECK(item(check, "log_entry").detail.find(sha256_hex(a)) != std::string::npos);
  CHECK_FALSE(item(check, "record").ok);
  // The store audit reports it too, naming the content the log recorded.
  auto audit = run_process({EVIDENCED_PATH, "verify", "--data", d.data_dir().string(), "--json"});
  CHECK(audit.exit_code == 1);
  CHECK(audit.out.find("record_altered") != std::string::npos);
  CHECK(audit.out.find("logged " + sha256_hex(a)) != std::string::npos);
  CHECK(d.stop() == 0);
}

TEST_CASE("a case listing and a search leave one view entry per item shown, in one commit", "[daemon][custody]") {
  TempDir dir;
  Daemon d(dir.path() / "data");
  const std::string reviewer = d.add_user("r.view", "reviewer");
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    auto r = http("POST", d.api("/evidence?officer=o.view&device=cam&case=V-1"), d.admin_token(),
                  "item " + std::to_string(i));
    REQUIRE(r.status == 201);
    ids.emplace_back(obj(r).at("evidence_id").as_string());
  }
  auto views_by = [&](const std::string& listing) {
    auto r = http("GET", d.api("/log/entries?start=0&end=100000"), d.admin_token());
    REQUIRE(r.status == 200);
    const json::object body = obj(r);
    std::vector<json::object> out;
    for (const auto& e : body.at("entries").as_array()) {
      const auto& o = e.as_object();
      if (o.at("action").as_string() != "view" || o.at("actor").as_string() != "r.view") continue;
      const auto* detail = o.if_contains("detail");
      if (detail && detail->as_object().at("listing").as_string() == listing) out.push_back(o);
    }
    return out;
  };
  REQUIRE(http("GET", d.api("/cases/V-1"), reviewer).status == 200);
  auto case_views = views_by("case");
  REQUIRE(case_views.size() == 3);
  std::set<std::string> seen;
  for (const auto& v : case_views) {
    seen.insert(std::string(v.at("evidence").as_string()));
    CHECK(v.at("case").as_string() == "V-1");
  }
  CHECK(seen == std::set<std::string>(ids.begin(), ids.end()));
  // The three are consecutive entries: one transaction for the response.
  CHECK(case_views[2].at("index").to_number<std::uint64_t>() - case_views[0].at("index").to_number<std::uint64_t>() ==
        2);

  auto page = http("GET", d.api("/search?officer=o.view&limit=2"), reviewer);
  REQUIRE(page.status == 200);
  CHECK(obj(page).at("items").as_array().size() == 2);
  CHECK(views_by("search").size() == 2);
  // Nothing shown, nothing logged.
  REQUIRE(http("GET", d.api("/search?officer=nobody"), reviewer).status == 200);
  CHECK(views_by("search").size() == 2);
  CHECK(d.stop() == 0);
}

TEST_CASE("an officer's search never shows another officer's items, not even in the cursor", "[daemon][custody]") {
  TempDir dir;
  Daemon d(dir.path() / "data");
  const std::string a = d.add_user("o.a", "officer"), b = d.add_user("o.b", "officer");
  std::set<std::string> ids_of_b;
  // Interleaved uploads under one device, so an unfiltered scan passes B's items.
  for (int i = 0; i < 6; ++i) {
    const bool mine = i % 2 == 0;
    auto r = http("POST", d.api("/evidence?officer=" + std::string(mine ? "o.a" : "o.b") + "&device=shared-cam"),
                  mine ? a : b, "item " + std::to_string(i));
    REQUIRE(r.status == 201);
    if (!mine) ids_of_b.insert(std::string(obj(r).at("evidence_id").as_string()));
  }
  auto hidden = [&](const std::string& text) {
    for (const auto& id : ids_of_b) {
      if (text.find(id) != std::string::npos || text.find(to_hex(as_bytes(id))) != std::string::npos) return false;
    }
    return true;
  };
  std::string cursor, first_cursor;
  std::size_t seen = 0;
  for (int page = 0; page < 20; ++page) {
    auto r = http("GET", d.api("/search?device=shared-cam&limit=1" + (cursor.empty() ? "" : "&cursor=" + cursor)), a);
    REQUIRE(r.status == 200);
    CHECK(hidden(r.body));
    const json::object o = obj(r);
    for (const auto& item : o.at("items").as_array()) {
      CHECK(item.as_object().at("uploaded_by").as_string() == "o.a");
      ++seen;
    }
    if (!o.at("next").is_string()) break;
    cursor = std::string(o.at("next").as_string());
    if (first_cursor.empty()) first_cursor = cursor;
  }
  CHECK(seen == 3);
  REQUIRE(!first_cursor.empty());
  // A cursor is the caller's own: another user, or an edited one, gets 400.
  CHECK(http("GET", d.api("/search?device=shared-cam&cursor=" + first_cursor), b).status == 400);
  std::string edited = first_cursor;
  edited[edited.size() / 2] = edited[edited.size() / 2] == '0' ? '1' : '0';
  auto bad = http("GET", d.api("/search?device=shared-cam&cursor=" + edited), a);
  CHECK(bad.status == 400);
  CHECK(obj(bad).at("error").as_string() == "invalid_cursor");
  CHECK(d.stop() == 0);
}

TEST_CASE("keys LMDB cannot hold are a 400, never a 500", "[daemon][custody]") {
  TempDir dir;
  Daemon d(dir.path() / "data");
  const std::string long_name(600, 'p');
  auto prefix = http("GET", d.api("/cases?prefix=" + long_name), d.admin_token());
  CHECK(prefix.status == 400);
  CHECK(obj(prefix).at("error").as_string() == "invalid_case");
  CHECK(http("GET", d.api("/search?officer=" + long_name), d.admin_token()).status == 400);
  CHECK(http("GET", d.api("/search?device=" + long_name), d.admin_token()).status == 400);
  CHECK(http("GET", d.api("/cases/" + long_name), d.admin_token()).status == 400);
  CHECK(http("GET", d.api("/search?cursor=" + std::string(1200, 'a')), d.admin_token()).status == 400);
  CHECK(d.stop() == 0);
}

TEST_CASE("case numbers and user names must be NFC without invisible characters, and system is reserved",
          "[daemon][custody]") {
  TempDir dir;
  Daemon d(dir.path() / "data");
  auto upload = [&](const std::string& c) {
    return http("POST", d.api("/evidence?officer=o.n&device=cam&case=" + pct(c)), d.admin_token(), "x" + c);
  };
  const std::string nfc = "Caf\xC3\xA9-7", nfd = "Cafe\xCC\x81-7";
  CHECK(upload(nfc).status == 201);
  auto r = upload(nfd);
  CHECK(r.status == 400);
  CHECK(obj(r).at("message").as_string().find("NFC") != std::string::npos);
  auto zw = upload("AUD\xE2\x80\x8B-1");  // U+200B zero-width space
  CHECK(zw.status == 400);
  CHECK(obj(zw).at("message").as_string().find("U+200B") != std::string::npos);
  CHECK(upload("A\xE2\x80\xAE" "1").status == 400);   // U+202E right-to-left override
  CHECK(upload("A\xE2\x80\xA8" "1").status == 400);   // U+2028 line separator
  CHECK(upload("\xEF\xBB\xBF" "A-1").status == 400);  // BOM
  CHECK(upload("汉台执罚〔2017〕第123号").status == 201);  // CJK in NFC is fine
  // Linking checks the same rule.
  const std::string id(obj(upload("L-1")).at("evidence_id").as_string());
  CHECK(http("POST", d.api("/evidence/" + id + "/cases"), d.admin_token(), R"({"case":")" + nfd + R"("})").status ==
        400);
  // User names likewise, and "system" is the daemon's own.
  auto mk = [&](const std::string& name) {
    return http("POST", d.api("/users"), d.admin_token(), R"({"name":")" + name + R"(","role":"admin"})").status;
  };
  CHECK(mk("system") == 400);
  CHECK(mk(nfd) == 400);
  CHECK(mk("o\xE2\x80\x8Bli") == 400);
  CHECK(mk(nfc) == 201);
  CHECK(d.stop() == 0);
}

TEST_CASE("an item added to or removed from a case behind the log's back is a case_membership problem",
          "[daemon][custody]") {
  TempDir dir;
  std::string in_case, loose, alone;
  {
    Daemon d(dir.path() / "data");
    auto up = [&](const std::string& q, const std::string& body) {
      auto r = http("POST", d.api("/evidence?officer=o.m&device=cam" + q), d.admin_token(), body);
      REQUIRE(r.status == 201);
      return std::string(obj(r).at("evidence_id").as_string());
    };
    in_case = up("&case=M-1", "one");
    loose = up("", "two");
    alone = up("&case=M-2", "three");
    // Links and unlinks through the API are in the log: the audit is clean.
    REQUIRE(http("POST", d.api("/evidence/" + loose + "/cases"), d.admin_token(), R"({"case":"M-3"})").status == 201);
    REQUIRE(http("DELETE", d.api("/evidence/" + loose + "/cases/M-3"), d.admin_token()).status < 300);
    auto clean = run_process({EVIDENCED_PATH, "verify", "--data", d.data_dir().string(), "--json"});
    INFO(clean.out);
    CHECK(clean.exit_code == 0);
    CHECK(d.stop() == 0);
  }
  {
    LmdbIndex index(Layout(dir.path() / "data"), OpenMode::read_write);
    index.raw_put("case_items", as_bytes(std::string("M-1")), as_bytes(loose));  // slipped in
    index.raw_put("item_cases", as_bytes(loose), as_bytes(std::string("M-1")));
    index.raw_del("case_items", as_bytes(std::string("M-2")));  // taken out
    index.raw_del("item_cases", as_bytes(alone));
  }
  auto audit = run_process({EVIDENCED_PATH, "verify", "--data", (dir.path() / "data").string(), "--json"});
  CHECK(audit.exit_code == 1);
  const json::object report = json::parse(audit.out).as_object();
  std::vector<std::pair<std::string, std::string>> found;  // (evidence, detail)
  for (const auto& p : report.at("problems").as_array()) {
    const auto& o = p.as_object();
    if (o.at("kind").as_string() == "case_membership") {
      found.emplace_back(std::string(o.at("evidence").as_string()), std::string(o.at("detail").as_string()));
    }
  }
  REQUIRE(found.size() == 2);
  std::map<std::string, std::string> by_item(found.begin(), found.end());
  CHECK(by_item[loose].find("case 'M-1'") != std::string::npos);
  CHECK(by_item[alone].find("case 'M-2'") != std::string::npos);
  CHECK_FALSE(by_item.count(in_case));
  // Scoped to the case, the audit says the same of it.
  auto scoped = run_process({EVIDENCED_PATH, "verify", "--data", (dir.path() / "data").string(), "--case", "M-1"});
  CHECK(scoped.exit_code == 1);
}
