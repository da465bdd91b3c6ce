// The embedded RFC 3161 time-stamp authority and token checks, including the real
// `openssl ts -verify` command an outsider would run.
#include <openssl/pkcs7.h>
#include <openssl/ts.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <algorithm>
#include <ctime>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "base/error.h"
#include "store/layout.h"
#include "tests/tempdir.h"
#include "verify/tsa.h"

using namespace evidence;
using evidence::test::TempDir;

namespace {

// Runs a shell command; returns its exit status and combined stdout and stderr.
std::pair<int, std::string> run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  REQUIRE(p);
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string q(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

void write(const std::filesystem::path& p, std::span<const std::uint8_t> data) {
  std::ofstream out(p, std::ios::binary);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  REQUIRE(out.good());
}

Bytes read(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  REQUIRE(in);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

std::string read_text(const std::filesystem::path& p) {
  auto b = read(p);
  return std::string(b.begin(), b.end());
}

// One instance's TSA material in a temporary data directory.
struct Instance {
  TempDir dir;
  Layout layout{dir / "data"};
  Instance() { tsa::create_embedded_tsa(layout, "Test Police Evidence Unit"); }
};

ContentId digest_of(std::string_view s) { return Sha256::of(s); }

template <typename F>
Errc error_code_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  FAIL("no evidence::Error thrown");
  return Errc::internal;
}

}  // namespace

TEST_CASE("embedded TSA material: private keys 0600, certificates readable, never replaced", "[tsa]") {
  Instance inst;
  struct stat st {};
  REQUIRE(::stat(inst.layout.tsa_key().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(::stat(inst.layout.tsa_ca_key().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(::stat(inst.layout.tsa_cert().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0644);
  std::string before = read_text(inst.layout.tsa_cert());
  CHECK(error_code_of([&] { tsa::create_embedded_tsa(inst.layout, "x"); }) == Errc::already_exists);
  CHECK(read_text(inst.layout.tsa_cert()) == before);
}

TEST_CASE("the TSA certificate's extendedKeyUsage is timeStamping, critical (openssl x509)", "[tsa]") {
  Instance inst;
  auto [rc, out] = run("openssl x509 -in " + q(inst.layout.tsa_cert()) + " -noout -ext extendedKeyUsage");
  INFO(out);
  CHECK(rc == 0);
  CHECK(out.find("X509v3 Extended Key Usage: critical") != std::string::npos);
  CHECK(out.find("Time Stamping") != std::string::npos);

  auto [rc2, ku] = run("openssl x509 -in " + q(inst.layout.tsa_cert()) +
                       " -noout -ext keyUsage,basicConstraints -subject -issuer");
  INFO(ku);
  CHECK(ku.find("Digital Signature, Non Repudiation") != std::string::npos);
  CHECK(ku.find("CA:FALSE") != std::string::npos);
  CHECK(ku.find("O = Test Police Evidence Unit") != std::string::npos);

  auto [rc3, ca] = run("openssl x509 -in " + q(inst.layout.tsa_ca_cert()) +
                       " -noout -ext basicConstraints,keyUsage");
  INFO(ca);
  CHECK(ca.find("X509v3 Basic Constraints: critical") != std::string::npos);
  CHECK(ca.find("CA:TRUE") != std::string::npos);
  CHECK(ca.find("Certificate Sign, CRL Sign") != std::string::npos);

  // The TSA certificate chains to the CA and is fit for time stamping.
  auto [rc4, chain] = run("openssl verify -purpose timestampsign -CAfile " + q(inst.layout.tsa_ca_cert()) +
                          " " + q(inst.layout.tsa_cert()));
  INFO(chain);
  CHECK(rc4 == 0);
}

TEST_CASE("a token over a file's SHA-256 passes `openssl ts -verify` with only -CAfile", "[tsa]") {
  Instance inst;
  auto file = inst.dir / "footage.mp4";
  const std::string content = "not really video, but evidence all the same\n";
  write(file, as_bytes(content));
  tsa::EmbeddedTsa tsa(inst.layout);
  Bytes token = tsa.stamp(digest_of(content));
  auto tsr = inst.dir / "x.tsr";
  write(tsr, token);

  auto [rc, out] = run("openssl ts -verify -data " + q(file) + " -in " + q(tsr) + " -CAfile " +
                       q(inst.layout.tsa_ca_cert()));
  INFO(out);
  CHECK(rc == 0);
  CHECK(out.find("Verification: OK") != std::string::npos);

  SECTION("and fails for other content") {
    auto other = inst.dir / "other.mp4";
    write(other, as_bytes(std::string("different bytes\n")));
    auto [rc2, out2] = run("openssl ts -verify -data " + q(other) + " -in " + q(tsr) + " -CAfile " +
                           q(inst.layout.tsa_ca_cert()));
    INFO(out2);
    CHECK(out2.find("Verification: OK") == std::string::npos);
    CHECK(out2.find("FAILED") != std::string::npos);
  }
  SECTION("the reply text shows SHA-256, our policy and 1 s accuracy") {
    auto [rc3, text] = run("openssl ts -reply -in " + q(tsr) + " -text");
    INFO(text);
    CHECK(rc3 == 0);
    CHECK(text.find("Status: Granted.") != std::string::npos);
    CHECK(text.find("Hash Algorithm: sha256") != std::string::npos);
    CHECK(text.find("Policy OID: 2.25.96846610647000311124520564214275015929") != std::string::npos);
    CHECK(text.find("Accuracy: 0x01 seconds") != std::string::npos);
    CHECK(text.find("TSA: DirName:") != std::string::npos);
  }
}

TEST_CASE("tokens identify the signer by ESSCertIDv2 (SHA-256) and embed the TSA certificate", "[tsa]") {
  Instance inst;
  tsa::EmbeddedTsa tsa(inst.layout);
  Bytes der = tsa.stamp(digest_of("x"));
  const unsigned char* p = der.data();
  TS_RESP* resp = d2i_TS_RESP(nullptr, &p, static_cast<long>(der.size()));
  REQUIRE(resp);
  PKCS7* token = TS_RESP_get_token(resp);
  REQUIRE(token);
  auto* infos = PKCS7_get_signer_info(token);
  REQUIRE(sk_PKCS7_SIGNER_INFO_num(infos) == 1);
  auto* si = sk_PKCS7_SIGNER_INFO_value(infos, 0);
  CHECK(PKCS7_get_signed_attribute(si, NID_id_smime_aa_signingCertificateV2) != nullptr);
  CHECK(PKCS7_get_signed_attribute(si, NID_id_smime_aa_signingCertificate) == nullptr);
  CHECK(sk_X509_num(token->d.sign->cert) == 1);
  TS_RESP_free(resp);
}

TEST_CASE("verify accepts a valid token and reports what it covers", "[tsa]") {
  Instance inst;
  tsa::EmbeddedTsa tsa(inst.layout);
  auto digest = digest_of("evidence bytes");
  Bytes token = tsa.stamp(digest);
  auto info = tsa::verify(token, digest, tsa.ca_pem());
  CHECK(info.imprint == digest);
  CHECK(info.policy == "2.25.96846610647000311124520564214275015929");
  CHECK(info.tsa_name.find("Test Police Evidence Unit") != std::string::npos);
  CHECK(info.serial.size() >= 17);  // 64 random bits then a 64-bit counter
  // genTime is RFC 3339 UTC and close to now (not a timing assertion: a day's slack).
  REQUIRE(info.gen_time.size() == 20);
  CHECK(info.gen_time[10] == 'T');
  CHECK(info.gen_time.back() == 'Z');
  struct tm tm {};
  REQUIRE(strptime(info.gen_time.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm));
  CHECK(std::abs(static_cast<long>(timegm(&tm) - std::time(nullptr))) < 86400);

  auto seen = tsa::inspect(token);
  CHECK(seen.gen_time == info.gen_time);
  CHECK(seen.serial == info.serial);
  CHECK(seen.imprint == digest);

  CHECK(tsa.cert_pem() == read_text(inst.layout.tsa_cert()));
  CHECK(tsa.ca_pem() == read_text(inst.layout.tsa_ca_cert()));
}

TEST_CASE("verify names both hashes when the token covers other content", "[tsa]") {
  Instance inst;
  tsa::EmbeddedTsa tsa(inst.layout);
  auto stamped = digest_of("what was stamped");
  auto other = digest_of("what is on disk now");
  Bytes token = tsa.stamp(stamped);
  try {
    tsa::verify(token, other, tsa.ca_pem());
    FAIL("a token for other content verified");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::digest_mismatch);
    std::string msg = e.what();
    CHECK(msg.find(stamped.hex()) != std::string::npos);
    CHECK(msg.find(other.hex()) != std::string::npos);
  }
}

TEST_CASE("a token from another instance's TSA fails against this CA", "[tsa]") {
  Instance mine, theirs;
  tsa::EmbeddedTsa their_tsa(theirs.layout);
  tsa::EmbeddedTsa my_tsa(mine.layout);
  auto digest = digest_of("x");
  Bytes token = their_tsa.stamp(digest);
  CHECK(error_code_of([&] { tsa::verify(token, digest, my_tsa.ca_pem()); }) == Errc::crypto);
  // And the outsider's command agrees.
  auto file = mine.dir / "f";
  write(file, as_bytes(std::string("x")));
  write(mine.dir / "t.tsr", token);
  auto [rc, out] = run("openssl ts -verify -data " + q(file) + " -in " + q(mine.dir / "t.tsr") +
                       " -CAfile " + q(mine.layout.tsa_ca_cert()));
  CHECK(out.find("Verification: OK") == std::string::npos);
}

namespace {

// Where `needle` sits inside `hay` (it must be there exactly once).
std::pair<std::size_t, std::size_t> region(const Bytes& hay, const Bytes& needle) {
  auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end());
  REQUIRE(it != hay.end());
  REQUIRE(std::search(it + 1, hay.end(), needle.begin(), needle.end()) == hay.end());
  auto begin = static_cast<std::size_t>(it - hay.begin());
  return {begin, begin + needle.size()};
}

template <typename T>
Bytes der(T* obj, int (*i2d)(const T*, unsigned char**)) {
  int n = i2d(obj, nullptr);
  REQUIRE(n > 0);
  Bytes out(static_cast<std::size_t>(n));
  unsigned char* p = out.data();
  i2d(obj, &p);
  return out;
}

}  // namespace

TEST_CASE("a flipped byte anywhere in a token fails or changes no claim, and signed parts always fail", "[tsa]") {
  Instance inst;
  tsa::EmbeddedTsa tsa(inst.layout);
  auto digest = digest_of("flip me");
  Bytes token = tsa.stamp(digest);
  auto original = tsa::verify(token, digest, tsa.ca_pem());

  // The parts whose every bit matters: the TSTInfo (time, imprint, serial, policy),
  // the embedded TSA certificate, and the SignerInfo's signature value.
  const unsigned char* p = token.data();
  TS_RESP* resp = d2i_TS_RESP(nullptr, &p, static_cast<long>(token.size()));
  REQUIRE(resp);
  PKCS7* p7 = TS_RESP_get_token(resp);
  auto tst = region(token, der<TS_TST_INFO>(TS_RESP_get_tst_info(resp), i2d_TS_TST_INFO));
  auto cert = region(token, der<X509>(sk_X509_value(p7->d.sign->cert, 0), i2d_X509));
  ASN1_OCTET_STRING* sigval = sk_PKCS7_SIGNER_INFO_value(PKCS7_get_signer_info(p7), 0)->enc_digest;
  auto sig = region(token, Bytes(sigval->data, sigval->data + sigval->length));
  TS_RESP_free(resp);
  auto inside = [](std::size_t i, std::pair<std::size_t, std::size_t> r) { return i >= r.first && i < r.second; };

  std::size_t rejected = 0;
  for (std::size_t i = 0; i < token.size(); ++i) {
    Bytes bad = token;
    bad[i] ^= 0x01;
    try {
      auto info = tsa::verify(bad, digest, tsa.ca_pem());
      // OpenSSL does not bind a few envelope fields to the signature (the response
      // status, CMS version numbers, NULL algorithm parameters, the SignerInfo's
      // signature algorithm OID). A flip there may pass, but must change nothing
      // the token claims, and must lie outside the signed parts.
      INFO("accepted flip at byte " << i << " of " << token.size());
      CHECK_FALSE(inside(i, tst));
      CHECK_FALSE(inside(i, cert));
      CHECK_FALSE(inside(i, sig));
      CHECK(info.gen_time == original.gen_time);
      CHECK(info.serial == original.serial);
      CHECK(info.imprint == original.imprint);
      CHECK(info.policy == original.policy);
      CHECK(info.tsa_name == original.tsa_name);
    } catch (const Error&) {
      ++rejected;
    }
  }
  // Nearly every byte is bound (a handful of envelope bytes are not).
  CHECK(rejected + 20 >= token.size());
}

TEST_CASE("verify checks certificates at a given time", "[tsa]") {
  Instance inst;
  tsa::EmbeddedTsa tsa(inst.layout);
  auto digest = digest_of("later");
  Bytes token = tsa.stamp(digest);
  const long now = static_cast<long>(std::time(nullptr));
  CHECK_NOTHROW(tsa::verify(token, digest, tsa.ca_pem(), now + 365L * 86400 * 10));
  // Forty years on, the 30-year certificates have expired.
  CHECK(error_code_of([&] { tsa::verify(token, digest, tsa.ca_pem(), now + 40L * 366 * 86400); }) ==
        Errc::crypto);
  // Before the certificates existed.
  CHECK(error_code_of([&] { tsa::verify(token, digest, tsa.ca_pem(), now - 86400); }) == Errc::crypto);
}

TEST_CASE("serial numbers are unique, also across threads and instances", "[tsa]") {
  Instance inst;
  std::set<std::string> serials;
  {
    tsa::EmbeddedTsa tsa(inst.layout);
    auto a = tsa::inspect(tsa.stamp(digest_of("a")));
    auto b = tsa::inspect(tsa.stamp(digest_of("a")));
    CHECK(a.serial != b.serial);
    serials.insert(a.serial);
    serials.insert(b.serial);

    std::vector<std::vector<Bytes>> per_thread(4);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&, t] {
        for (int i = 0; i < 25; ++i) per_thread[t].push_back(tsa.stamp(digest_of(std::to_string(t))));
      });
    for (auto& th : threads) th.join();
    for (int t = 0; t < 4; ++t)
      for (const auto& tok : per_thread[t]) {
        auto info = tsa::verify(tok, digest_of(std::to_string(t)), tsa.ca_pem());
        serials.insert(info.serial);
      }
    CHECK(serials.size() == 102);
  }
  // A restart (a new EmbeddedTsa over the same keys) does not reuse serials.
  tsa::EmbeddedTsa again(inst.layout);
  CHECK(serials.count(tsa::inspect(again.stamp(digest_of("a"))).serial) == 0);
}

TEST_CASE("garbage is not a token", "[tsa]") {
  Instance inst;
  tsa::EmbeddedTsa tsa(inst.layout);
  auto digest = digest_of("x");
  Bytes token = tsa.stamp(digest);
  CHECK(error_code_of([&] { tsa::inspect(Bytes{}); }) == Errc::crypto);
  CHECK(error_code_of([&] { tsa::inspect(Bytes{0x30, 0x03, 0x02, 0x01, 0x00}); }) == Errc::crypto);
  Bytes truncated(token.begin(), token.end() - 1);
  CHECK(error_code_of([&] { tsa::verify(truncated, digest, tsa.ca_pem()); }) == Errc::crypto);
  Bytes padded = token;
  padded.push_back(0);
  CHECK(error_code_of([&] { tsa::verify(padded, digest, tsa.ca_pem()); }) == Errc::crypto);
  CHECK(error_code_of([&] { tsa::verify(token, digest, "not a pem"); }) == Errc::crypto);
}

TEST_CASE("requests for an outside TSA round-trip through `openssl ts -reply`", "[tsa]") {
  Instance inst;
  auto digest = digest_of("sent to an outside TSA");
  Bytes nonce;
  Bytes req = tsa::make_request(digest, &nonce);
  REQUIRE(nonce.size() == 8);
  auto tsq = inst.dir / "req.tsq";
  write(tsq, req);

  auto [rcq, qtext] = run("openssl ts -query -in " + q(tsq) + " -text");
  INFO(qtext);
  CHECK(rcq == 0);
  CHECK(qtext.find("Hash Algorithm: sha256") != std::string::npos);
  CHECK(qtext.find("Certificate required: yes") != std::string::npos);

  // A stand-in outside TSA: the openssl command with our TSA key, a config of its own.
  auto cfg = inst.dir / "tsa.cnf";
  std::ofstream(cfg) << "[ tsa ]\ndefault_tsa = t\n[ t ]\nserial = " << (inst.dir / "serial").string()
                     << "\nsigner_cert = " << inst.layout.tsa_cert().string()
                     << "\nsigner_key = " << inst.layout.tsa_key().string()
                     << "\nsigner_digest = sha256\ndefault_policy = 1.2.3.4.1\n"
                        "digests = sha256\naccuracy = secs:1\ness_cert_id_alg = sha256\n";
  std::ofstream(inst.dir / "serial") << "01\n";
  auto tsr = inst.dir / "resp.tsr";
  auto [rcr, rtext] = run("openssl ts -reply -config " + q(cfg) + " -queryfile " + q(tsq) + " -out " + q(tsr));
  INFO(rtext);
  REQUIRE(rcr == 0);
  Bytes resp = read(tsr);

  CHECK_NOTHROW(tsa::check_response(resp, digest, nonce));
  auto info = tsa::verify(resp, digest, read_text(inst.layout.tsa_ca_cert()));
  CHECK(info.policy == "1.2.3.4.1");

  Bytes other_nonce = nonce;
  other_nonce[7] ^= 1;
  CHECK(error_code_of([&] { tsa::check_response(resp, digest, other_nonce); }) == Errc::crypto);
  CHECK(error_code_of([&] { tsa::check_response(resp, digest_of("other"), nonce); }) == Errc::crypto);
  CHECK(error_code_of([&] { tsa::check_response(Bytes{1, 2, 3}, digest, nonce); }) == Errc::crypto);
}

TEST_CASE("an embedded TSA whose key does not match its certificate refuses to start", "[tsa]") {
  Instance a, b;
  std::filesystem::remove(a.layout.tsa_key());
  std::filesystem::copy_file(b.layout.tsa_key(), a.layout.tsa_key());
  CHECK(error_code_of([&] { tsa::EmbeddedTsa broken(a.layout); }) == Errc::crypto);
  // And a TSA whose files are missing says which.
  std::filesystem::remove(b.layout.tsa_cert());
  CHECK(error_code_of([&] { tsa::EmbeddedTsa missing(b.layout); }) == Errc::not_found);
}
