// A case's timeline: intervals, coverage, gaps and clocks (see timeline.h for the rules).
#include "verify/timeline.h"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <cmath>
#include <exception>

#include "base/error.h"
#include "verify/tsa.h"

namespace evidence::timeline {

namespace json = boost::json;

Continuity continuity(std::vector<Interval> items, std::int64_t min_gap_us) {
  Continuity out;
  if (items.empty()) return out;
  std::sort(items.begin(), items.end(),
            [](const Interval& a, const Interval& b) { return a.start_us < b.start_us; });
  const std::int64_t first = items.front().start_us;
  std::int64_t last = first;
  for (const auto& i : items) {
    last = std::max(last, i.end_us);
    if (i.end_us <= i.start_us) continue;  // an instant covers nothing
    if (!out.coverage.empty() && i.start_us <= out.coverage.back().end_us) {
      out.coverage.back().end_us = std::max(out.coverage.back().end_us, i.end_us);
    } else {
      out.coverage.push_back(i);
    }
  }
  // Holes: from the first start to the first coverage, between coverages, and from the
  // last coverage to the last end (instants widen the span).
  std::int64_t at = first;
  auto hole = [&out, min_gap_us](std::int64_t from, std::int64_t to) {
    if (to > from && to - from >= min_gap_us) out.gaps.push_back({from, to});
  };
  for (const auto& c : out.coverage) {
    hole(at, c.start_us);
    at = c.end_us;
  }
  hole(at, last);
  return out;
}

std::optional<TimePoint> parse_tag_time(std::string_view text) {
  if (auto t = parse_rfc3339(text)) return t;  // which takes a space for the 'T' too
  // A numeric offset without its colon, after the seconds: "+0100" -> "+01:00".
  std::string s(text);
  if (s.size() >= 24) {
    const std::size_t z = s.size() - 5;
    const bool digits = std::all_of(s.begin() + static_cast<std::ptrdiff_t>(z) + 1, s.end(),
                                    [](char c) { return c >= '0' && c <= '9'; });
    if ((s[z] == '+' || s[z] == '-') && digits) return parse_rfc3339(s.insert(z + 3, ":"));
  }
  return std::nullopt;
}

ClockVerdict judge_clock(const ClockFacts& facts) {
  ClockVerdict v;
  const auto recorded = parse_rfc3339(facts.recorded_at);
  const auto received = parse_rfc3339(facts.received_at);
  if (recorded && received && *recorded > *received) v.reasons.emplace_back("recorded_after_receipt");
  if (recorded && facts.creation_time) {
    if (const auto created = parse_tag_time(*facts.creation_time)) {
      const auto offset = *recorded - *created;
      v.creation_offset_s = static_cast<double>(offset.count()) / 1e6;
      const auto tolerance = std::chrono::duration_cast<std::chrono::microseconds>(kClockTolerance);
      if (offset > tolerance || offset < -tolerance) v.reasons.emplace_back("creation_time_mismatch");
    }
  }
  v.suspect = !v.reasons.empty();
  return v;
}

namespace {

// The kind under which the media jobs (ingest/media_jobs.h, kMediaKind) keep an item's
// probe, in verify/media/probe.h's to_json shape. Read here as plain JSON: linking the
// media library would bring libav into every program that reads bundles.
constexpr const char* kMediaKind = "media";

struct MediaFacts {
  bool probed = false;                       // a "media" value is stored
  std::optional<double> duration;            // seconds, > 0
  std::optional<std::string> creation_time;  // tags.creation_time
};

MediaFacts media_facts(const Index& index, const std::string& id) {
  MediaFacts f;
  const auto stored = index.get_derived(kMediaKind, id);
  if (!stored) return f;
  f.probed = true;
  boost::system::error_code ec;
  const json::value v = json::parse(*stored, ec);
  const json::object* o = ec ? nullptr : v.if_object();
  if (!o || o->contains("error")) return f;  // not media, or unreadable: an instant
  if (const auto* d = o->if_contains("duration"); d && d->is_number()) {
    const double s = d->to_number<double>();
    // A hostile container may claim any length: one beyond about three years is not a
    // recording's, and would overflow the microsecond arithmetic; such an item is an instant.
    if (std::isfinite(s) && s > 0 && s < 1e8) f.duration = s;
  }
  if (const auto* tags = o->if_contains("tags"); tags && tags->is_object()) {
    if (const auto* c = tags->as_object().if_contains("creation_time"); c && c->is_string()) {
      f.creation_time = std::string(c->as_string());
    }
  }
  return f;
}

std::optional<std::string> tsa_time(const Index& index, const std::string& id) {
  const auto token = index.timestamp_token(id);
  if (!token) return std::nullopt;
  try {
    return tsa::inspect(*token).gen_time;
  } catch (const std::exception&) {
    return std::nullopt;  // the audit names a damaged token; here it is only absent
  }
}

json::value opt_string(const std::optional<std::string>& s) { return s ? json::value(*s) : json::value(nullptr); }

json::object clock_of(const Index& index, const EvidenceRecord& rec, const MediaFacts& media) {
  ClockFacts facts{rec.recorded_at, rec.received_at, media.creation_time, tsa_time(index, rec.id)};
  const ClockVerdict v = judge_clock(facts);
  json::object o;
  o["recorded_at"] = facts.recorded_at;
  o["creation_time"] = opt_string(facts.creation_time);
  o["received_at"] = facts.received_at;
  o["tsa_time"] = opt_string(facts.tsa_time);
  o["clock_suspect"] = v.suspect;
  json::array reasons;
  for (const auto& r : v.reasons) reasons.emplace_back(r);
  o["reasons"] = std::move(reasons);
  o["creation_offset_seconds"] = v.creation_offset_s ? json::value(*v.creation_offset_s) : json::value(nullptr);
  return o;
}

std::string rfc3339_us(std::int64_t us) { return format_rfc3339(from_unix_us(us)); }

}  // namespace

json::object clock_json(const Index& index, const EvidenceRecord& record) {
  return clock_of(index, record, media_facts(index, record.id));
}

json::object case_timeline(const Index& index, const std::string& case_number, std::int64_t min_gap_us) {
  const auto ids = index.items_in_case(case_number);
  struct Item {
    EvidenceRecord rec;
    Interval span;
    bool probing;
    json::object clock;
  };
  std::vector<Item> items;
  for (const auto& id : ids) {
    auto rec = index.get_evidence(id);
    if (!rec) continue;
    const auto start = parse_rfc3339(rec->recorded_at);
    if (!start) continue;  // validated at ingest; a record that is not is the audit's to name
    const MediaFacts media = media_facts(index, id);
    Interval span{to_unix_us(*start), to_unix_us(*start)};
    if (!in_range(span.start_us)) continue;  // refused at ingest since 0.3; not drawable
    if (media.duration && in_range(span.end_us + std::llround(*media.duration * 1e6))) {
      span.end_us += std::llround(*media.duration * 1e6);
    }
    json::object clock = clock_of(index, *rec, media);
    items.push_back({std::move(*rec), span, !media.probed, std::move(clock)});
  }
  if (items.empty()) throw Error(Errc::not_found, "no evidence is linked to case '" + case_number + "'");
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    return a.span.start_us != b.span.start_us ? a.span.start_us < b.span.start_us : a.rec.id < b.rec.id;
  });

  std::vector<Interval> spans;
  json::array jitems;
  std::uint64_t probing = 0;
  for (auto& it : items) {
    spans.push_back(it.span);
    if (it.probing) ++probing;
    json::object o;
    o["evidence"] = it.rec.id;
    o["officer"] = it.rec.officer;
    o["device"] = it.rec.device;
    o["start"] = rfc3339_us(it.span.start_us);
    o["end"] = rfc3339_us(it.span.end_us);
    o["probing"] = it.probing;
    o["clock"] = std::move(it.clock);
    jitems.push_back(std::move(o));
  }
  const Continuity c = continuity(std::move(spans), min_gap_us);
  json::array coverage, gaps;
  for (const auto& i : c.coverage) {
    coverage.push_back(json::object{{"start", rfc3339_us(i.start_us)}, {"end", rfc3339_us(i.end_us)}});
  }
  for (const auto& g : c.gaps) {
    gaps.push_back(json::object{{"start", rfc3339_us(g.start_us)},
                                {"end", rfc3339_us(g.end_us)},
                                {"seconds", static_cast<double>(g.end_us - g.start_us) / 1e6}});
  }
  json::object out;
  out["case"] = case_number;
  out["min_gap"] = static_cast<double>(min_gap_us) / 1e6;
  // Assigned, not in an initializer list: Boost.JSON reads an empty array there as an object.
  out["items"] = std::move(jitems);
  out["coverage"] = std::move(coverage);
  out["gaps"] = std::move(gaps);
  out["probing"] = probing;
  return out;
}

}  // namespace evidence::timeline
