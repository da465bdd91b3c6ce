// Retention categories (DESIGN.md, "Lifecycle"): how long an item must be kept,
// counted from its received_at, or for ever. Engine-neutral value types and rules;
// the index stores the categories (LifecycleIndex, WriteTxn::put_retention_category).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/codec.h"

namespace evidence {

// The category every item has unless its upload or a later change named another.
inline constexpr std::string_view kDefaultCategory = "routine";

struct RetentionCategory {
  std::string name;
  // Days counted from received_at; nullopt: permanent (never due).
  std::optional<std::uint32_t> days;

  bool permanent() const { return !days.has_value(); }
  bool operator==(const RetentionCategory&) const = default;

  // v1: 0x01 {"name","days"} or 0x01 {"name","permanent":true} (store/format.h).
  Bytes encode() const;
  static RetentionCategory decode(std::span<const std::uint8_t> bytes);  // throws corrupt
};

// What `init` creates, and what an index opened without categories gets (migration):
// routine (180 days) and, permanent, evidence, obstruction, major_incident,
// complex_case (MPS 2016, Art. 13). In this order.
std::vector<RetentionCategory> default_retention_categories();

// Category names: 1 to 64 bytes of a-z, 0-9, '_' and '-', starting with a letter
// (they appear in URLs, custody details and reports). Returns an explanation when
// invalid, empty when valid.
std::string retention_name_problem(std::string_view name);

// The RFC 3339 UTC time after which an item received at `received_at` may be disposed
// of: received_at + days. nullopt when the category is permanent.
// Error(invalid_argument) when received_at is not RFC 3339.
std::optional<std::string> retain_until(std::string_view received_at, const RetentionCategory& category);

}  // namespace evidence
