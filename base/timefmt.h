// RFC 3339 times. We store and answer UTC with millisecond precision
// ("2026-11-27T20:52:17.123Z"); we accept any RFC 3339 offset on input.
#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace evidence {

using Clock = std::chrono::system_clock;
using TimePoint = std::chrono::time_point<Clock, std::chrono::microseconds>;

TimePoint now_us();
std::string format_rfc3339(TimePoint t);  // UTC, milliseconds, 'Z'
// Full RFC 3339 date-time (section 5.6): date 'T' time, optional fraction, 'Z' or
// +hh:mm/-hh:mm. Lowercase 't'/'z' accepted as the RFC allows. nullopt when invalid.
std::optional<TimePoint> parse_rfc3339(std::string_view text);

// RFC 9110 HTTP-date in its preferred IMF-fixdate form ("Sun, 06 Nov 1994 08:49:37
// GMT"), whole seconds (the fraction is dropped). Day and month names are English
// whatever the process locale.
std::string format_http_date(TimePoint t);

// strftime(pattern) of a time in UTC, for the fixed formats other protocols name
// (S3's x-amz-date, Object Lock retain-until dates, a TSA token's genTime). The
// pattern must not use locale-dependent names (%a, %b).
std::string format_utc(std::chrono::sys_seconds t, const char* pattern);
std::string format_utc(const std::tm& utc, const char* pattern);

// Microseconds since the Unix epoch, for sortable index keys.
std::int64_t to_unix_us(TimePoint t);
TimePoint from_unix_us(std::int64_t us);

}  // namespace evidence
