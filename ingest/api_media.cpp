// Media routes (issue 4): an item's poster frame, and a stream-copied sub-range kept as
// a new evidence item whose ingest custody entry links it to the original.
//
//   GET /evidence/{id}/thumbnail             image/jpeg (any role that may read the item)
//   POST /evidence/{id}/clips {"start","end"}  201 + receipt (reviewer, admin)
#include <boost/json/parse.hpp>
#include <boost/json/value_to.hpp>
#include <charconv>
#include <fstream>
#include <cmath>
#include <cstdio>
#include <memory>

#include "ingest/logging.h"
#include "ingest/media_jobs.h"
#include "ingest/api.h"
#include "ingest/api_common.h"
#include "ingest/lifecycle.h"
#include "base/codec.h"
#include "base/error.h"
#include "store/ids.h"
#include "base/timefmt.h"
#include "verify/audit.h"

namespace evidence::ingest {
namespace {

HttpError pending(const std::string& id, const std::string& what) {
  return HttpError{http::status::conflict, "media_pending",
                   what + " of " + id + " is not ready yet (media processing runs after ingest); retry shortly",
                   {{"Retry-After", "2"}}};
}

std::optional<json::object> parse_object(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  boost::system::error_code ec;
  auto v = json::parse(*text, ec);
  if (ec || !v.is_object()) return json::object{{"error", "stored media information is unreadable"}};
  return v.as_object();
}

std::string error_of(const json::object& o) {
  const auto* e = o.if_contains("error");
  return e && e->is_string() ? std::string(e->as_string()) : std::string("unknown error");
}

bool has_video(const json::object& media) {
  const auto* streams = media.if_contains("streams");
  if (!streams || !streams->is_array()) return false;
  for (const auto& st : streams->as_array()) {
    const auto* t = st.is_object() ? st.as_object().if_contains("type") : nullptr;
    if (t && t->is_string() && t->as_string() == "video") return true;
  }
  return false;
}

// --- thumbnail -----------------------------------------------------------------------

Task<Response> get_thumbnail(MediaApi s, Request& req) {
  const EvidenceRecord rec = co_await readable_record(s.index, s.workers, req, req.params[0]);
  const Bytes jpeg = co_await blocking(s.workers, [&s, &rec, &req]() -> Bytes {
    auto& index = s.index;
    refuse_if_disposed(index, rec.id);
    const auto media = parse_object(index.get_derived(kMediaKind, rec.id));
    if (!media) throw pending(rec.id, "the media information");
    if (media->contains("error")) {
      throw HttpError{http::status::not_found, "no_thumbnail",
                      rec.id + " has no poster frame: it could not be read as media (" + error_of(*media) + ")"};
    }
    if (!has_video(*media)) {
      throw HttpError{http::status::not_found, "no_thumbnail", rec.id + " has no poster frame: it has no video"};
    }
    const auto thumb = index.get_derived(kThumbnailKind, rec.id);
    if (!thumb) throw pending(rec.id, "the poster frame");
    const auto id = ContentId::from_hex(*thumb);
    if (!id || thumb->size() != 64) {
      const auto failed = parse_object(thumb);
      throw HttpError{http::status::not_found, "no_thumbnail",
                      rec.id + " has no poster frame: " + (failed ? error_of(*failed) : std::string("unknown"))};
    }
    Bytes out;
    try {
      auto reader = s.blobs.open(*id);
      if (reader->size() > (16u << 20)) throw Error(Errc::corrupt, "poster frame blob is too large");
      out.resize(reader->size());
      std::size_t done = 0;
      while (done < out.size()) {
        const std::size_t n = reader->read_at(done, std::span(out.data() + done, out.size() - done));
        if (n == 0) break;
        done += n;
      }
      out.resize(done);
    } catch (const Error& e) {
      throw HttpError{http::status::internal_server_error, "thumbnail_unavailable",
                      "the poster frame of " + rec.id + " cannot be read: " + e.what()};
    }
    // Derived, but served only as what was stored.
    if (Sha256::of(out) != *id) {
      throw HttpError{http::status::internal_server_error, "thumbnail_damaged",
                      "the stored poster frame of " + rec.id + " does not match its hash"};
    }
    CustodyEvent ev = custody_event(req.who(), "view");
    ev.evidence = rec.id;
    ev.detail = json::object{{"what", "thumbnail"}};
    index.append_event(ev);
    return out;
  });
  Response r = Response::text(http::status::ok, std::string(as_chars(jpeg)), "image/jpeg");
  r.headers.set(http::field::cache_control, "private, no-transform");
  r.headers.set("X-Content-Type-Options", "nosniff");
  co_return r;
}

// --- clip ----------------------------------------------------------------------------

std::string seconds_text(double v) {
  char buf[64];
  const auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, p) : std::to_string(v);
}

// For names: milliseconds at most, no trailing zeros ("2", "5.013").
std::string seconds_name(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  std::string t(buf);
  while (!t.empty() && t.back() == '0') t.pop_back();
  if (!t.empty() && t.back() == '.') t.pop_back();
  return t;
}

std::string extension_for(const std::string& format, const std::string& original) {
  if (format == "mp4") return ".mp4";
  if (format == "mov") return ".mov";
  if (format == "matroska") return ".mkv";
  if (format == "webm") return ".webm";
  if (format == "avi") return ".avi";
  if (format == "mpegts") return ".ts";
  const auto dot = original.rfind('.');
  return dot == std::string::npos ? std::string() : original.substr(dot);
}

std::string clip_filename(const EvidenceRecord& rec, const std::string& format, double start, double end) {
  std::string stem = rec.filename.empty() ? rec.id : rec.filename;
  if (const auto dot = stem.rfind('.'); dot != std::string::npos && dot > 0) stem.resize(dot);
  const std::string ext = extension_for(format, rec.filename);
  const std::string suffix = ".clip-" + seconds_name(start) + "-" + seconds_name(end) + ext;
  if (stem.size() + suffix.size() > 200) stem.resize(200 - std::min<std::size_t>(200, suffix.size()));
  std::string name = stem + suffix;
  if (!name_problem("filename", name).empty()) name = "clip" + ext;
  return name;
}

struct MadeClip {
  BlobInfo blob;
  double start = 0, end = 0;  // actual, in the source's time
  std::string format;
};

HttpError clip_error(const json::object& answer) {
  const std::string why = error_of(answer);
  const auto* c = answer.if_contains("code");
  const std::string code = c && c->is_string() ? std::string(c->as_string()) : std::string();
  if (code == "invalid_argument") return {http::status::bad_request, "invalid_range", why};
  if (code == "corrupt") return {http::status::unprocessable_entity, "not_clippable", why};
  if (code == "unavailable") return {http::status::service_unavailable, "clip_timeout", why};
  return {http::status::internal_server_error, "clip_failed", why};
}

// In the clip pool: local copy of the source, the worker's stream copy into incoming/,
// then the clip's bytes into the blob store (hashed first: content-addressed).
MadeClip make_clip(MediaApi s, MediaJobs& jobs, const EvidenceRecord& rec, double start, double end) {
  std::optional<LocalContent> src;
  try {
    src.emplace(LocalContent::of(s.blobs, s.layout, rec));
  } catch (const Error& e) {
    throw HttpError{http::status::internal_server_error, "blob_missing",
                    "the content of " + rec.id + " cannot be read: " + e.what()};
  }
  ScratchFile clip = media_temp(s.layout, ".clip");
  const int timeout = static_cast<int>(std::min<std::uint64_t>(60 + rec.size / (10u << 20), 24 * 3600));
  std::string failure;
  // A stream copy is no larger than its source but for the container's own overhead.
  const std::uint64_t max_clip = 2 * rec.size + (16u << 20);
  const auto v = run_worker_on(jobs.options(), {"clip", seconds_text(start), seconds_text(end)}, src->path(), clip.path(),
                               timeout, max_clip, 0, &failure);
  if (!v || !v->is_object()) {
    throw HttpError{http::status::internal_server_error, "clip_failed",
                    "the media worker failed: " + (failure.empty() ? std::string("no answer") : failure)};
  }
  const json::object& answer = v->as_object();
  if (answer.contains("error")) throw clip_error(answer);
  MadeClip m;
  try {
    m.start = json::value_to<double>(answer.at("start"));
    m.end = json::value_to<double>(answer.at("end"));
    m.format = std::string(answer.at("format").as_string());
  } catch (const std::exception&) {
    throw HttpError{http::status::internal_server_error, "clip_failed", "the media worker's answer is malformed"};
  }
  // Hash the clip, then hand the file to the store (local: a rename).
  const auto [id, size] = clip.digest();
  if (size == 0) throw HttpError{http::status::unprocessable_entity, "not_clippable", "the clip is empty"};
  m.blob = clip.adopt_into(s.blobs, id);
  m.blob.size = size;
  return m;
}

// A number of seconds from a JSON body field; nullopt when absent or not a finite number.
std::optional<double> seconds_field(const json::object& body, const char* key) {
  const auto* v = body.if_contains(key);
  if (!v || !v->is_number()) return std::nullopt;
  const double d = v->to_number<double>();
  if (!std::isfinite(d)) return std::nullopt;
  return d;
}

// POST /evidence/{id}/clips {"start": S, "end": E}: a clip is a write (a new item),
// so it is a POST, for the roles that may change a case (reviewer, admin).
Task<Response> post_clip(MediaApi s, Request& req) {
  MediaJobs* jobs = &s.jobs;
  const json::object body = co_await read_json_object(req);
  const auto start = seconds_field(body, "start");
  const auto end = seconds_field(body, "end");
  if (!start || !end) {
    throw HttpError{http::status::bad_request, "invalid_range",
                    "start and end are required, as numbers of seconds (e.g. {\"start\": 2, \"end\": 5.5})"};
  }
  if (*start < 0 || *end <= *start) {
    throw HttpError{http::status::bad_request, "invalid_range", "need 0 <= start < end"};
  }
  const EvidenceRecord rec = co_await readable_record(s.index, s.workers, req, req.params[0]);
  auto state = co_await blocking(s.workers, [&s, &rec] {
    refuse_if_disposed(s.index, rec.id);
    return std::make_pair(s.index.get_derived(kMediaKind, rec.id), s.index.get_derived(kSegmentsKind, rec.id));
  });
  const auto media = parse_object(state.first);
  if (!media) throw pending(rec.id, "the media information");
  if (media->contains("error")) {
    throw HttpError{http::status::unprocessable_entity, "not_media",
                    rec.id + " could not be read as media: " + error_of(*media)};
  }
  json::value segments_root = nullptr;
  if (const auto seg = parse_object(state.second)) {
    if (const auto* r = seg->if_contains("root"); r && r->is_string()) segments_root = *r;
  }

  if (jobs->clips_running().fetch_add(1) >= jobs->options().max_clips) {
    jobs->clips_running().fetch_sub(1);
    throw HttpError{http::status::service_unavailable, "busy", "too many clips are being made; retry shortly",
                    {{"Retry-After", "5"}}};
  }
  struct Slot {
    MediaJobs* j;
    ~Slot() { j->clips_running().fetch_sub(1); }
  } slot{jobs};
  const double from = *start, to = *end;
  const MadeClip clip =
      co_await blocking(jobs->clip_workers(), [&s, &jobs, &rec, &from, &to] { return make_clip(s, *jobs, rec, from, to); });

  // The same commit as an upload (time stamp, one grouped LMDB transaction with the
  // ingest custody entry, receipt); that entry names the original.
  const BlobInfo& blob = clip.blob;
  const Bytes token = co_await s.pipeline.stamp(blob.id);
  const auto cases = co_await blocking(s.workers, [&s, &rec] { return s.index.cases_of(rec.id); });
  NewEvidence item;
  item.record.id = new_evidence_id();
  item.record.sha256 = blob.id;
  item.record.size = blob.size;
  // The clip joins its original's cases: the first through its ingest entry, any
  // others through link entries below, so that replaying the log gives its cases.
  if (!cases.empty()) item.record.cases = {cases.front()};
  item.record.officer = rec.officer;
  item.record.device = rec.device;
  item.record.received_at = format_rfc3339(now_us());
  item.record.recorded_at = rec.recorded_at;
  item.record.filename = clip_filename(rec, clip.format, clip.start, clip.end);
  item.record.uploaded_by = req.who().name;
  item.record.blob_version = blob.version;
  item.timestamp_token = token;
  item.event = custody_event(req.who(), "ingest");
  if (!cases.empty()) item.event.case_number = cases.front();
  item.event.detail = json::object{{"derived_from", rec.id},
                                   {"start", clip.start},
                                   {"end", clip.end},
                                   {"requested_start", from},
                                   {"requested_end", to},
                                   {"format", clip.format},
                                   {"source_sha256", rec.sha256.hex()},
                                   {"segments_root", segments_root}};
  const EvidenceRecord made = co_await s.pipeline.commit(item);
  log_line("info", "clip_committed",
           {{"id", made.id}, {"derived_from", rec.id}, {"sha256", made.sha256.hex()},
            {"size", std::to_string(made.size)}, {"by", req.who().name}});
  co_await blocking(s.workers, [&s, &made, &rec, &req, &clip, &cases] {
    // The original was read to make the clip: its own custody says so and where to.
    CustodyEvent ev = custody_event(req.who(), "clip");
    ev.evidence = rec.id;
    ev.detail = json::object{{"clip", made.id}, {"start", clip.start}, {"end", clip.end}};
    s.index.append_event(ev);
    for (std::size_t i = 1; i < cases.size(); ++i) {
      CustodyEvent link = custody_event(req.who(), "link");
      link.evidence = made.id;
      link.case_number = cases[i];
      link.detail = json::object{{"inherited_from", rec.id}};
      s.index.link_case(made.id, cases[i], link);
    }
  });
  json::object receipt = co_await s.pipeline.witnessed_receipt(made);
  receipt["derived_from"] = rec.id;
  Response r = Response::json(http::status::created, receipt);
  r.headers.set(http::field::location, "/api/v1/evidence/" + made.id);
  co_return r;
}

}  // namespace

void add_media_routes(Routes& routes, MediaApi api) {
  // The Service owns the jobs: they stop, threads joined, before the index and blob
  // store they use are closed.
  routes.push_back({http::verb::get, "/evidence/{}/thumbnail", true, {}, 0,
               bind_api(api, get_thumbnail)});
  routes.push_back({http::verb::post, "/evidence/{}/clips", true, {Role::reviewer, Role::admin}, 0,
               bind_api(api, post_clip)});
}

}  // namespace evidence::ingest
