// C2SP signed notes, tlog checkpoints and the instance's log key.
#include <sys/stat.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "base/error.h"
#include "store/layout.h"
#include "tests/tempdir.h"
#include "verify/keys.h"
#include "verify/signed_note.h"

using namespace evidence;
using evidence::test::TempDir;

namespace {

boost::json::object load_vector() {
  std::ifstream in(std::string(EVIDENCE_SHARED_DIR) + "/testvectors/signed-note.json");
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  return boost::json::parse(ss.str()).as_object();
}

unsigned mode_of(const std::filesystem::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

const std::string kText = "example.com/log\n42\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";

}  // namespace

TEST_CASE("the C2SP example verifier key parses and its key id matches", "[note]") {
  auto v = load_vector();
  std::string vkey(v["verifier_key"].as_string());
  auto verifier = note::Verifier::parse(vkey);
  REQUIRE(verifier);
  CHECK(verifier->name == "PeterNeumann");
  CHECK(to_hex(verifier->key_id) == "c74f20a3");
  CHECK(verifier->to_string() == vkey);
  // Recomputing the id from name and key gives the same verifier.
  CHECK(note::Verifier::for_key("PeterNeumann", verifier->public_key).key_id == verifier->key_id);
}

TEST_CASE("the C2SP example note opens with its verifier key", "[note]") {
  auto v = load_vector();
  auto verifier = note::Verifier::parse(std::string(v["verifier_key"].as_string()));
  REQUIRE(verifier);
  std::string text(v["text"].as_string());
  std::string sig_line(v["signature_line"].as_string());
  std::string note_text = text + "\n" + sig_line + "\n";
  auto opened = note::open(note_text, *verifier);
  REQUIRE(opened);
  CHECK(*opened == text);

  SECTION("a flipped text byte is rejected") {
    std::string bad = note_text;
    bad[3] ^= 0x01;
    CHECK_FALSE(note::open(bad, *verifier));
  }
  SECTION("a flipped signature byte is rejected") {
    // Change one base64 character inside the signature (well past the key id).
    std::string bad = note_text;
    auto pos = bad.size() - 10;
    bad[pos] = bad[pos] == 'A' ? 'B' : 'A';
    CHECK_FALSE(note::open(bad, *verifier));
  }
  SECTION("the signature line without its final newline is rejected") {
    CHECK_FALSE(note::open(text + "\n" + sig_line, *verifier));
  }
  SECTION("text without the blank line before the signatures is rejected") {
    CHECK_FALSE(note::open(text + sig_line + "\n", *verifier));
  }
}

TEST_CASE("a verifier key whose key id does not match is refused", "[note]") {
  auto v = load_vector();
  std::string vkey(v["verifier_key"].as_string());
  std::string wrong_id = vkey;
  wrong_id.replace(vkey.find('+') + 1, 8, "c74f20a4");
  CHECK_FALSE(note::Verifier::parse(wrong_id));
  std::string other_name = "PeterNeumanx" + vkey.substr(vkey.find('+'));
  CHECK_FALSE(note::Verifier::parse(other_name));
  CHECK_FALSE(note::Verifier::parse("PeterNeumann+c74f20a3"));
  CHECK_FALSE(note::Verifier::parse("PeterNeumann+c74f20a3+"));
  CHECK_FALSE(note::Verifier::parse("+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"));
  // Algorithm byte other than 0x01 (Ed25519).
  CHECK_FALSE(note::Verifier::parse("PeterNeumann+c74f20a3+Ahpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"));
}

TEST_CASE("a note signed with a fresh key opens only with that key's verifier", "[note]") {
  auto key = note::Ed25519Key::generate();
  auto verifier = note::Verifier::for_key("example.com/log", key.public_key());
  std::string signed_note = note::sign(kText, "example.com/log", key);
  REQUIRE(signed_note.substr(0, kText.size() + 1) == kText + "\n");
  REQUIRE(signed_note.substr(kText.size() + 1, 4) == "\xE2\x80\x94 ");

  auto opened = note::open(signed_note, verifier);
  REQUIRE(opened);
  CHECK(*opened == kText);

  SECTION("another key under the same name is rejected") {
    auto other = note::Ed25519Key::generate();
    CHECK_FALSE(note::open(signed_note, note::Verifier::for_key("example.com/log", other.public_key())));
  }
  SECTION("the same key under another name is rejected") {
    CHECK_FALSE(note::open(signed_note, note::Verifier::for_key("example.com/other", key.public_key())));
  }
  SECTION("every single flipped bit in the text is rejected") {
    for (std::size_t i = 0; i < kText.size(); ++i) {
      std::string bad = signed_note;
      bad[i] ^= 0x04;
      INFO("byte " << i);
      CHECK_FALSE(note::open(bad, verifier));
    }
  }
  SECTION("signature lines by unknown keys are ignored, ours still counts") {
    auto other = note::Ed25519Key::generate();
    std::string cosigned = note::sign(kText, "witness.example", other);
    std::string extra = cosigned.substr(kText.size() + 1);
    auto opened2 = note::open(signed_note + extra, verifier);
    REQUIRE(opened2);
    CHECK(*opened2 == kText);
    // A note signed only by the unknown key does not open with ours.
    CHECK_FALSE(note::open(cosigned, verifier));
  }
  SECTION("a second line claiming our key with a bad signature poisons the note") {
    std::string sig_line = signed_note.substr(kText.size() + 1);
    std::string bad_line = sig_line;
    bad_line[bad_line.size() - 6] = bad_line[bad_line.size() - 6] == 'A' ? 'B' : 'A';
    CHECK_FALSE(note::open(signed_note + bad_line, verifier));
  }
}

TEST_CASE("sign refuses text that does not end in a newline", "[note]") {
  auto key = note::Ed25519Key::generate();
  CHECK_THROWS_AS(note::sign("no newline", "n", key), Error);
  CHECK_THROWS_AS(note::sign("", "n", key), Error);
  CHECK_THROWS_AS(note::sign("ok\n", "bad name", key), Error);
  CHECK_THROWS_AS(note::sign("ok\n", "bad+name", key), Error);
  CHECK_THROWS_AS(note::sign("blank\n\nline\n", "n", key), Error);
  CHECK_THROWS_AS(note::sign("tab\there\n", "n", key), Error);
  CHECK_THROWS_AS(note::sign("bad utf-8 \xff\n", "n", key), Error);
}

TEST_CASE("Ed25519 signatures verify over exactly the signed bytes", "[note]") {
  auto key = note::Ed25519Key::generate();
  std::string msg = "hello";
  auto sig = key.sign(as_bytes(msg));
  CHECK(note::ed25519_verify(key.public_key(), as_bytes(msg), sig));
  CHECK_FALSE(note::ed25519_verify(key.public_key(), as_bytes(std::string("hellp")), sig));
  sig[10] ^= 1;
  CHECK_FALSE(note::ed25519_verify(key.public_key(), as_bytes(msg), sig));
  CHECK_FALSE(note::ed25519_verify(key.public_key(), as_bytes(msg), std::span(sig.data(), 63)));
}

TEST_CASE("an Ed25519 key saved as PEM is 0600, loads back and is never overwritten", "[note]") {
  TempDir dir;
  auto path = dir / "k.pem";
  auto key = note::Ed25519Key::generate();
  key.save(path);
  CHECK(mode_of(path) == 0600);
  std::ifstream in(path);
  std::string first;
  std::getline(in, first);
  CHECK(first == "-----BEGIN PRIVATE KEY-----");
  auto loaded = note::Ed25519Key::load(path);
  CHECK(loaded.public_key() == key.public_key());
  auto other = note::Ed25519Key::generate();
  try {
    other.save(path);
    FAIL("save replaced an existing key");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::already_exists);
  }
  CHECK(note::Ed25519Key::load(path).public_key() == key.public_key());
}

TEST_CASE("a checkpoint body round-trips and malformed bodies are refused", "[note]") {
  note::Checkpoint cp;
  cp.origin = "evidence.local/abc";
  cp.size = 1234;
  for (std::size_t i = 0; i < cp.root.size(); ++i) cp.root[i] = static_cast<std::uint8_t>(i);
  cp.extensions = {"timestamp AAAA"};
  std::string body = cp.body();
  CHECK(body == "evidence.local/abc\n1234\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\ntimestamp AAAA\n");
  auto back = note::Checkpoint::parse(body);
  REQUIRE(back);
  CHECK(back->origin == cp.origin);
  CHECK(back->size == cp.size);
  CHECK(back->root == cp.root);
  CHECK(back->extensions == cp.extensions);

  note::Checkpoint empty;
  empty.origin = "o";
  auto e = note::Checkpoint::parse(empty.body());
  REQUIRE(e);
  CHECK(e->size == 0);
  CHECK(e->extensions.empty());

  const std::string root = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
  CHECK_FALSE(note::Checkpoint::parse("o\n12\n" + root));                 // no final newline
  CHECK_FALSE(note::Checkpoint::parse("o\n012\n" + root + "\n"));          // leading zero
  CHECK_FALSE(note::Checkpoint::parse("o\n+12\n" + root + "\n"));          // sign
  CHECK_FALSE(note::Checkpoint::parse("o\n-1\n" + root + "\n"));
  CHECK_FALSE(note::Checkpoint::parse("o\n99999999999999999999\n" + root + "\n"));  // > 2^64
  CHECK_FALSE(note::Checkpoint::parse("o\n12\nAAEC\n"));                   // root too short
  CHECK_FALSE(note::Checkpoint::parse("o\n12\n" + root + "\n\n"));         // empty extension
  CHECK_FALSE(note::Checkpoint::parse("\n12\n" + root + "\n"));            // empty origin
  CHECK_FALSE(note::Checkpoint::parse("o\n12\n"));                         // no root
}

TEST_CASE("a signed checkpoint opens and parses back to the same tree head", "[note]") {
  auto key = note::Ed25519Key::generate();
  note::Checkpoint cp;
  cp.origin = "evidence.local/x";
  cp.size = 7;
  cp.root.fill(0xab);
  auto signed_cp = note::sign(cp.body(), cp.origin, key);
  auto text = note::open(signed_cp, note::Verifier::for_key(cp.origin, key.public_key()));
  REQUIRE(text);
  auto back = note::Checkpoint::parse(*text);
  REQUIRE(back);
  CHECK(back->size == 7);
  CHECK(back->root == cp.root);
}

TEST_CASE("instance keys are created once, private files 0600, and load back", "[keys]") {
  TempDir dir;
  Layout layout(dir / "data");
  create_instance_keys(layout, "evidence.local/test");
  CHECK(mode_of(layout.keys_dir()) == 0700);
  CHECK(mode_of(layout.log_private_key()) == 0600);
  CHECK(mode_of(layout.tsa_key()) == 0600);
  CHECK(mode_of(layout.tsa_ca_key()) == 0600);
  CHECK(std::filesystem::exists(layout.tsa_cert()));
  CHECK(std::filesystem::exists(layout.tsa_ca_cert()));

  auto signer = load_log_signer(layout);
  CHECK(signer.name == "evidence.local/test");
  auto verifier = load_log_verifier(layout);
  CHECK(verifier.to_string() == signer.verifier().to_string());
  auto signed_note = note::sign(kText, signer.name, signer.key);
  CHECK(note::open(signed_note, verifier));

  try {
    create_instance_keys(layout, "evidence.local/test");
    FAIL("keys were created twice");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::already_exists);
  }
  // The original key is untouched.
  CHECK(load_log_verifier(layout).to_string() == verifier.to_string());
}

TEST_CASE("an unusable log name is refused before any key is written", "[keys]") {
  TempDir dir;
  Layout layout(dir / "data");
  CHECK_THROWS_AS(create_instance_keys(layout, "has space"), Error);
  CHECK_THROWS_AS(create_instance_keys(layout, ""), Error);
  CHECK_FALSE(std::filesystem::exists(layout.log_private_key()));
}

TEST_CASE("a log key file that is not Ed25519, or a name that does not match, is refused", "[keys]") {
  TempDir dir;
  Layout layout(dir / "data");
  create_instance_keys(layout, "evidence.local/a");
  // The TSA's EC key is a valid PEM private key, but not an Ed25519 one.
  try {
    note::Ed25519Key::load(layout.tsa_key());
    FAIL("an EC key loaded as Ed25519");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::crypto);
  }
  std::filesystem::remove(layout.log_name_file());
  std::ofstream(layout.log_name_file()) << "evidence.local/b\n";
  try {
    load_log_verifier(layout);
    FAIL("a verifier key under another name was accepted");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::corrupt);
  }
}
