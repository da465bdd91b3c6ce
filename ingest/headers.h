// Parsers for what a client controls in a request: header values (Upload-Metadata,
// Upload-Checksum, Content-Digest / Digest, Range, plain numbers) and the request
// target's path (segments, percent-decoding, route patterns).
//
// They are pure functions (no I/O, no daemon state) so that unit tests and the
// libFuzzer targets (fuzz/fuzz_http_*.cpp) reach exactly the code the daemon runs.
// Contract for every function here: any input gives a result or an HttpError with a
// 4xx status; never a crash, never another exception type.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/http.h"
#include "base/codec.h"
#include "store/content_id.h"

namespace evidence::ingest {

// A decimal number of at most 19 digits (so it fits in 64 bits); nullopt otherwise.
std::optional<std::uint64_t> parse_uint(std::string_view v);

// tus Upload-Metadata: "key base64,key2 base64,key3". Only the keys in `known` are
// kept (so a client cannot plant server-side fields such as evidence_id); a key
// without a value maps to "". Throws HttpError 400 when a value is not base64.
json::object parse_upload_metadata(std::string_view header, const std::vector<std::string_view>& known);

// tus checksum extension, Upload-Checksum: "sha1 BASE64" or "sha256 BASE64".
struct UploadChecksum {
  enum class Algorithm { sha1, sha256 } algorithm = Algorithm::sha256;
  Bytes digest;  // 20 or 32 bytes, matching the algorithm
};
// Throws HttpError 400 for any other form.
UploadChecksum parse_upload_checksum(std::string_view header);

// The sha-256 member of RFC 9530 Content-Digest ("sha-256=:BASE64:", rfc9530 =
// true) or of the older RFC 3230 Digest ("SHA-256=BASE64", rfc9530 = false). Other
// algorithms are ignored (nullopt when there is no sha-256 member); a sha-256 member
// that is not 32 bytes of base64 throws HttpError 400.
std::optional<ContentId> parse_digest_header(std::string_view header, bool rfc9530);

// A single "bytes=" range (RFC 9110 14.1.2) over content of `size` bytes.
struct ByteRange {
  std::uint64_t first = 0, last = 0;  // inclusive; first <= last < size
};
// nullopt: the header is to be ignored (serve the whole content); throws HttpError
// 416 (with Content-Range "bytes */size") when well formed but unsatisfiable.
std::optional<ByteRange> parse_range(std::string_view header, std::uint64_t size);

// Request-target paths. Segments stay percent-encoded until a pattern captures them,
// so an encoded "%2F" inside a case number never splits it.
std::vector<std::string_view> split_path(std::string_view path);
// Percent-decodes one segment; nullopt when the encoding is invalid.
std::optional<std::string> decode_segment(std::string_view segment);
// Matches encoded segments against a route pattern ("{}" one non-empty segment,
// "{+}" one or more, joined with '/'); on success `params` holds the decoded
// captures in order.
bool match_pattern(const std::vector<std::string_view>& pattern, const std::vector<std::string_view>& segments,
                   std::vector<std::string>& params);

// Percent-encoding (Boost.URL, upper-case hex) of UTF-8 text for an RFC 8187
// ext-value such as Content-Disposition's filename*. `unreserved` keeps only RFC 3986
// unreserved characters (as item file names are sent); `attr_char` keeps RFC 8187's
// attr-char set (as export case numbers are sent). Both decode to the same text.
enum class ExtValueKeep { unreserved, attr_char };
std::string percent_encode(std::string_view text, ExtValueKeep keep);

}  // namespace evidence::ingest
