// RFC 3161 time stamps over content hashes, through OpenSSL's TS module.
//
// We keep and serve the whole TimeStampResp (DER), so that an outsider can run
//   openssl ts -verify -data FILE -in TOKEN.tsr -CAfile tsa-ca.pem
// with no other flags. Tokens embed the TSA certificate (ESSCertIDv2, SHA-256).
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "base/codec.h"
#include "store/content_id.h"
#include "store/layout.h"

namespace evidence::tsa {

// Anything that turns a SHA-256 digest into a granted TimeStampResp (DER).
class TimeStamper {
 public:
  virtual ~TimeStamper() = default;
  // Throws Error(unavailable) when an outside TSA cannot be reached or refuses,
  // Error(crypto) on a malformed or non-granted response.
  virtual Bytes stamp(const ContentId& digest) = 0;
};

// Creates the embedded TSA's material under layout.keys_dir(): a self-signed CA
// (tsa-ca.key, tsa-ca.pem) and an ECDSA P-256 TSA key and certificate (tsa.key,
// tsa.pem) issued by that CA, extendedKeyUsage timeStamping (critical), valid for
// 30 years (checks after expiry use `openssl ts -verify -attime`). Private keys 0600.
// Refuses (Error(already_exists)) to replace existing files.
void create_embedded_tsa(const Layout& layout, const std::string& organisation);

// The embedded TSA: OpenSSL TS_RESP_CTX with the TSA key and certificate. Serial
// numbers are 64 random bits plus a counter (unique across restarts). Thread-safe.
class EmbeddedTsa final : public TimeStamper {
 public:
  explicit EmbeddedTsa(const Layout& layout);  // loads tsa.key, tsa.pem, tsa-ca.pem
  ~EmbeddedTsa() override;
  Bytes stamp(const ContentId& digest) override;
  std::string ca_pem() const;
  std::string cert_pem() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// DER TimeStampReq for a SHA-256 digest, asking for the TSA certificate, with a
// random nonce (returned through `nonce_out` as bytes when given).
Bytes make_request(const ContentId& digest, Bytes* nonce_out = nullptr);
// Checks a response to make_request(): status granted, imprint and nonce match.
// Throws Error(crypto) naming what is wrong.
void check_response(std::span<const std::uint8_t> response, const ContentId& digest,
                    std::span<const std::uint8_t> nonce);

struct TokenInfo {
  std::string gen_time;  // RFC 3339 UTC
  std::string serial;    // hex
  std::string tsa_name;  // subject of the signing certificate, one line
  std::string policy;    // OID, dotted
  ContentId imprint;     // the message imprint (SHA-256)
};

// Reads a TimeStampResp without checking it.
TokenInfo inspect(std::span<const std::uint8_t> response);

// Full check as `openssl ts -verify` does: signature, the chain to `ca_pem`, the
// signer's timeStamping EKU, and that the imprint equals `digest`. `at_time` (Unix
// seconds) checks certificates at that time instead of now. Throws Error(crypto) with
// the reason, or Error(digest_mismatch) when the imprint differs (message names both).
TokenInfo verify(std::span<const std::uint8_t> response, const ContentId& digest,
                 const std::string& ca_pem, std::optional<long> at_time = std::nullopt);

}  // namespace evidence::tsa
