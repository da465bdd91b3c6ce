// Opaque identifiers.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace evidence {

// A ULID (26 chars of Crockford base32: 48-bit milliseconds, 80 random bits):
// unique, URL-safe and sortable by creation time. Monotonic within one process.
std::string new_evidence_id();
bool is_evidence_id(std::string_view s);

// 128 random bits as 32 lowercase hex digits; for tus upload resources.
std::string new_upload_id();

// Case numbers are opaque UTF-8 data (1 to 128 bytes, valid UTF-8, no control
// characters: C0, DEL, C1). They may hold '/', spaces and CJK text and are never
// used as a path. Since 0.3 they must also be in Unicode NFC and hold no format
// characters (category Cf: zero-width spaces, BOM, bidi marks) and no line or
// paragraph separators, so two numbers that look alike are one number. They still
// round-trip byte for byte. Returns an explanation when invalid, empty when valid.
std::string case_number_problem(std::string_view c);

// The user name "system" is the daemon's own actor and cannot be given to a person.
inline constexpr std::string_view kSystemActor = "system";
// User names: as name_problem, plus NFC, no format characters or separators (as for
// case numbers), and not kSystemActor.
std::string user_name_problem(std::string_view name);

// Decodes the UTF-8 sequence at s[i] (i < s.size()): returns its code point and
// moves i past it, or returns -1 and leaves i alone when the sequence is malformed
// (overlong form, surrogate, beyond U+10FFFF, truncated).
long next_code_point(std::string_view s, std::size_t& i);

// Officer and device names: 1 to 256 bytes of valid UTF-8 without control characters.
std::string name_problem(std::string_view what, std::string_view s);

}  // namespace evidence
