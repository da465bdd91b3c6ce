// Text encodings used at the edges: lowercase hex for content hashes (as sha256sum
// prints them) and standard base64 for proof hashes, signatures and tokens (as C2SP).
// base64 is OpenSSL's EVP_EncodeBlock/EVP_DecodeBlock, not hand-written.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace evidence {

using Bytes = std::vector<std::uint8_t>;

std::string to_hex(std::span<const std::uint8_t> bytes);
// Accepts upper or lower case; nullopt on odd length or a non-hex character.
std::optional<Bytes> from_hex(std::string_view text);

std::string to_base64(std::span<const std::uint8_t> bytes);
// Strict standard base64 with padding; nullopt on anything else.
std::optional<Bytes> from_base64(std::string_view text);
// Unpadded URL-safe base64 (RFC 4648 section 5), used for opaque ids.
std::string to_base64url(std::span<const std::uint8_t> bytes);

inline std::span<const std::uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
inline std::string_view as_chars(std::span<const std::uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// Cryptographically random bytes (OpenSSL RAND_bytes); throws Error(crypto) on failure.
Bytes random_bytes(std::size_t n);

}  // namespace evidence
