// Disposition (DESIGN.md, "Lifecycle"): the request to dispose of items, decided by a
// second admin, and the tombstone a disposed item keeps. Engine-neutral value types
// with their encodings (store/format.h); the index stores them (LifecycleIndex,
// WriteTxn) and store/disposal.h carries a disposition out.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/codec.h"

namespace evidence {

// The tombstone of a disposed item: its record stays, its content goes.
struct Disposed {
  std::string at;           // RFC 3339 UTC, when the disposition was carried out
  std::string disposition;  // the Disposition's id
  std::string requested_by;
  std::string approved_by;
  std::string reason;

  bool operator==(const Disposed&) const = default;
  // v1: 0x01 {"at","disposition","requested_by","approved_by","reason"}
  Bytes encode() const;
  static Disposed decode(std::span<const std::uint8_t> bytes);  // throws corrupt
};

enum class DispositionState { pending, done, rejected };
const char* disposition_state_name(DispositionState s);
std::optional<DispositionState> parse_disposition_state(std::string_view s);

struct Disposition {
  std::string id;  // new_disposition_id()
  DispositionState state = DispositionState::pending;
  std::vector<std::string> items;  // evidence ids, as requested
  std::string reason;
  std::string requested_by;
  std::string requested_at;  // RFC 3339 UTC
  std::string decided_by;    // empty while pending
  std::string decided_at;    // empty while pending

  bool operator==(const Disposition&) const = default;
  // v1: 0x01 {"id","state","items","reason","requested_by","requested_at",
  //           "decided_by"?,"decided_at"?}
  Bytes encode() const;
  static Disposition decode(std::span<const std::uint8_t> bytes);  // throws corrupt
};

// A ULID, like evidence ids (sortable by creation time, so "newest first" is key
// order reversed). Distinct from evidence ids only by where it is used.
std::string new_disposition_id();
bool is_disposition_id(std::string_view s);

}  // namespace evidence
