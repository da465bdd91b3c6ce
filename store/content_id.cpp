#include "store/content_id.h"

#include <openssl/evp.h>

#include <cstring>

#include "base/codec.h"
#include "base/error.h"

namespace evidence {

std::string ContentId::hex() const { return to_hex(bytes); }

std::optional<ContentId> ContentId::from_hex(std::string_view text) {
  if (text.size() != 64) return std::nullopt;
  auto b = evidence::from_hex(text);
  if (!b) return std::nullopt;
  return from_span(*b);
}

ContentId ContentId::from_span(std::span<const std::uint8_t> b) {
  if (b.size() != 32) throw Error(Errc::invalid_argument, "a content id is 32 bytes");
  ContentId id;
  std::memcpy(id.bytes.data(), b.data(), 32);
  return id;
}

struct Sha256::Ctx {
  EVP_MD_CTX* md = nullptr;
  ~Ctx() { EVP_MD_CTX_free(md); }
};

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) {
  ctx_->md = EVP_MD_CTX_new();
  if (!ctx_->md || EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr) != 1)
    throw Error(Errc::crypto, "EVP_DigestInit_ex(sha256) failed");
}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(std::span<const std::uint8_t> data) {
  if (!data.empty() && EVP_DigestUpdate(ctx_->md, data.data(), data.size()) != 1)
    throw Error(Errc::crypto, "EVP_DigestUpdate failed");
}
void Sha256::update(std::string_view data) { update(as_bytes(data)); }

ContentId Sha256::finish() {
  ContentId id;
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx_->md, id.bytes.data(), &len) != 1 || len != 32)
    throw Error(Errc::crypto, "EVP_DigestFinal_ex failed");
  return id;
}

ContentId Sha256::current() const {
  EVP_MD_CTX* copy = EVP_MD_CTX_new();
  ContentId id;
  unsigned int len = 0;
  bool ok = copy && EVP_MD_CTX_copy_ex(copy, ctx_->md) == 1 && EVP_DigestFinal_ex(copy, id.bytes.data(), &len) == 1 &&
            len == 32;
  EVP_MD_CTX_free(copy);
  if (!ok) throw Error(Errc::crypto, "SHA-256 of the bytes so far failed");
  return id;
}

ContentId Sha256::of(std::span<const std::uint8_t> data) {
  Sha256 h;
  h.update(data);
  return h.finish();
}
ContentId Sha256::of(std::string_view data) { return of(as_bytes(data)); }

struct Sha1::Ctx {
  EVP_MD_CTX* md = nullptr;
  ~Ctx() { EVP_MD_CTX_free(md); }
};

Sha1::Sha1() : ctx_(std::make_unique<Ctx>()) {
  ctx_->md = EVP_MD_CTX_new();
  if (!ctx_->md || EVP_DigestInit_ex(ctx_->md, EVP_sha1(), nullptr) != 1)
    throw Error(Errc::crypto, "EVP_DigestInit_ex(sha1) failed");
}
Sha1::~Sha1() = default;
Sha1::Sha1(Sha1&&) noexcept = default;
Sha1& Sha1::operator=(Sha1&&) noexcept = default;

void Sha1::update(std::span<const std::uint8_t> data) {
  if (!data.empty() && EVP_DigestUpdate(ctx_->md, data.data(), data.size()) != 1)
    throw Error(Errc::crypto, "EVP_DigestUpdate failed");
}

std::array<std::uint8_t, 20> Sha1::finish() {
  std::array<std::uint8_t, 20> out{};
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx_->md, out.data(), &len) != 1 || len != 20)
    throw Error(Errc::crypto, "EVP_DigestFinal_ex(sha1) failed");
  return out;
}

}  // namespace evidence
