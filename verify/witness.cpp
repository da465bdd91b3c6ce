#include "verify/witness.h"

#include <charconv>
#include <optional>
#include <vector>

#include "base/codec.h"
#include "verify/cosignature.h"
#include "verify/merkle_verify.h"

namespace evidence::witness {

namespace {

Answer fail(int status, std::string why) {
  Answer a;
  a.status = status;
  a.body = std::move(why) + "\n";
  return a;
}

Answer conflict(std::uint64_t latest) {
  Answer a;
  a.status = 409;
  a.content_type = "text/x.tlog.size";
  a.body = std::to_string(latest) + "\n";
  return a;
}

// ASCII decimal without sign or leading zeros ("0" alone for zero).
std::optional<std::uint64_t> parse_size(std::string_view s) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  std::uint64_t v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

Answer add_checkpoint(std::string_view request, WitnessState& state, const note::Ed25519Key& key,
                      std::uint64_t now) {
  // --- the request's shape: "old N\n", proof lines, "\n", the checkpoint note.
  auto take_line = [&request]() -> std::optional<std::string_view> {
    const auto nl = request.find('\n');
    if (nl == std::string_view::npos) return std::nullopt;
    auto line = request.substr(0, nl);
    request.remove_prefix(nl + 1);
    return line;
  };
  const auto first = take_line();
  if (!first || first->substr(0, 4) != "old ") return fail(400, "the body must start with an \"old N\" line");
  const auto old_size = parse_size(first->substr(4));
  if (!old_size) return fail(400, "the old size must be a decimal without leading zeros");
  std::vector<merkle::Hash> proof;
  for (;;) {
    const auto line = take_line();
    if (!line) return fail(400, "no blank line before the checkpoint");
    if (line->empty()) break;
    if (proof.size() == kMaxProofLines) return fail(400, "more than 63 consistency proof lines");
    const auto h = from_base64(*line);
    merkle::Hash hash{};
    if (!h || h->size() != hash.size()) return fail(400, "a proof line is not a base64 SHA-256 hash");
    std::copy(h->begin(), h->end(), hash.begin());
    proof.push_back(hash);
  }
  const std::string_view signed_note = request;
  const auto origin_end = signed_note.find('\n');
  if (origin_end == std::string_view::npos || origin_end == 0) return fail(400, "no checkpoint after the blank line");
  const std::string origin(signed_note.substr(0, origin_end));

  // --- the log and its signature.
  WitnessedLog* log = state.find(origin);
  if (!log) return fail(404, "unknown log origin: " + origin);
  std::optional<std::string> text;
  for (const auto& vkey : log->keys) {
    const auto v = note::Verifier::parse(vkey);
    if (v && (text = note::open(signed_note, *v))) break;
  }
  if (!text) return fail(403, "no signature on the checkpoint verifies with this log's keys");
  const auto cp = note::Checkpoint::parse(*text);
  if (!cp || cp->origin != origin) return fail(400, "the signed text is not a checkpoint");

  // --- consistency with what this witness cosigned before.
  if (*old_size > cp->size) return fail(400, "old size " + std::to_string(*old_size) + " is above the checkpoint's size");
  if (*old_size != log->size) return conflict(log->size);
  merkle::Hash old_root = merkle::empty_root();
  if (log->size > 0) {
    const auto r = from_base64(log->root);
    if (!r || r->size() != old_root.size()) return fail(400, "the witness's stored root for this log is unreadable");
    std::copy(r->begin(), r->end(), old_root.begin());
  }
  if (*old_size == cp->size && old_root != cp->root) return conflict(log->size);
  if (*old_size == 0 && !proof.empty()) return fail(422, "a proof from size 0 must be empty");
  if (!merkle::verify_consistency(*old_size, cp->size, old_root, cp->root, proof))
    return fail(422, "the consistency proof from size " + std::to_string(*old_size) + " does not verify");

  // --- record it, then cosign.
  Answer a;
  a.state_changed = cp->size != log->size || log->checkpoint.empty();
  log->size = cp->size;
  log->root = to_base64(cp->root);
  log->checkpoint = std::string(signed_note);
  a.body = note::cosign(*text, state.name, key, now);
  return a;
}

}  // namespace evidence::witness
