// evidence-witness, driven as another institution's witness would be: its own
// directory, a log added by its verifier key, and POST /add-checkpoint bodies written
// by hand from C2SP tlog-witness. Its cosignatures are checked with `openssl pkeyutl`
// over the exact message C2SP tlog-cosignature/v1 defines, not only with our code.
#include <catch2/catch.hpp>

#include <fstream>

#include "base/codec.h"
#include "store/merkle.h"
#include "tests/support/daemon.h"
#include "tests/tempdir.h"
#include "verify/cosignature.h"
#include "verify/signed_note.h"

using namespace evidence;
using namespace evidence::test;
namespace fs = std::filesystem;

namespace {

const std::string kOrigin = "evidence.test/custody-log";
const std::string kWitnessName = "court.test/witness";

// A log of n leaves "leaf 0", "leaf 1", ... and the subtree hashes proofs need.
struct TestLog {
  std::vector<merkle::Hash> leaves;
  explicit TestLog(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) leaves.push_back(merkle::leaf_hash(as_bytes("leaf " + std::to_string(i))));
  }
  merkle::SubtreeSource source() const {
    return [this](unsigned level, std::uint64_t index) { return subtree(level, index); };
  }
  merkle::Hash subtree(unsigned level, std::uint64_t index) const {
    if (level == 0) return leaves.at(index);
    return merkle::node_hash(subtree(level - 1, 2 * index), subtree(level - 1, 2 * index + 1));
  }
  merkle::Hash root(std::uint64_t size) const { return merkle::root(source(), size); }
};

std::string checkpoint_body(std::uint64_t size, const merkle::Hash& root) {
  return kOrigin + "\n" + std::to_string(size) + "\n" + to_base64(root) + "\n";
}

std::string request(std::uint64_t old_size, const std::vector<merkle::Hash>& proof, const std::string& signed_cp) {
  std::string body = "old " + std::to_string(old_size) + "\n";
  for (const auto& h : proof) body += to_base64(h) + "\n";
  return body + "\n" + signed_cp;
}

struct Witness {
  TempDir tmp;
  fs::path dir = tmp.path() / "witness";
  note::Ed25519Key log_key = note::Ed25519Key::generate();
  std::string witness_vkey;
  std::unique_ptr<ServerProcess> server;

  Witness() {
    auto init = run_process({EVIDENCE_WITNESS_PATH, "init", "--data", dir.string(), "--name", kWitnessName});
    INFO(init.err);
    REQUIRE(init.exit_code == 0);
    witness_vkey = init.out.substr(0, init.out.find('\n'));
    const auto log_vkey = note::Verifier::for_key(kOrigin, log_key.public_key()).to_string();
    auto add = run_process({EVIDENCE_WITNESS_PATH, "add-log", "--data", dir.string(), "--origin", kOrigin, "--key", log_vkey});
    INFO(add.err);
    REQUIRE(add.exit_code == 0);
    start();
  }
  void start() {
    server = std::make_unique<ServerProcess>(
        std::vector<std::string>{EVIDENCE_WITNESS_PATH, "serve", "--data", dir.string(), "--listen", "127.0.0.1:0"},
        tmp.path() / "witness.log");
  }
  std::string sign(const std::string& body) const { return note::sign(body, kOrigin, log_key); }
  HttpResponse post(const std::string& body) const { return http("POST", server->url() + "/add-checkpoint", {}, body); }
};

// "— NAME BASE64\n" -> the decoded signature blob (key id, timestamp, signature).
Bytes cosignature_blob(const std::string& line) {
  const std::string prefix = "\xE2\x80\x94 " + kWitnessName + " ";
  REQUIRE(line.rfind(prefix, 0) == 0);
  REQUIRE(line.back() == '\n');
  auto blob = from_base64(line.substr(prefix.size(), line.size() - prefix.size() - 1));
  REQUIRE(blob);
  REQUIRE(blob->size() == 4 + 8 + 64);
  return *blob;
}

}  // namespace

TEST_CASE("evidence-witness cosigns a consistent checkpoint, and openssl verifies the cosignature", "[witness]") {
  Witness w;
  TestLog log(5);
  const std::string body3 = checkpoint_body(3, log.root(3));
  auto r = w.post(request(0, {}, w.sign(body3)));
  INFO(r.body << w.server->stderr_text());
  REQUIRE(r.status == 200);
  const Bytes blob = cosignature_blob(r.body);

  // Key id: SHA-256(name || 0x0A || 0x04 || public key)[:4], as the vkey says too.
  const auto witness = note::Verifier::parse(w.witness_vkey);
  REQUIRE(witness);
  CHECK(witness->type == note::kTypeCosignatureV1);
  CHECK(std::equal(witness->key_id.begin(), witness->key_id.end(), blob.begin()));
  std::uint64_t ts = 0;
  for (int i = 4; i < 12; ++i) ts = (ts << 8) | blob[static_cast<std::size_t>(i)];
  const auto now = static_cast<std::uint64_t>(std::time(nullptr));
  CHECK(ts + 60 > now);
  CHECK(ts <= now + 1);

  // openssl over the exact message: "cosignature/v1\ntime T\n" || checkpoint body.
  const fs::path msg = w.tmp.path() / "msg", sig = w.tmp.path() / "sig", pub = w.tmp.path() / "pub.pem";
  { std::ofstream(msg, std::ios::binary) << "cosignature/v1\ntime " << ts << "\n" << body3; }
  { std::ofstream(sig, std::ios::binary).write(reinterpret_cast<const char*>(blob.data() + 12), 64); }
  REQUIRE(run_process({"/usr/bin/openssl", "pkey", "-in", (w.dir / "witness.key").string(), "-pubout", "-out",
                       pub.string()})
              .exit_code == 0);
  auto ok = run_process({"/usr/bin/openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pub.string(), "-rawin", "-in",
                         msg.string(), "-sigfile", sig.string()});
  INFO(ok.out << ok.err);
  CHECK(ok.exit_code == 0);
  // ...and a message with another time does not verify.
  { std::ofstream(msg, std::ios::binary) << "cosignature/v1\ntime " << ts + 1 << "\n" << body3; }
  CHECK(run_process({"/usr/bin/openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pub.string(), "-rawin", "-in",
                     msg.string(), "-sigfile", sig.string()})
            .exit_code != 0);

  // Our own check agrees: the cosigned note verifies for the witness's vkey.
  const std::string cosigned = w.sign(body3) + r.body;
  CHECK(note::verify_cosignature(cosigned, *witness) == ts);

  // Growing 3 -> 5 with a correct RFC 6962 consistency proof is cosigned too.
  const std::string body5 = checkpoint_body(5, log.root(5));
  auto r5 = w.post(request(3, merkle::consistency_proof(log.source(), 3, 5), w.sign(body5)));
  INFO(r5.body);
  CHECK(r5.status == 200);
  CHECK(note::verify_cosignature(w.sign(body5) + r5.body, *witness));
}

TEST_CASE("evidence-witness answers 409 with its size on a stale old size, and keeps it across a restart", "[witness]") {
  Witness w;
  TestLog log(6);
  REQUIRE(w.post(request(0, {}, w.sign(checkpoint_body(4, log.root(4))))).status == 200);
  auto stale = w.post(request(0, {}, w.sign(checkpoint_body(6, log.root(6)))));
  CHECK(stale.status == 409);
  CHECK(stale.header("content-type") == "text/x.tlog.size");
  CHECK(stale.body == "4\n");
  // The state was durable before the 200: a new process knows size 4.
  REQUIRE(w.server->stop() == 0);
  w.start();
  auto again = w.post(request(2, merkle::consistency_proof(log.source(), 2, 6), w.sign(checkpoint_body(6, log.root(6)))));
  CHECK(again.status == 409);
  CHECK(again.body == "4\n");
  CHECK(w.post(request(4, merkle::consistency_proof(log.source(), 4, 6), w.sign(checkpoint_body(6, log.root(6))))).status ==
        200);
}

TEST_CASE("evidence-witness answers 422 on a bad proof and 409 on another root at a size it cosigned", "[witness]") {
  Witness w;
  TestLog log(7), fork(7);
  fork.leaves[2] = merkle::leaf_hash(as_bytes("a different leaf 2"));
  REQUIRE(w.post(request(0, {}, w.sign(checkpoint_body(3, log.root(3))))).status == 200);

  auto proof = merkle::consistency_proof(log.source(), 3, 7);
  proof.back()[0] ^= 1;
  auto bad = w.post(request(3, proof, w.sign(checkpoint_body(7, log.root(7)))));
  CHECK(bad.status == 422);
  // A forked history: the fork's own proof does not lead from the root cosigned at 3.
  auto forked = w.post(request(3, merkle::consistency_proof(fork.source(), 3, 7), w.sign(checkpoint_body(7, fork.root(7)))));
  CHECK(forked.status == 422);
  // The same size with another root: refused as a conflict, whatever the proof.
  auto split = w.post(request(3, {}, w.sign(checkpoint_body(3, fork.root(3)))));
  CHECK(split.status == 409);
  CHECK(split.body == "3\n");
  // None of that moved the witness: the honest 3 -> 7 still goes through.
  CHECK(w.post(request(3, merkle::consistency_proof(log.source(), 3, 7), w.sign(checkpoint_body(7, log.root(7))))).status ==
        200);
}

TEST_CASE("evidence-witness answers 404, 403 and 400 as the protocol says", "[witness]") {
  Witness w;
  TestLog log(2);
  const std::string body = checkpoint_body(2, log.root(2));
  // Unknown origin.
  const std::string other = "other.test/log\n2\n" + to_base64(log.root(2)) + "\n";
  auto other_key = note::Ed25519Key::generate();
  CHECK(w.post(request(0, {}, note::sign(other, "other.test/log", other_key))).status == 404);
  // Known origin, signed by a key the witness was not given.
  CHECK(w.post(request(0, {}, note::sign(body, kOrigin, other_key))).status == 403);
  // Malformed bodies and an old size above the checkpoint's.
  CHECK(w.post("old 0\n" + w.sign(body)).status == 400);    // no blank line
  CHECK(w.post("old 00\n\n" + w.sign(body)).status == 400);  // leading zero
  CHECK(w.post("old 0\nnot-a-hash\n\n" + w.sign(body)).status == 400);
  CHECK(w.post(request(3, {}, w.sign(body))).status == 400);
  CHECK(w.post("").status == 400);
  // Non-empty proof from size 0.
  CHECK(w.post(request(0, {log.leaves[0]}, w.sign(body))).status == 422);
  // Wrong method and path.
  CHECK(http("GET", w.server->url() + "/add-checkpoint").status == 405);
  CHECK(http("POST", w.server->url() + "/other", {}, "x").status == 404);
  // Still serving, and nothing was recorded: old 0 is still the right old size.
  CHECK(w.post(request(0, {}, w.sign(body))).status == 200);
}

TEST_CASE("evidence-witness add-log adds keys and never removes a log", "[witness]") {
  Witness w;
  TestLog log(2);
  REQUIRE(w.post(request(0, {}, w.sign(checkpoint_body(2, log.root(2))))).status == 200);
  REQUIRE(w.server->stop() == 0);
  auto second = note::Ed25519Key::generate();
  const auto vkey2 = note::Verifier::for_key(kOrigin, second.public_key()).to_string();
  auto add = run_process({EVIDENCE_WITNESS_PATH, "add-log", "--data", w.dir.string(), "--origin", kOrigin, "--key", vkey2});
  INFO(add.err);
  REQUIRE(add.exit_code == 0);
  w.start();
  // The first key still works, the second works too, and the cosigned size survived.
  CHECK(w.post(request(0, {}, w.sign(checkpoint_body(2, log.root(2))))).status == 409);
  CHECK(w.post(request(2, {}, note::sign(checkpoint_body(2, log.root(2)), kOrigin, second))).status == 200);
  CHECK(w.post(request(2, {}, w.sign(checkpoint_body(2, log.root(2))))).status == 200);
  // A bad key is a usage error, and add-log cannot run beside a serving witness.
  CHECK(run_process({EVIDENCE_WITNESS_PATH, "add-log", "--data", w.dir.string(), "--origin", kOrigin, "--key", "nonsense"})
            .exit_code == 2);
  CHECK(run_process({EVIDENCE_WITNESS_PATH, "add-log", "--data", w.dir.string(), "--origin", kOrigin, "--key", vkey2})
            .exit_code == 1);
  // init refuses a directory that already holds a witness.
  CHECK(run_process({EVIDENCE_WITNESS_PATH, "init", "--data", w.dir.string(), "--name", kWitnessName}).exit_code == 1);
}
