// Internal to verify/: RAII handles over OpenSSL objects, one place that turns the
// OpenSSL error queue into evidence::Error, and small file helpers for key material.
// Not part of the public surface; only verify/*.cpp include it.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ts.h>
#include <openssl/x509.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "base/codec.h"
#include "base/error.h"

namespace evidence::ossl {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const noexcept { Free(p); }
};
template <typename T, void (*Free)(T*)>
using Handle = std::unique_ptr<T, Deleter<T, Free>>;

inline void free_bio(BIO* b) { BIO_free_all(b); }
inline void free_x509_stack(STACK_OF(X509) * s) { sk_X509_pop_free(s, X509_free); }

using Pkey = Handle<EVP_PKEY, EVP_PKEY_free>;
using PkeyCtx = Handle<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using MdCtx = Handle<EVP_MD_CTX, EVP_MD_CTX_free>;
using Bio = Handle<BIO, free_bio>;
using Bn = Handle<BIGNUM, BN_free>;
using X509Ptr = Handle<X509, X509_free>;
using X509Stack = Handle<STACK_OF(X509), free_x509_stack>;
using X509Store = Handle<X509_STORE, X509_STORE_free>;
using X509Name = Handle<X509_NAME, X509_NAME_free>;
using X509Ext = Handle<X509_EXTENSION, X509_EXTENSION_free>;
using X509Algor = Handle<X509_ALGOR, X509_ALGOR_free>;
using Asn1Int = Handle<ASN1_INTEGER, ASN1_INTEGER_free>;
using Asn1Obj = Handle<ASN1_OBJECT, ASN1_OBJECT_free>;
using TsReq = Handle<TS_REQ, TS_REQ_free>;
using TsResp = Handle<TS_RESP, TS_RESP_free>;
using TsMsgImprint = Handle<TS_MSG_IMPRINT, TS_MSG_IMPRINT_free>;
using TsRespCtx = Handle<TS_RESP_CTX, TS_RESP_CTX_free>;
using TsVerifyCtx = Handle<TS_VERIFY_CTX, TS_VERIFY_CTX_free>;

// Drains OpenSSL's (thread-local) error queue into a readable suffix.
inline std::string drain_errors() {
  std::string out;
  unsigned long e;
  char buf[256];
  while ((e = ERR_get_error()) != 0) {
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

// Error(crypto) for a failed OpenSSL call; `what` names the operation.
inline Error crypto_error(const std::string& what) {
  std::string detail = drain_errors();
  return Error(Errc::crypto, detail.empty() ? what : what + ": " + detail);
}

template <typename T>
T* check(T* p, const char* what) {
  if (!p) throw crypto_error(what);
  return p;
}
inline void check(int rc, const char* what) {
  if (rc <= 0) throw crypto_error(what);
}

// Contents of a memory BIO.
inline std::string bio_string(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data ? data : "", n > 0 ? static_cast<std::size_t>(n) : 0);
}

inline Bio mem_bio(std::string_view data) {
  return Bio(check(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())), "BIO_new_mem_buf"));
}

// Reads a small file (keys, certificates, names) whole.
inline std::string read_small_file(const std::filesystem::path& p) {
  std::error_code ec;
  if (!std::filesystem::exists(p, ec)) throw Error(Errc::not_found, "missing " + p.string());
  std::ifstream in(p, std::ios::binary);
  if (!in) throw Error(Errc::io_error, "cannot open " + p.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error(Errc::io_error, "cannot read " + p.string());
  return ss.str();
}

}  // namespace evidence::ossl
