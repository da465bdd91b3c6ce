// A case's timeline (DESIGN.md, "Case review: timeline, continuity, time provenance"):
// each item's interval, the union of what was recorded, the holes in it, and each
// item's clocks side by side. Served by GET /cases/{C}/timeline (ingest) and written
// into export bundles as timeline.json (bundle_write.cpp), so both are this one code.
//
// The rules, pure and testable on their own:
// - An item's interval starts at its recorded_at and lasts its probed media duration.
//   An item without one (not media, a still image, a failed probe) is an instant,
//   end == start. An item whose probe has not finished is an instant too, marked
//   "probing": its length is not guessed.
// - Coverage is the union of the intervals of positive length; intervals that touch
//   or overlap merge. Instants cover nothing, but do widen the span: a gap is a hole
//   in coverage of at least min_gap seconds between the first start and the last end.
// - A clock is suspect when recorded_at is after received_at, or differs from the
//   container's creation_time tag by more than kClockTolerance.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/timefmt.h"
#include "store/index.h"
#include "store/records.h"

namespace evidence::timeline {

inline constexpr std::chrono::minutes kClockTolerance{5};
// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z in Unix microseconds: the
// instants an RFC 3339 time in UTC can name. Ingest refuses a claim outside them; a
// timeline makes an item whose end would pass them an instant.
inline constexpr std::int64_t kFirstUs = -62'135'596'800'000'000;
inline constexpr std::int64_t kLastUs = 253'402'300'799'999'999;
constexpr bool in_range(std::int64_t us) { return us >= kFirstUs && us <= kLastUs; }
inline constexpr std::int64_t kDefaultMinGapUs = 5'000'000;

// Microseconds since the Unix epoch, [start_us, end_us]; end_us >= start_us.
struct Interval {
  std::int64_t start_us = 0;
  std::int64_t end_us = 0;
  bool operator==(const Interval&) const = default;
};

struct Continuity {
  std::vector<Interval> coverage;  // disjoint, in time order
  std::vector<Interval> gaps;      // holes of at least min_gap, in time order
};

// Coverage and gaps of `items` (any order). min_gap_us >= 0; a hole must also be
// longer than zero to be a gap. No items: both empty.
Continuity continuity(std::vector<Interval> items, std::int64_t min_gap_us);

// An item's clocks, as found.
struct ClockFacts {
  std::string recorded_at;                   // the recorder's claim, as sent
  std::string received_at;                   // ours, at receipt
  std::optional<std::string> creation_time;  // the container's tag, as found
  std::optional<std::string> tsa_time;       // the RFC 3161 token's genTime
};

struct ClockVerdict {
  bool suspect = false;
  // Why it is suspect, as codes: "recorded_after_receipt", "creation_time_mismatch".
  std::vector<std::string> reasons;
  // recorded_at minus creation_time, in seconds, when both could be read.
  std::optional<double> creation_offset_s;
};

ClockVerdict judge_clock(const ClockFacts& facts);

// A container's creation_time as a time: RFC 3339, and the forms cameras and FFmpeg
// write that differ from it only in spelling ("2026-03-02T08:00:00+0100", a space
// for the 'T'). nullopt when there is no time zone or it is not a date-time: a
// wall-clock time in an unknown zone is not compared.
std::optional<TimePoint> parse_tag_time(std::string_view text);

// {"recorded_at", "creation_time" (null: none), "received_at", "tsa_time" (null: no
// readable token), "clock_suspect", "reasons": [codes], "creation_offset_seconds"
// (null: not comparable)} of one item, from its record, its "media" derived value and
// its time-stamp token.
boost::json::object clock_json(const Index& index, const EvidenceRecord& record);

// {"case", "min_gap", "items": [{"evidence", "officer", "device", "start", "end",
// "probing", "clock"}] (start order, then id), "coverage": [{"start", "end"}],
// "gaps": [{"start", "end", "seconds"}], "probing": count of items still probing}.
// Times RFC 3339 UTC. Throws Error(not_found) when no item is linked to the case.
boost::json::object case_timeline(const Index& index, const std::string& case_number,
                                  std::int64_t min_gap_us = kDefaultMinGapUs);

}  // namespace evidence::timeline
