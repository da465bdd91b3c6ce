// C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys, and the C2SP
// tlog-checkpoint body they carry. OpenSSL does all the cryptography.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/codec.h"
#include "store/merkle.h"

namespace evidence::note {

// An Ed25519 private key (move-only RAII over EVP_PKEY).
class Ed25519Key {
 public:
  static Ed25519Key generate();
  // PEM (PKCS#8) on disk. save() writes durably with mode 0600 and refuses to replace
  // an existing file (Error(already_exists)).
  static Ed25519Key load(const std::filesystem::path& pem_file);
  void save(const std::filesystem::path& pem_file) const;

  std::array<std::uint8_t, 32> public_key() const;
  std::array<std::uint8_t, 64> sign(std::span<const std::uint8_t> message) const;

  Ed25519Key(Ed25519Key&&) noexcept;
  Ed25519Key& operator=(Ed25519Key&&) noexcept;
  ~Ed25519Key();

 private:
  struct Impl;
  explicit Ed25519Key(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

bool ed25519_verify(const std::array<std::uint8_t, 32>& public_key,
                    std::span<const std::uint8_t> message, std::span<const std::uint8_t> signature);

// Signature types of a verifier key: an Ed25519 note signature, and an Ed25519
// C2SP tlog-cosignature/v1 (a witness's key; verify/cosignature.h).
constexpr std::uint8_t kTypeEd25519 = 0x01;
constexpr std::uint8_t kTypeCosignatureV1 = 0x04;

// A key name: non-empty, no '+', no whitespace, no control characters (C2SP).
bool valid_key_name(std::string_view name);

// A verifier: name, type, 4-byte key id and public key. Key id = first 4 bytes of
// SHA-256(name || 0x0A || type || public key).
struct Verifier {
  std::string name;
  std::uint8_t type = kTypeEd25519;
  std::array<std::uint8_t, 4> key_id{};
  std::array<std::uint8_t, 32> public_key{};

  static Verifier for_key(std::string name, const std::array<std::uint8_t, 32>& public_key,
                          std::uint8_t type = kTypeEd25519);
  // "<name>+<hex key id>+<base64(type || public key)>" with type 0x01 or 0x04; nullopt
  // when malformed or when the key id does not match.
  static std::optional<Verifier> parse(std::string_view vkey);
  std::string to_string() const;
};

// Signs `text` (must be non-empty and end with '\n'): returns
// text + "\n" + "— <name> <base64(key id || signature)>\n".
std::string sign(std::string_view text, std::string_view name, const Ed25519Key& key);

// Splits a note into its text and signature lines and checks that at least one
// signature line is by `verifier` (a type 0x01 key) and valid. Returns the text (ending in '\n') on
// success; nullopt for a malformed note or no valid signature by this verifier.
std::optional<std::string> open(std::string_view note, const Verifier& verifier);

// C2SP tlog-checkpoint body: origin line, decimal tree size, base64 root hash, then
// optional extension lines; each line ends in '\n'.
struct Checkpoint {
  std::string origin;
  std::uint64_t size = 0;
  merkle::Hash root{};
  std::vector<std::string> extensions;

  std::string body() const;
  static std::optional<Checkpoint> parse(std::string_view body);
};

}  // namespace evidence::note
