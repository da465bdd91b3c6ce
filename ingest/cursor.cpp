#include "ingest/cursor.h"

#include <openssl/evp.h>

#include <memory>

#include "base/error.h"
#include "store/ids.h"

namespace evidence::ingest {
namespace {

constexpr std::size_t kNonce = 12, kTag = 16;

struct CipherCtx {
  EVP_CIPHER_CTX* p = EVP_CIPHER_CTX_new();
  ~CipherCtx() { EVP_CIPHER_CTX_free(p); }
  CipherCtx() {
    if (!p) throw Error(Errc::crypto, "EVP_CIPHER_CTX_new");
  }
  CipherCtx(const CipherCtx&) = delete;
  CipherCtx& operator=(const CipherCtx&) = delete;
};

int len(std::size_t n) { return static_cast<int>(n); }

}  // namespace

CursorSealer::CursorSealer() : key_(random_bytes(32)) {}

std::string CursorSealer::seal(const std::string& position, const std::string& caller) const {
  const Bytes nonce = random_bytes(kNonce);
  Bytes out(kNonce + position.size() + kTag);
  std::copy(nonce.begin(), nonce.end(), out.begin());
  CipherCtx ctx;
  int n = 0;
  bool ok = EVP_EncryptInit_ex(ctx.p, EVP_aes_256_gcm(), nullptr, key_.data(), nonce.data()) == 1 &&
            EVP_EncryptUpdate(ctx.p, nullptr, &n, reinterpret_cast<const unsigned char*>(caller.data()),
                              len(caller.size())) == 1 &&
            EVP_EncryptUpdate(ctx.p, out.data() + kNonce, &n, reinterpret_cast<const unsigned char*>(position.data()),
                              len(position.size())) == 1 &&
            EVP_EncryptFinal_ex(ctx.p, out.data() + kNonce + n, &n) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.p, EVP_CTRL_GCM_GET_TAG, len(kTag), out.data() + kNonce + position.size()) == 1;
  if (!ok) throw Error(Errc::crypto, "sealing a search cursor failed");
  return to_hex(out);
}

std::optional<std::string> CursorSealer::open(const std::string& cursor, const std::string& caller) const {
  if (cursor.size() > 4096) return std::nullopt;
  const auto raw = from_hex(cursor);
  if (!raw || raw->size() < kNonce + kTag) return std::nullopt;
  const std::size_t body = raw->size() - kNonce - kTag;
  std::string position(body, '\0');
  Bytes tag(raw->end() - kTag, raw->end());
  CipherCtx ctx;
  int n = 0;
  bool ok = EVP_DecryptInit_ex(ctx.p, EVP_aes_256_gcm(), nullptr, key_.data(), raw->data()) == 1 &&
            EVP_DecryptUpdate(ctx.p, nullptr, &n, reinterpret_cast<const unsigned char*>(caller.data()),
                              len(caller.size())) == 1 &&
            EVP_DecryptUpdate(ctx.p, reinterpret_cast<unsigned char*>(position.data()), &n, raw->data() + kNonce,
                              len(body)) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.p, EVP_CTRL_GCM_SET_TAG, len(kTag), tag.data()) == 1 &&
            EVP_DecryptFinal_ex(ctx.p, reinterpret_cast<unsigned char*>(position.data()) + n, &n) == 1;
  if (!ok) return std::nullopt;
  return position;
}

}  // namespace evidence::ingest
