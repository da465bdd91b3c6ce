#include "verify/tsa.h"

#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <mutex>

#include "base/timefmt.h"
#include "store/blob_store.h"
#include "verify/openssl_util.h"

namespace evidence::tsa {

namespace {

// The policy under which the embedded TSA issues tokens. We own no registered arc, so
// the OID is minted under 2.25 (ITU-T X.667: an OID from a random UUID, no
// registration needed, no collision with anyone's policy). UUID
// 48dbfa8f-14ce-4a0a-adfd-87f2737484f9.
constexpr const char* kPolicyOid = "2.25.96846610647000311124520564214275015929";

constexpr long kValidityDays = 30L * 365 + 8;  // 30 years including leap days
// Certificates start a minute in the past so that a clock stepped back slightly after
// init does not make freshly issued tokens predate their own certificate.
constexpr long kBackdateSeconds = 60;

// X.520 caps O and CN at 64 characters; keep at most 64 bytes, cut at a UTF-8 boundary.
std::string name_part(std::string s) {
  if (s.size() <= 64) return s;
  std::size_t n = 64;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  s.resize(n);
  return s;
}

ossl::X509Name make_name(const std::string& organisation, const std::string& common_name) {
  ossl::X509Name name(ossl::check(X509_NAME_new(), "X509_NAME_new"));
  auto add = [&](const char* field, const std::string& value) {
    ossl::check(X509_NAME_add_entry_by_txt(name.get(), field, MBSTRING_UTF8,
                                           reinterpret_cast<const unsigned char*>(value.data()),
                                           static_cast<int>(value.size()), -1, 0),
                "X509_NAME_add_entry_by_txt");
  };
  if (!organisation.empty()) add("O", name_part(organisation));
  add("CN", common_name);
  return name;
}

ossl::Pkey generate_p256() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (!key) throw ossl::crypto_error("EC P-256 key generation");
  return ossl::Pkey(key);
}

// 128 random bits, positive: serials must be unpredictable and unique (CA/B habit).
ossl::Asn1Int random_serial(std::size_t bytes) {
  Bytes r = random_bytes(bytes);
  ossl::Bn bn(ossl::check(BN_bin2bn(r.data(), static_cast<int>(r.size()), nullptr), "BN_bin2bn"));
  return ossl::Asn1Int(ossl::check(BN_to_ASN1_INTEGER(bn.get(), nullptr), "BN_to_ASN1_INTEGER"));
}

void add_ext(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  ossl::X509Ext ext(X509V3_EXT_nconf_nid(nullptr, ctx, nid, value));
  if (!ext) throw ossl::crypto_error(std::string("certificate extension ") + OBJ_nid2sn(nid));
  ossl::check(X509_add_ext(cert, ext.get(), -1), "X509_add_ext");
}

// Issues a certificate for `key` named `subject`, signed by `issuer_key` (and
// `issuer_cert`, or self-signed when null). `exts` are (nid, value) pairs in
// OpenSSL's config syntax.
ossl::X509Ptr issue(EVP_PKEY* key, X509_NAME* subject, EVP_PKEY* issuer_key, X509* issuer_cert,
                    std::initializer_list<std::pair<int, const char*>> exts) {
  ossl::X509Ptr cert(ossl::check(X509_new(), "X509_new"));
  ossl::check(X509_set_version(cert.get(), X509_VERSION_3), "X509_set_version");
  auto serial = random_serial(16);
  ossl::check(X509_set_serialNumber(cert.get(), serial.get()), "X509_set_serialNumber");
  ossl::check(X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kBackdateSeconds) != nullptr,
              "notBefore");
  ossl::check(X509_time_adj_ex(X509_getm_notAfter(cert.get()), kValidityDays, 0, nullptr) != nullptr,
              "notAfter");
  ossl::check(X509_set_subject_name(cert.get(), subject), "X509_set_subject_name");
  ossl::check(X509_set_issuer_name(cert.get(),
                                   issuer_cert ? X509_get_subject_name(issuer_cert) : subject),
              "X509_set_issuer_name");
  ossl::check(X509_set_pubkey(cert.get(), key), "X509_set_pubkey");
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer_cert ? issuer_cert : cert.get(), cert.get(), nullptr, nullptr, 0);
  for (const auto& [nid, value] : exts) add_ext(cert.get(), &ctx, nid, value);
  ossl::check(X509_sign(cert.get(), issuer_key, EVP_sha256()), "X509_sign");
  return cert;
}

std::string key_pem(EVP_PKEY* key) {
  ossl::Bio bio(ossl::check(BIO_new(BIO_s_secmem()), "BIO_new"));
  ossl::check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr),
              "PEM_write_bio_PrivateKey");
  return ossl::bio_string(bio.get());
}

std::string cert_pem_of(X509* cert) {
  ossl::Bio bio(ossl::check(BIO_new(BIO_s_mem()), "BIO_new"));
  ossl::check(PEM_write_bio_X509(bio.get(), cert), "PEM_write_bio_X509");
  return ossl::bio_string(bio.get());
}

void write_secret(const std::filesystem::path& p, std::string pem) {
  try {
    write_file_durably(p, as_bytes(pem), 0600, /*exclusive=*/true);
  } catch (...) {
    OPENSSL_cleanse(pem.data(), pem.size());
    throw;
  }
  OPENSSL_cleanse(pem.data(), pem.size());
}

ossl::X509Ptr read_cert(const std::string& pem, const std::string& what) {
  auto bio = ossl::mem_bio(pem);
  X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
  if (!c) throw ossl::crypto_error("reading certificate " + what);
  return ossl::X509Ptr(c);
}

ossl::Pkey read_key(const std::filesystem::path& p) {
  std::string pem = ossl::read_small_file(p);
  auto bio = ossl::mem_bio(pem);
  EVP_PKEY* k = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  OPENSSL_cleanse(pem.data(), pem.size());
  if (!k) throw ossl::crypto_error("reading private key " + p.string());
  return ossl::Pkey(k);
}

Bytes der_of_resp(TS_RESP* resp) {
  int n = i2d_TS_RESP(resp, nullptr);
  if (n <= 0) throw ossl::crypto_error("i2d_TS_RESP");
  Bytes out(static_cast<std::size_t>(n));
  unsigned char* p = out.data();
  i2d_TS_RESP(resp, &p);
  return out;
}

ossl::TsResp parse_resp(std::span<const std::uint8_t> der) {
  const unsigned char* p = der.data();
  TS_RESP* r = d2i_TS_RESP(nullptr, &p, static_cast<long>(der.size()));
  if (!r) throw ossl::crypto_error("not a DER TimeStampResp");
  ossl::TsResp resp(r);
  if (p != der.data() + der.size()) throw Error(Errc::crypto, "trailing bytes after TimeStampResp");
  return resp;
}

std::string status_text(TS_RESP* resp) {
  ossl::Bio bio(ossl::check(BIO_new(BIO_s_mem()), "BIO_new"));
  TS_STATUS_INFO_print_bio(bio.get(), TS_RESP_get_status_info(resp));
  std::string s = ossl::bio_string(bio.get());
  for (auto& c : s)
    if (c == '\n') c = ' ';
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

// The TSTInfo of a granted response; Error(crypto) otherwise.
TS_TST_INFO* granted_info(TS_RESP* resp) {
  const ASN1_INTEGER* status = TS_STATUS_INFO_get0_status(TS_RESP_get_status_info(resp));
  long st = status ? ASN1_INTEGER_get(status) : -1;
  if (st != TS_STATUS_GRANTED && st != TS_STATUS_GRANTED_WITH_MODS)
    throw Error(Errc::crypto, "time stamp not granted: " + status_text(resp));
  TS_TST_INFO* info = TS_RESP_get_tst_info(resp);
  if (!info || !TS_RESP_get_token(resp))
    throw Error(Errc::crypto, "granted time stamp response carries no token");
  return info;
}

// The SHA-256 imprint of a token; Error(crypto) when it uses another algorithm.
ContentId sha256_imprint(TS_TST_INFO* info) {
  TS_MSG_IMPRINT* mi = TS_TST_INFO_get_msg_imprint(info);
  X509_ALGOR* alg = mi ? TS_MSG_IMPRINT_get_algo(mi) : nullptr;
  ASN1_OCTET_STRING* msg = mi ? TS_MSG_IMPRINT_get_msg(mi) : nullptr;
  if (!alg || !msg) throw Error(Errc::crypto, "time stamp token has no message imprint");
  const ASN1_OBJECT* obj = nullptr;
  X509_ALGOR_get0(&obj, nullptr, nullptr, alg);
  if (OBJ_obj2nid(obj) != NID_sha256) {
    char buf[80];
    OBJ_obj2txt(buf, sizeof buf, obj, 0);
    throw Error(Errc::crypto, std::string("time stamp imprint uses ") + buf + ", not SHA-256");
  }
  if (ASN1_STRING_length(msg) != 32) throw Error(Errc::crypto, "SHA-256 imprint is not 32 bytes");
  return ContentId::from_span({ASN1_STRING_get0_data(msg), 32});
}

ossl::TsMsgImprint sha256_msg_imprint(const ContentId& digest) {
  ossl::TsMsgImprint mi(ossl::check(TS_MSG_IMPRINT_new(), "TS_MSG_IMPRINT_new"));
  ossl::X509Algor alg(ossl::check(X509_ALGOR_new(), "X509_ALGOR_new"));
  // SHA-256 AlgorithmIdentifier with explicit NULL parameters, as `openssl ts -query`.
  X509_ALGOR_set_md(alg.get(), EVP_sha256());
  ossl::check(TS_MSG_IMPRINT_set_algo(mi.get(), alg.get()), "TS_MSG_IMPRINT_set_algo");
  ossl::check(TS_MSG_IMPRINT_set_msg(mi.get(), const_cast<unsigned char*>(digest.bytes.data()),
                                     static_cast<int>(digest.bytes.size())),
              "TS_MSG_IMPRINT_set_msg");
  return mi;
}

// A TimeStampReq (v1, SHA-256 imprint, certReq true, nonce from `nonce`).
ossl::TsReq build_request(const ContentId& digest, const Bytes& nonce) {
  ossl::TsReq req(ossl::check(TS_REQ_new(), "TS_REQ_new"));
  ossl::check(TS_REQ_set_version(req.get(), 1), "TS_REQ_set_version");
  auto mi = sha256_msg_imprint(digest);
  ossl::check(TS_REQ_set_msg_imprint(req.get(), mi.get()), "TS_REQ_set_msg_imprint");
  ossl::Bn bn(ossl::check(BN_bin2bn(nonce.data(), static_cast<int>(nonce.size()), nullptr), "BN_bin2bn"));
  ossl::Asn1Int n(ossl::check(BN_to_ASN1_INTEGER(bn.get(), nullptr), "BN_to_ASN1_INTEGER"));
  ossl::check(TS_REQ_set_nonce(req.get(), n.get()), "TS_REQ_set_nonce");
  ossl::check(TS_REQ_set_cert_req(req.get(), 1), "TS_REQ_set_cert_req");
  return req;
}

Bytes der_of_req(TS_REQ* req) {
  int n = i2d_TS_REQ(req, nullptr);
  if (n <= 0) throw ossl::crypto_error("i2d_TS_REQ");
  Bytes out(static_cast<std::size_t>(n));
  unsigned char* p = out.data();
  i2d_TS_REQ(req, &p);
  return out;
}

std::string rfc3339(const ASN1_GENERALIZEDTIME* t) {
  struct tm tm {};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) throw Error(Errc::crypto, "time stamp has no valid genTime");
  return format_utc(tm, "%Y-%m-%dT%H:%M:%SZ");
}

std::string integer_hex(const ASN1_INTEGER* i) {
  ossl::Bn bn(ossl::check(ASN1_INTEGER_to_BN(i, nullptr), "ASN1_INTEGER_to_BN"));
  char* hex = BN_bn2hex(bn.get());
  if (!hex) throw ossl::crypto_error("BN_bn2hex");
  std::string s(hex);
  OPENSSL_free(hex);
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string one_line(X509_NAME* name) {
  ossl::Bio bio(ossl::check(BIO_new(BIO_s_mem()), "BIO_new"));
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB);
  return ossl::bio_string(bio.get());
}

// The subject of the certificate that signed the token, from the certificates the
// token carries; falls back to the TSTInfo's tsa field; empty when neither exists.
std::string signer_subject(TS_RESP* resp, TS_TST_INFO* info) {
  PKCS7* token = TS_RESP_get_token(resp);
  if (token && PKCS7_type_is_signed(token)) {
    STACK_OF(X509)* signers = PKCS7_get0_signers(token, nullptr, 0);
    if (signers) {
      std::string s = sk_X509_num(signers) > 0 ? one_line(X509_get_subject_name(sk_X509_value(signers, 0))) : "";
      sk_X509_free(signers);
      if (!s.empty()) return s;
    }
    ossl::drain_errors();
  }
  GENERAL_NAME* tsa = TS_TST_INFO_get_tsa(info);
  if (tsa && tsa->type == GEN_DIRNAME) return one_line(tsa->d.directoryName);
  return {};
}

TokenInfo info_of(TS_RESP* resp) {
  TS_TST_INFO* info = granted_info(resp);
  TokenInfo out;
  out.gen_time = rfc3339(TS_TST_INFO_get_time(info));
  out.serial = integer_hex(TS_TST_INFO_get_serial(info));
  out.tsa_name = signer_subject(resp, info);
  char buf[128];
  ASN1_OBJECT* policy = TS_TST_INFO_get_policy_id(info);
  if (policy && OBJ_obj2txt(buf, sizeof buf, policy, 1) > 0) out.policy = buf;
  out.imprint = sha256_imprint(info);
  return out;
}

}  // namespace

void create_embedded_tsa(const Layout& layout, const std::string& organisation) {
  const std::filesystem::path files[] = {layout.tsa_ca_key(), layout.tsa_ca_cert(), layout.tsa_key(),
                                         layout.tsa_cert()};
  for (const auto& f : files) {
    std::error_code ec;
    if (std::filesystem::exists(f, ec)) throw Error(Errc::already_exists, f.string() + " already exists");
  }
  std::error_code ec;
  if (std::filesystem::create_directories(layout.keys_dir(), ec)) {
    std::filesystem::permissions(layout.keys_dir(), std::filesystem::perms::owner_all, ec);
    fsync_path(layout.keys_dir().parent_path());
  }
  if (ec) throw system_error(ec.value(), "create " + layout.keys_dir().string());

  auto ca_key = generate_p256();
  auto ca_name = make_name(organisation, "Evidence TSA Root CA");
  auto ca = issue(ca_key.get(), ca_name.get(), ca_key.get(), nullptr,
                  {{NID_basic_constraints, "critical,CA:TRUE"},
                   {NID_key_usage, "critical,keyCertSign,cRLSign"},
                   {NID_subject_key_identifier, "hash"},
                   {NID_authority_key_identifier, "keyid:always"}});

  auto tsa_key = generate_p256();
  auto tsa_name = make_name(organisation, "Evidence Time-Stamp Authority");
  // RFC 3161 2.3: the TSA certificate carries exactly one extendedKeyUsage,
  // timeStamping, marked critical (OpenSSL refuses to sign tokens otherwise).
  auto tsa = issue(tsa_key.get(), tsa_name.get(), ca_key.get(), ca.get(),
                   {{NID_basic_constraints, "critical,CA:FALSE"},
                    {NID_key_usage, "critical,digitalSignature,nonRepudiation"},
                    {NID_ext_key_usage, "critical,timeStamping"},
                    {NID_subject_key_identifier, "hash"},
                    {NID_authority_key_identifier, "keyid:always"}});

  // Private keys first: a crash part-way leaves files that make a second init refuse,
  // never a certificate whose key is lost.
  write_secret(layout.tsa_ca_key(), key_pem(ca_key.get()));
  write_secret(layout.tsa_key(), key_pem(tsa_key.get()));
  std::string ca_pem = cert_pem_of(ca.get());
  std::string tsa_pem = cert_pem_of(tsa.get());
  write_file_durably(layout.tsa_ca_cert(), as_bytes(ca_pem), 0644, true);
  write_file_durably(layout.tsa_cert(), as_bytes(tsa_pem), 0644, true);
}

struct EmbeddedTsa::Impl {
  std::mutex mu;  // TS_RESP_CTX is not thread-safe; stamping is cheap, so one lock.
  ossl::TsRespCtx ctx;
  ossl::X509Ptr cert;
  ossl::Pkey key;
  std::string ca_pem;
  std::string cert_pem;
  std::array<std::uint8_t, 8> serial_prefix{};  // random per process
  std::uint64_t counter = 0;                    // guarded by mu

  static ASN1_INTEGER* next_serial(TS_RESP_CTX* ctx, void* data) {
    auto* self = static_cast<Impl*>(data);
    // 64 random bits chosen at start-up followed by a 64-bit counter: unique within a
    // process by the counter and across restarts by the random prefix.
    std::uint8_t raw[16];
    std::copy(self->serial_prefix.begin(), self->serial_prefix.end(), raw);
    std::uint64_t c = ++self->counter;
    for (int i = 0; i < 8; ++i) raw[15 - i] = static_cast<std::uint8_t>(c >> (8 * i));
    BIGNUM* bn = BN_bin2bn(raw, sizeof raw, nullptr);
    ASN1_INTEGER* out = bn ? BN_to_ASN1_INTEGER(bn, nullptr) : nullptr;
    BN_free(bn);
    if (!out) {
      TS_RESP_CTX_set_status_info(ctx, TS_STATUS_REJECTION, "could not allocate a serial number");
      TS_RESP_CTX_add_failure_info(ctx, TS_INFO_ADD_INFO_NOT_AVAILABLE);
    }
    return out;
  }
};

EmbeddedTsa::EmbeddedTsa(const Layout& layout) : impl_(std::make_unique<Impl>()) {
  auto& d = *impl_;
  d.cert_pem = ossl::read_small_file(layout.tsa_cert());
  d.ca_pem = ossl::read_small_file(layout.tsa_ca_cert());
  d.cert = read_cert(d.cert_pem, layout.tsa_cert().string());
  d.key = read_key(layout.tsa_key());
  Bytes prefix = random_bytes(d.serial_prefix.size());
  std::copy(prefix.begin(), prefix.end(), d.serial_prefix.begin());

  d.ctx.reset(ossl::check(TS_RESP_CTX_new(), "TS_RESP_CTX_new"));
  TS_RESP_CTX* ctx = d.ctx.get();
  // set_signer_cert also checks the certificate's critical timeStamping EKU.
  ossl::check(TS_RESP_CTX_set_signer_cert(ctx, d.cert.get()), "TSA certificate unusable for time stamping");
  ossl::check(TS_RESP_CTX_set_signer_key(ctx, d.key.get()), "TS_RESP_CTX_set_signer_key");
  if (X509_check_private_key(d.cert.get(), d.key.get()) != 1)
    throw ossl::crypto_error("tsa.key does not match tsa.pem");
  ossl::check(TS_RESP_CTX_set_signer_digest(ctx, EVP_sha256()), "TS_RESP_CTX_set_signer_digest");
  ossl::check(TS_RESP_CTX_set_ess_cert_id_digest(ctx, EVP_sha256()), "TS_RESP_CTX_set_ess_cert_id_digest");
  ossl::Asn1Obj policy(ossl::check(OBJ_txt2obj(kPolicyOid, 1), "policy OID"));
  ossl::check(TS_RESP_CTX_set_def_policy(ctx, policy.get()), "TS_RESP_CTX_set_def_policy");
  ossl::check(TS_RESP_CTX_add_md(ctx, EVP_sha256()), "TS_RESP_CTX_add_md");
  ossl::check(TS_RESP_CTX_set_accuracy(ctx, 1, 0, 0), "TS_RESP_CTX_set_accuracy");
  // Name the TSA in the token, so TS_VFY_SIGNER can tie the token to its certificate.
  TS_RESP_CTX_add_flags(ctx, TS_TSA_NAME);
  TS_RESP_CTX_set_serial_cb(ctx, &Impl::next_serial, impl_.get());
}

EmbeddedTsa::~EmbeddedTsa() = default;

Bytes EmbeddedTsa::stamp(const ContentId& digest) {
  auto req = build_request(digest, random_bytes(8));
  Bytes der = der_of_req(req.get());
  auto bio = ossl::mem_bio(as_chars(der));
  std::lock_guard lock(impl_->mu);
  ossl::TsResp resp(TS_RESP_create_response(impl_->ctx.get(), bio.get()));
  if (!resp) throw ossl::crypto_error("TS_RESP_create_response");
  granted_info(resp.get());
  return der_of_resp(resp.get());
}

std::string EmbeddedTsa::ca_pem() const { return impl_->ca_pem; }
std::string EmbeddedTsa::cert_pem() const { return impl_->cert_pem; }

Bytes make_request(const ContentId& digest, Bytes* nonce_out) {
  Bytes nonce = random_bytes(8);
  nonce[0] |= 0x01;  // never a leading zero byte, so the nonce round-trips as an INTEGER
  nonce[0] &= 0x7f;  // and never needs a sign byte
  auto req = build_request(digest, nonce);
  if (nonce_out) *nonce_out = nonce;
  return der_of_req(req.get());
}

void check_response(std::span<const std::uint8_t> response, const ContentId& digest,
                    std::span<const std::uint8_t> nonce) {
  auto resp = parse_resp(response);
  TS_TST_INFO* info = granted_info(resp.get());
  ContentId got = sha256_imprint(info);
  if (got != digest)
    throw Error(Errc::crypto, "time stamp imprint " + got.hex() + " does not match the digest sent " +
                                  digest.hex());
  const ASN1_INTEGER* n = TS_TST_INFO_get_nonce(info);
  if (!n) throw Error(Errc::crypto, "time stamp response carries no nonce");
  ossl::Bn want(ossl::check(BN_bin2bn(nonce.data(), static_cast<int>(nonce.size()), nullptr), "BN_bin2bn"));
  ossl::Bn have(ossl::check(ASN1_INTEGER_to_BN(n, nullptr), "ASN1_INTEGER_to_BN"));
  if (BN_cmp(want.get(), have.get()) != 0)
    throw Error(Errc::crypto, "time stamp nonce does not match the request");
}

TokenInfo inspect(std::span<const std::uint8_t> response) {
  auto resp = parse_resp(response);
  return info_of(resp.get());
}

TokenInfo verify(std::span<const std::uint8_t> response, const ContentId& digest,
                 const std::string& ca_pem, std::optional<long> at_time) {
  auto resp = parse_resp(response);
  TokenInfo info = info_of(resp.get());
  // Checked first and by us, so the caller learns "wrong content" apart from "bad
  // token"; TS_VFY_IMPRINT below repeats it inside OpenSSL.
  if (info.imprint != digest)
    throw Error(Errc::digest_mismatch, "time stamp covers sha256 " + info.imprint.hex() +
                                           " but the content is sha256 " + digest.hex());

  ossl::X509Store store(ossl::check(X509_STORE_new(), "X509_STORE_new"));
  auto bio = ossl::mem_bio(ca_pem);
  int added = 0;
  while (X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    ossl::X509Ptr cert(c);
    ossl::check(X509_STORE_add_cert(store.get(), cert.get()), "X509_STORE_add_cert");
    ++added;
  }
  ossl::drain_errors();  // the loop ends on a "no start line" error
  if (added == 0) throw Error(Errc::crypto, "no CA certificate in the trusted PEM");
  if (at_time) X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store.get()), static_cast<time_t>(*at_time));

  ossl::TsVerifyCtx ctx(ossl::check(TS_VERIFY_CTX_new(), "TS_VERIFY_CTX_new"));
  TS_VERIFY_CTX_set_flags(ctx.get(), TS_VFY_VERSION | TS_VFY_SIGNATURE | TS_VFY_SIGNER | TS_VFY_IMPRINT);
  TS_VERIFY_CTX_set_store(ctx.get(), store.release());  // the context owns it now
  auto* imprint = static_cast<unsigned char*>(OPENSSL_malloc(digest.bytes.size()));
  if (!imprint) throw ossl::crypto_error("OPENSSL_malloc");
  std::copy(digest.bytes.begin(), digest.bytes.end(), imprint);
  TS_VERIFY_CTX_set_imprint(ctx.get(), imprint, static_cast<long>(digest.bytes.size()));
  if (TS_RESP_verify_response(ctx.get(), resp.get()) != 1)
    throw ossl::crypto_error("time stamp token does not verify");
  return info;
}

}  // namespace evidence::tsa
