// verify_receipt against receipts built here from real parts: an embedded TSA token,
// a signed checkpoint and an RFC 9162 inclusion proof over a small custody log.
#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <fstream>

#include "base/codec.h"
#include "store/content_id.h"
#include "store/layout.h"
#include "store/merkle.h"
#include "store/records.h"
#include "tests/tempdir.h"
#include "verify/receipt.h"
#include "verify/signed_note.h"
#include "verify/tsa.h"

namespace {

using namespace evidence;
namespace json = boost::json;

std::string b64(const merkle::Hash& h) { return to_base64(h); }
std::string b64(std::string_view s) { return to_base64(as_bytes(s)); }

void write(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream f(p, std::ios::binary);
  f << bytes;
}

// A log of a few entries, with the receipt's ingest entry at `ingest_at`.
struct Fixture {
  test::TempDir dir;
  Layout layout{dir.path() / "data"};
  std::filesystem::path file = dir.path() / "clip.mp4";
  std::string content = "body camera footage, not really";
  note::Ed25519Key key = note::Ed25519Key::generate();
  std::string origin = "evidence.test/receipt";
  std::string vkey;
  std::string ca_pem;
  json::object receipt;

  Fixture() {
    std::filesystem::create_directories(layout.keys_dir());
    tsa::create_embedded_tsa(layout, "Receipt Test");
    tsa::EmbeddedTsa stamper(layout);
    ca_pem = stamper.ca_pem();
    vkey = note::Verifier::for_key(origin, key.public_key()).to_string();
    write(file, content);
    const ContentId digest = Sha256::of(content);

    std::vector<std::string> leaves;
    for (int i = 0; i < 6; ++i) {
      CustodyEvent ev;
      ev.time = "2026-11-27T20:00:0" + std::to_string(i) + ".000Z";
      ev.actor = "officer" + std::to_string(i);
      ev.role = "officer";
      ev.action = "ingest";
      ev.evidence = "EVID" + std::to_string(i);
      ev.record_hash = std::string(64, 'a');
      leaves.push_back(ev.encode());
    }
    const std::uint64_t index = 4;
    std::vector<merkle::Hash> leaf_hashes;
    for (const auto& l : leaves) leaf_hashes.push_back(merkle::leaf_hash(as_bytes(l)));
    const merkle::SubtreeSource src = [&](unsigned level, std::uint64_t idx) {
      std::vector<merkle::Hash> layer(leaf_hashes.begin() + static_cast<long>(idx << level),
                                      leaf_hashes.begin() + static_cast<long>((idx + 1) << level));
      while (layer.size() > 1) {
        std::vector<merkle::Hash> up;
        for (std::size_t i = 0; i < layer.size(); i += 2) up.push_back(merkle::node_hash(layer[i], layer[i + 1]));
        layer = up;
      }
      return layer[0];
    };
    note::Checkpoint cp;
    cp.origin = origin;
    cp.size = leaves.size();
    cp.root = merkle::root(src, leaves.size());
    const std::string signed_note = note::sign(cp.body(), origin, key);
    json::array hashes;
    for (const auto& h : merkle::inclusion_proof(src, index, leaves.size())) hashes.push_back(json::value(b64(h)));

    const auto token = stamper.stamp(digest);
    receipt = json::object{
        {"evidence_id", "EVID4"},
        {"sha256", digest.hex()},
        {"size", content.size()},
        {"cases", json::array{}},
        {"officer", "officer4"},
        {"device", "cam-1"},
        {"recorded_at", "2026-11-27T19:00:00Z"},
        {"received_at", "2026-11-27T20:00:04.000Z"},
        {"timestamp_token", to_base64(token)},
        {"log_index", index},
        {"checkpoint", signed_note},
        {"inclusion_proof", json::object{{"index", index}, {"size", leaves.size()}, {"hashes", hashes}}},
        {"log_entry", b64(leaves[index])},
        {"tsa_ca_pem", ca_pem},
        {"log_key", vkey},
    };
  }

  ReceiptCheck check(std::optional<std::string> ca = std::nullopt,
                     std::optional<std::string> key_arg = std::nullopt) const {
    return verify_receipt(receipt, file, ca, key_arg);
  }
};

bool item_ok(const ReceiptCheck& c, const std::string& name) {
  const auto* i = c.find(name);
  REQUIRE(i != nullptr);
  return i->ok;
}

}  // namespace

TEST_CASE("a receipt built from a real token, checkpoint and proof verifies against its file",
          "[receipt]") {
  Fixture f;
  const auto c = f.check(f.ca_pem, f.vkey);
  for (const auto& i : c.items) INFO(i.name << ": " << i.detail);
  CHECK(c.ok());
  CHECK(c.items.size() == 6);
  CHECK(c.origin == f.origin);
  // The receipt's own keys are used when none are given.
  CHECK(f.check().ok());
}

TEST_CASE("a modified file fails only the content check", "[receipt]") {
  Fixture f;
  write(f.file, "body camera footage, not reallY");
  const auto c = f.check(f.ca_pem, f.vkey);
  CHECK_FALSE(c.ok());
  CHECK_FALSE(item_ok(c, "content"));
  CHECK(c.find("content")->detail.find("SHA-256") != std::string::npos);
  CHECK(item_ok(c, "timestamp"));
  CHECK(item_ok(c, "inclusion_proof"));
  CHECK(item_ok(c, "checkpoint_signature"));
}

TEST_CASE("a truncated or padded file fails the content check", "[receipt]") {
  Fixture f;
  write(f.file, f.content + "x");
  CHECK_FALSE(item_ok(f.check(), "content"));
  write(f.file, f.content.substr(1));
  CHECK_FALSE(item_ok(f.check(), "content"));
  std::filesystem::remove(f.file);
  CHECK_FALSE(item_ok(f.check(), "content"));
}

TEST_CASE("a receipt whose sha256 was changed to match another file fails the timestamp", "[receipt]") {
  Fixture f;
  const std::string other = "something else entirely";
  write(f.file, other);
  f.receipt["sha256"] = Sha256::of(other).hex();
  f.receipt["size"] = other.size();
  const auto c = f.check(f.ca_pem, f.vkey);
  CHECK(item_ok(c, "content"));  // the forged receipt matches the forged file...
  CHECK_FALSE(item_ok(c, "timestamp"));  // ...but the token was not over it
  CHECK_FALSE(c.ok());
}

TEST_CASE("a token checked against another CA fails", "[receipt]") {
  Fixture f;
  test::TempDir other;
  Layout l2(other.path() / "d");
  std::filesystem::create_directories(l2.keys_dir());
  tsa::create_embedded_tsa(l2, "Other");
  const auto c = f.check(tsa::EmbeddedTsa(l2).ca_pem(), f.vkey);
  CHECK_FALSE(item_ok(c, "timestamp"));
  CHECK(item_ok(c, "content"));
}

TEST_CASE("a checkpoint checked with another log key fails the signature check", "[receipt]") {
  Fixture f;
  const auto other = note::Ed25519Key::generate();
  const auto c = f.check(f.ca_pem, note::Verifier::for_key(f.origin, other.public_key()).to_string());
  CHECK_FALSE(item_ok(c, "checkpoint_signature"));
  CHECK(item_ok(c, "inclusion_proof"));
  CHECK_FALSE(c.ok());
}

TEST_CASE("tampered proofs, entries and checkpoints are each caught", "[receipt]") {
  Fixture f;
  SECTION("a flipped proof hash") {
    auto& hashes = f.receipt["inclusion_proof"].as_object()["hashes"].as_array();
    auto h = *from_base64(std::string(hashes[0].as_string()));
    h[0] ^= 1;
    hashes[0] = json::value(to_base64(h));
    CHECK_FALSE(item_ok(f.check(), "inclusion_proof"));
  }
  SECTION("a proof with a hash missing") {
    f.receipt["inclusion_proof"].as_object()["hashes"].as_array().pop_back();
    CHECK_FALSE(item_ok(f.check(), "inclusion_proof"));
  }
  SECTION("a log_index that differs from the proof's") {
    f.receipt["log_index"] = 3;
    CHECK_FALSE(item_ok(f.check(), "inclusion_proof"));
  }
  SECTION("the entry of another item") {
    CustodyEvent ev;
    ev.time = "2026-11-27T20:00:04.000Z";
    ev.actor = "officer4";
    ev.role = "officer";
    ev.action = "ingest";
    ev.evidence = "EVID3";
    f.receipt["log_entry"] = b64(ev.encode());
    const auto c = f.check();
    CHECK_FALSE(item_ok(c, "log_entry"));
    CHECK_FALSE(item_ok(c, "inclusion_proof"));
  }
  SECTION("no log entry at all") {
    f.receipt.erase("log_entry");
    const auto c = f.check();
    CHECK_FALSE(item_ok(c, "log_entry"));
    CHECK(c.find("log_entry")->detail.find("log_entry") != std::string::npos);
  }
  SECTION("an edited checkpoint size") {
    auto note = std::string(f.receipt["checkpoint"].as_string());
    const auto nl = note.find('\n');
    note.replace(nl + 1, 1, "7");
    f.receipt["checkpoint"] = note;
    const auto c = f.check();
    CHECK_FALSE(item_ok(c, "checkpoint_signature"));
    CHECK_FALSE(item_ok(c, "inclusion_proof"));
  }
  SECTION("no keys anywhere") {
    f.receipt.erase("tsa_ca_pem");
    f.receipt.erase("log_key");
    const auto c = f.check();
    CHECK_FALSE(item_ok(c, "timestamp"));
    CHECK_FALSE(item_ok(c, "checkpoint_signature"));
    CHECK(item_ok(c, "content"));
  }
  CHECK_FALSE(f.check().ok());
}

TEST_CASE("a receipt that is not a receipt gives failed checks, never an exception", "[receipt]") {
  Fixture f;
  const json::object junk{{"sha256", 5}, {"checkpoint", "no"}, {"inclusion_proof", "x"}};
  ReceiptCheck c;
  REQUIRE_NOTHROW(c = verify_receipt(junk, f.file, std::nullopt, std::nullopt));
  CHECK(c.items.size() == 6);
  CHECK_FALSE(c.ok());
}
