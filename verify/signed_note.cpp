#include "verify/signed_note.h"

#include <openssl/crypto.h>
#include <openssl/pem.h>

#include <charconv>

#include "store/blob_store.h"
#include "store/content_id.h"
#include "verify/openssl_util.h"

namespace evidence::note {

namespace {

// U+2014 EM DASH followed by a space starts every signature line.
constexpr std::string_view kSigPrefix = "\xE2\x80\x94 ";
// C2SP lets a verifier stop after this many signature lines (as the Go reference does).
constexpr std::size_t kMaxSignatures = 100;

// Valid UTF-8 with no ASCII control characters except '\n' (C2SP signed-note text
// and signature lines).
bool valid_note_chars(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if ((c < 0x20 && c != '\n') || c == 0x7f) return false;
      ++i;
      continue;
    }
    std::size_t len;
    std::uint32_t cp;
    if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; }
    else return false;
    if (i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Reject overlong forms, surrogates and values beyond U+10FFFF.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
      return false;
    i += len;
  }
  return true;
}

}  // namespace

bool valid_key_name(std::string_view name) {
  if (name.empty() || !valid_note_chars(name)) return false;
  for (char c : name)
    if (c == '+' || c == ' ' || c == '\n' || c == '\t') return false;
  return true;
}

namespace {

std::array<std::uint8_t, 4> compute_key_id(std::string_view name, const std::array<std::uint8_t, 32>& public_key,
                                           std::uint8_t type = kTypeEd25519) {
  Sha256 h;
  h.update(name);
  const std::uint8_t sep[2] = {0x0A, type};
  h.update(std::span<const std::uint8_t>(sep, 2));
  h.update(std::span<const std::uint8_t>(public_key));
  ContentId d = h.finish();
  return {d.bytes[0], d.bytes[1], d.bytes[2], d.bytes[3]};
}

}  // namespace

struct Ed25519Key::Impl {
  ossl::Pkey pkey;
};

Ed25519Key::Ed25519Key(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Ed25519Key::Ed25519Key(Ed25519Key&&) noexcept = default;
Ed25519Key& Ed25519Key::operator=(Ed25519Key&&) noexcept = default;
Ed25519Key::~Ed25519Key() = default;

Ed25519Key Ed25519Key::generate() {
  ossl::PkeyCtx ctx(ossl::check(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr), "EVP_PKEY_CTX_new_id"));
  ossl::check(EVP_PKEY_keygen_init(ctx.get()), "EVP_PKEY_keygen_init");
  EVP_PKEY* raw = nullptr;
  ossl::check(EVP_PKEY_keygen(ctx.get(), &raw), "Ed25519 key generation");
  auto impl = std::make_unique<Impl>();
  impl->pkey.reset(raw);
  return Ed25519Key(std::move(impl));
}

Ed25519Key Ed25519Key::load(const std::filesystem::path& pem_file) {
  std::string pem = ossl::read_small_file(pem_file);
  auto bio = ossl::mem_bio(pem);
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  OPENSSL_cleanse(pem.data(), pem.size());
  if (!raw) throw ossl::crypto_error("reading Ed25519 private key " + pem_file.string());
  ossl::Pkey pkey(raw);
  if (EVP_PKEY_get_base_id(raw) != EVP_PKEY_ED25519)
    throw Error(Errc::crypto, pem_file.string() + " is not an Ed25519 private key");
  auto impl = std::make_unique<Impl>();
  impl->pkey = std::move(pkey);
  return Ed25519Key(std::move(impl));
}

void Ed25519Key::save(const std::filesystem::path& pem_file) const {
  ossl::Bio bio(ossl::check(BIO_new(BIO_s_secmem()), "BIO_new"));
  // PEM_write_bio_PrivateKey writes PKCS#8 ("BEGIN PRIVATE KEY"), unencrypted: the
  // file's 0600 mode is the protection, as for any daemon key.
  ossl::check(PEM_write_bio_PrivateKey(bio.get(), impl_->pkey.get(), nullptr, nullptr, 0, nullptr,
                                       nullptr),
              "PEM_write_bio_PrivateKey");
  std::string pem = ossl::bio_string(bio.get());
  try {
    write_file_durably(pem_file, as_bytes(pem), 0600, /*exclusive=*/true);
  } catch (...) {
    OPENSSL_cleanse(pem.data(), pem.size());
    throw;
  }
  OPENSSL_cleanse(pem.data(), pem.size());
}

std::array<std::uint8_t, 32> Ed25519Key::public_key() const {
  std::array<std::uint8_t, 32> out{};
  std::size_t len = out.size();
  ossl::check(EVP_PKEY_get_raw_public_key(impl_->pkey.get(), out.data(), &len),
              "EVP_PKEY_get_raw_public_key");
  if (len != out.size()) throw Error(Errc::crypto, "Ed25519 public key has the wrong length");
  return out;
}

std::array<std::uint8_t, 64> Ed25519Key::sign(std::span<const std::uint8_t> message) const {
  ossl::MdCtx ctx(ossl::check(EVP_MD_CTX_new(), "EVP_MD_CTX_new"));
  // Ed25519 is "pure": no separate digest, so the md argument is NULL.
  ossl::check(EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, impl_->pkey.get()),
              "EVP_DigestSignInit");
  std::array<std::uint8_t, 64> sig{};
  std::size_t len = sig.size();
  ossl::check(EVP_DigestSign(ctx.get(), sig.data(), &len, message.data(), message.size()),
              "Ed25519 signing");
  if (len != sig.size()) throw Error(Errc::crypto, "Ed25519 signature has the wrong length");
  return sig;
}

bool ed25519_verify(const std::array<std::uint8_t, 32>& public_key,
                    std::span<const std::uint8_t> message, std::span<const std::uint8_t> signature) {
  if (signature.size() != 64) return false;
  ossl::Pkey pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, public_key.data(),
                                              public_key.size()));
  if (!pkey) {
    ossl::drain_errors();
    return false;
  }
  ossl::MdCtx ctx(ossl::check(EVP_MD_CTX_new(), "EVP_MD_CTX_new"));
  bool ok = EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) == 1 &&
            EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(),
                             message.size()) == 1;
  ossl::drain_errors();
  return ok;
}

Verifier Verifier::for_key(std::string name, const std::array<std::uint8_t, 32>& public_key, std::uint8_t type) {
  if (!valid_key_name(name)) throw Error(Errc::invalid_argument, "invalid note key name: " + name);
  if (type != kTypeEd25519 && type != kTypeCosignatureV1)
    throw Error(Errc::invalid_argument, "unknown verifier key type " + std::to_string(type));
  Verifier v;
  v.type = type;
  v.key_id = compute_key_id(name, public_key, type);
  v.public_key = public_key;
  v.name = std::move(name);
  return v;
}

std::optional<Verifier> Verifier::parse(std::string_view vkey) {
  auto p1 = vkey.find('+');
  if (p1 == std::string_view::npos) return std::nullopt;
  auto p2 = vkey.find('+', p1 + 1);
  if (p2 == std::string_view::npos) return std::nullopt;
  std::string_view name = vkey.substr(0, p1);
  std::string_view id_hex = vkey.substr(p1 + 1, p2 - p1 - 1);
  std::string_view key_b64 = vkey.substr(p2 + 1);
  if (!valid_key_name(name) || id_hex.size() != 8) return std::nullopt;
  auto id = from_hex(id_hex);
  auto key = from_base64(key_b64);
  if (!id || !key || key->size() != 33 || ((*key)[0] != kTypeEd25519 && (*key)[0] != kTypeCosignatureV1))
    return std::nullopt;
  Verifier v;
  v.name = std::string(name);
  v.type = (*key)[0];
  std::copy(key->begin() + 1, key->end(), v.public_key.begin());
  v.key_id = compute_key_id(v.name, v.public_key, v.type);
  if (!std::equal(v.key_id.begin(), v.key_id.end(), id->begin())) return std::nullopt;
  return v;
}

std::string Verifier::to_string() const {
  Bytes key;
  key.reserve(33);
  key.push_back(type);
  key.insert(key.end(), public_key.begin(), public_key.end());
  return name + "+" + to_hex(key_id) + "+" + to_base64(key);
}

std::string sign(std::string_view text, std::string_view name, const Ed25519Key& key) {
  if (text.empty() || text.back() != '\n')
    throw Error(Errc::invalid_argument, "note text must be non-empty and end with a newline");
  if (!valid_note_chars(text))
    throw Error(Errc::invalid_argument, "note text must be UTF-8 without control characters");
  // A blank line inside the text would let a reader split the note in the wrong place
  // (Go's note.Open and others split at the last blank line).
  if (text.find("\n\n") != std::string_view::npos)
    throw Error(Errc::invalid_argument, "note text must not contain blank lines");
  if (!valid_key_name(name)) throw Error(Errc::invalid_argument, "invalid note key name");
  auto pub = key.public_key();
  auto id = compute_key_id(name, pub);
  auto sig = key.sign(as_bytes(text));
  Bytes blob(id.begin(), id.end());
  blob.insert(blob.end(), sig.begin(), sig.end());
  std::string out;
  out.reserve(text.size() + name.size() + 128);
  out.append(text);
  out.push_back('\n');
  out.append(kSigPrefix);
  out.append(name);
  out.push_back(' ');
  out.append(to_base64(blob));
  out.push_back('\n');
  return out;
}

std::optional<std::string> open(std::string_view note, const Verifier& verifier) {
  if (verifier.type != kTypeEd25519 || !valid_note_chars(note)) return std::nullopt;
  // The signature block is everything after the last blank line.
  auto split = note.rfind("\n\n");
  if (split == std::string_view::npos) return std::nullopt;
  std::string_view text = note.substr(0, split + 1);
  std::string_view sigs = note.substr(split + 2);
  if (sigs.empty() || sigs.back() != '\n') return std::nullopt;

  bool verified = false;
  std::size_t count = 0;
  while (!sigs.empty()) {
    auto nl = sigs.find('\n');
    std::string_view line = sigs.substr(0, nl);
    sigs.remove_prefix(nl + 1);
    if (++count > kMaxSignatures) return std::nullopt;
    if (line.substr(0, kSigPrefix.size()) != kSigPrefix) return std::nullopt;
    line.remove_prefix(kSigPrefix.size());
    auto sp = line.find(' ');
    if (sp == std::string_view::npos) return std::nullopt;
    std::string_view name = line.substr(0, sp);
    auto blob = from_base64(line.substr(sp + 1));
    if (!valid_key_name(name) || !blob || blob->size() < 5) return std::nullopt;
    // Lines by keys we do not know are skipped: a note may carry cosignatures.
    if (name != verifier.name || !std::equal(verifier.key_id.begin(), verifier.key_id.end(),
                                             blob->begin()))
      continue;
    std::span<const std::uint8_t> sig(blob->data() + 4, blob->size() - 4);
    // A line that claims our key but does not verify makes the whole note invalid:
    // it is a forgery or corruption, not an unknown cosigner.
    if (!ed25519_verify(verifier.public_key, as_bytes(text), sig)) return std::nullopt;
    verified = true;
  }
  if (!verified) return std::nullopt;
  return std::string(text);
}

std::string Checkpoint::body() const {
  if (origin.empty() || origin.find('\n') != std::string::npos)
    throw Error(Errc::invalid_argument, "checkpoint origin must be one non-empty line");
  std::string out = origin + "\n" + std::to_string(size) + "\n" + to_base64(root) + "\n";
  for (const auto& ext : extensions) {
    if (ext.empty() || ext.find('\n') != std::string::npos)
      throw Error(Errc::invalid_argument, "checkpoint extension lines must be non-empty lines");
    out += ext;
    out += '\n';
  }
  return out;
}

std::optional<Checkpoint> Checkpoint::parse(std::string_view body) {
  if (body.empty() || body.back() != '\n') return std::nullopt;
  std::vector<std::string_view> lines;
  while (!body.empty()) {
    auto nl = body.find('\n');
    lines.push_back(body.substr(0, nl));
    body.remove_prefix(nl + 1);
  }
  if (lines.size() < 3 || lines[0].empty()) return std::nullopt;
  Checkpoint cp;
  cp.origin = std::string(lines[0]);
  // Decimal without sign or leading zeros, so every size has exactly one spelling.
  std::string_view sz = lines[1];
  if (sz.empty() || (sz.size() > 1 && sz[0] == '0')) return std::nullopt;
  for (char c : sz)
    if (c < '0' || c > '9') return std::nullopt;
  auto [ptr, ec] = std::from_chars(sz.data(), sz.data() + sz.size(), cp.size);
  if (ec != std::errc() || ptr != sz.data() + sz.size()) return std::nullopt;
  auto root = from_base64(lines[2]);
  if (!root || root->size() != cp.root.size()) return std::nullopt;
  std::copy(root->begin(), root->end(), cp.root.begin());
  for (std::size_t i = 3; i < lines.size(); ++i) {
    if (lines[i].empty()) return std::nullopt;
    cp.extensions.emplace_back(lines[i]);
  }
  return cp;
}

}  // namespace evidence::note
