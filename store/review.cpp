#include "store/review.h"

#include <algorithm>
#include <boost/json.hpp>

#include "base/error.h"
#include "base/timefmt.h"
#include "store/format.h"
#include "store/ids.h"

namespace evidence {

namespace json = boost::json;

namespace {

std::string str(const json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  if (!v || !v->is_string()) throw Error(Errc::corrupt, std::string("review: missing ") + key);
  return std::string(v->as_string());
}

}  // namespace

bool is_review_verdict(std::string_view v) {
  return std::find(std::begin(kReviewVerdicts), std::end(kReviewVerdicts), v) != std::end(kReviewVerdicts);
}

json::object CaseReview::to_json() const {
  json::object o;
  o["id"] = id;
  o["case"] = case_number;
  o["reviewer"] = reviewer;
  o["role"] = role;
  o["time"] = time;
  o["verdict"] = verdict;
  o["notes"] = notes;
  o["checklist"] = checklist;
  o["log_index"] = log_index;
  return o;
}

Bytes CaseReview::encode() const {
  const std::string text = json::serialize(to_json());
  Bytes out;
  out.reserve(text.size() + 1);
  out.push_back(format::kReviewV1);
  out.insert(out.end(), text.begin(), text.end());
  return out;
}

CaseReview CaseReview::decode(std::span<const std::uint8_t> bytes) {
  if (bytes.empty() || bytes[0] != format::kReviewV1) throw Error(Errc::corrupt, "review: unknown encoding version");
  boost::system::error_code ec;
  auto v = json::parse(as_chars(bytes.subspan(1)), ec);
  if (ec || !v.is_object()) throw Error(Errc::corrupt, "review: not a JSON object");
  const auto& o = v.as_object();
  CaseReview r;
  r.id = str(o, "id");
  r.case_number = str(o, "case");
  r.reviewer = str(o, "reviewer");
  r.role = str(o, "role");
  r.time = str(o, "time");
  r.verdict = str(o, "verdict");
  r.notes = str(o, "notes");
  const auto* c = o.if_contains("checklist");
  if (!c || !c->is_object()) throw Error(Errc::corrupt, "review " + r.id + ": missing checklist");
  r.checklist = c->as_object();
  const auto* li = o.if_contains("log_index");
  if (li && li->is_uint64()) {
    r.log_index = li->as_uint64();
  } else if (li && li->is_int64() && li->as_int64() >= 0) {
    r.log_index = static_cast<std::uint64_t>(li->as_int64());
  } else {
    throw Error(Errc::corrupt, "review " + r.id + ": missing log_index");
  }
  return r;
}

std::string review_problem(const CaseReview& r) {
  if (!is_review_id(r.id)) return "not a review id: " + r.id;
  if (auto p = case_number_problem(r.case_number); !p.empty()) return p;
  // name_problem, not user_name_problem: a user named before 0.3's stricter names
  // may still review.
  if (auto p = name_problem("reviewer", r.reviewer); !p.empty()) return p;
  if (!parse_rfc3339(r.time)) return "the review's time is not an RFC 3339 time";
  if (!is_review_verdict(r.verdict)) return "verdict must be complete, incomplete or defective";
  for (std::size_t i = 0; i < r.notes.size();) {
    if (next_code_point(r.notes, i) < 0) return "notes are not valid UTF-8";
  }
  if (r.notes.size() > kMaxReviewNotes) {
    return "notes are " + std::to_string(r.notes.size()) + " bytes; at most " + std::to_string(kMaxReviewNotes);
  }
  if (const auto n = json::serialize(r.checklist).size(); n > kMaxReviewChecklist) {
    return "the checklist is " + std::to_string(n) + " bytes of JSON; at most " + std::to_string(kMaxReviewChecklist);
  }
  return {};
}

std::string new_review_id() { return new_evidence_id(); }
bool is_review_id(std::string_view s) { return is_evidence_id(s); }

}  // namespace evidence
