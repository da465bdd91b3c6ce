// Content identity: the SHA-256 of the exact bytes received. A type of its own (32
// bytes), never a string inside the code; hex appears only at the edges.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace evidence {

struct ContentId {
  std::array<std::uint8_t, 32> bytes{};

  std::string hex() const;
  // 64 hex digits (either case); nullopt otherwise.
  static std::optional<ContentId> from_hex(std::string_view text);
  static ContentId from_span(std::span<const std::uint8_t> b);  // b.size() must be 32

  auto operator<=>(const ContentId&) const = default;
};

// Streaming SHA-256 over OpenSSL EVP. Move-only; update() any number of times, then
// finish() once. current() may be called at any time before finish().
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(std::span<const std::uint8_t> data);
  void update(std::string_view data);
  ContentId finish();
  // The digest of the bytes so far, without ending the stream (update() may go on).
  ContentId current() const;

  // One-shot helpers.
  static ContentId of(std::span<const std::uint8_t> data);
  static ContentId of(std::string_view data);

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

// Streaming SHA-1, for tus's `Upload-Checksum: sha1` only; never for identity.
class Sha1 {
 public:
  Sha1();
  ~Sha1();
  Sha1(Sha1&&) noexcept;
  Sha1& operator=(Sha1&&) noexcept;
  void update(std::span<const std::uint8_t> data);
  std::array<std::uint8_t, 20> finish();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

}  // namespace evidence
