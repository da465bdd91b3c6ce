#include "verify/cosignature.h"

#include "base/codec.h"
#include "base/error.h"

namespace evidence::note {

namespace {

constexpr std::string_view kSigPrefix = "\xE2\x80\x94 ";  // U+2014 and a space

}  // namespace

std::string cosigned_message(std::string_view body, std::uint64_t timestamp) {
  std::string m = "cosignature/v1\ntime " + std::to_string(timestamp) + "\n";
  m.append(body);
  return m;
}

std::string cosign(std::string_view body, std::string_view name, const Ed25519Key& key, std::uint64_t timestamp) {
  if (body.empty() || body.back() != '\n') throw Error(Errc::invalid_argument, "checkpoint body must end with a newline");
  if (timestamp > (std::uint64_t{1} << 63) - 1) throw Error(Errc::invalid_argument, "cosignature timestamp too large");
  const Verifier v = Verifier::for_key(std::string(name), key.public_key(), kTypeCosignatureV1);
  const auto sig = key.sign(as_bytes(cosigned_message(body, timestamp)));
  Bytes blob(v.key_id.begin(), v.key_id.end());
  for (int shift = 56; shift >= 0; shift -= 8) blob.push_back(static_cast<std::uint8_t>(timestamp >> shift));
  blob.insert(blob.end(), sig.begin(), sig.end());
  std::string line(kSigPrefix);
  line.append(name);
  line.push_back(' ');
  line.append(to_base64(blob));
  line.push_back('\n');
  return line;
}

Verifier cosigner_verifier(std::string name, const Ed25519Key& key) {
  return Verifier::for_key(std::move(name), key.public_key(), kTypeCosignatureV1);
}

std::string_view signature_lines(std::string_view note) {
  const auto split = note.rfind("\n\n");
  if (split == std::string_view::npos) return {};
  return note.substr(split + 2);
}

std::optional<std::uint64_t> verify_cosignature(std::string_view note, const Verifier& witness) {
  if (witness.type != kTypeCosignatureV1) return std::nullopt;
  const auto split = note.rfind("\n\n");
  if (split == std::string_view::npos) return std::nullopt;
  const std::string_view body = note.substr(0, split + 1);
  std::string_view sigs = note.substr(split + 2);
  if (sigs.empty() || sigs.back() != '\n') return std::nullopt;
  std::optional<std::uint64_t> found;
  while (!sigs.empty()) {
    const auto nl = sigs.find('\n');
    std::string_view line = sigs.substr(0, nl);
    sigs.remove_prefix(nl + 1);
    if (line.substr(0, kSigPrefix.size()) != kSigPrefix) return std::nullopt;
    line.remove_prefix(kSigPrefix.size());
    const auto sp = line.find(' ');
    if (sp == std::string_view::npos) return std::nullopt;
    if (line.substr(0, sp) != witness.name) continue;
    const auto blob = from_base64(line.substr(sp + 1));
    if (!blob || blob->size() < 4 || !std::equal(witness.key_id.begin(), witness.key_id.end(), blob->begin())) continue;
    // Our witness's key id: from here on a bad line is a forgery, not a stranger.
    if (blob->size() != 4 + 8 + 64) return std::nullopt;
    std::uint64_t ts = 0;
    for (int i = 0; i < 8; ++i) ts = (ts << 8) | (*blob)[4 + static_cast<std::size_t>(i)];
    if (ts > (std::uint64_t{1} << 63) - 1) return std::nullopt;
    const std::span<const std::uint8_t> sig(blob->data() + 12, 64);
    if (!ed25519_verify(witness.public_key, as_bytes(cosigned_message(body, ts)), sig)) return std::nullopt;
    found = ts;
  }
  return found;
}

const Verifier* repeated_witness(const std::vector<Verifier>& witnesses) {
  for (std::size_t i = 0; i < witnesses.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (witnesses[i].name == witnesses[j].name || witnesses[i].public_key == witnesses[j].public_key) {
        return &witnesses[i];
      }
    }
  }
  return nullptr;
}

}  // namespace evidence::note
