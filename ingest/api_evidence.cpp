// Evidence routes: one-shot upload, record, content (ranges), time stamp, custody,
// case links.
#include <boost/beast/core/string.hpp>
#include <memory>

#include "ingest/body_pump.h"
#include "ingest/headers.h"
#include "ingest/logging.h"
#include "ingest/media_jobs.h"
#include "ingest/api.h"
#include "ingest/api_common.h"
#include "ingest/lifecycle.h"
#include "base/error.h"
#include "store/ids.h"
#include "verify/timeline.h"

namespace evidence::ingest {
namespace {

constexpr std::size_t kChunk = 256 * 1024;

// RFC 9530 Content-Digest, or else the older RFC 3230 Digest (ingest/headers.h).
std::optional<ContentId> declared_digest(const Request& req) {
  if (req.has_header("Content-Digest")) return parse_digest_header(req.header("Content-Digest"), true);
  if (req.has_header("Digest")) return parse_digest_header(req.header("Digest"), false);
  return std::nullopt;
}

Task<Response> post_evidence(EvidenceApi s, Request& req) {
  // Metadata and digest header are checked before a byte of the body is read.
  const IngestMeta meta = validate_meta([&req](std::string_view k) { return req.query(k); });
  check_uploader(req.who(), meta);
  co_await blocking(s.workers, [&s, &meta] { check_upload_category(s.index, meta); });
  const auto expected = declared_digest(req);
  const UploadSlots::Slot slot = s.upload_slots.acquire(req.who().name);
  s.metrics.upload_started();
  struct Active {
    Metrics& m;
    ~Active() { m.upload_finished(); }
  } active{s.metrics};

  auto writer = s.blobs.begin_write();
  auto sink = [&writer, &s](std::span<const std::uint8_t> piece) {
    writer->write(piece);
    s.metrics.bytes_received(piece.size());
  };
  co_await pump_body(*req.body, s.stream_workers, kChunk, sink);
  if (writer->size() == 0) throw HttpError{http::status::bad_request, "empty_body", "the body is empty"};
  // Checked and time-stamped before anything is stored: a mismatch or a refused stamp
  // drops the writer uncommitted, which leaves nothing behind.
  const BlobDigest got = writer->digest();
  if (expected && *expected != got.id) {
    throw HttpError{http::status::bad_request, "digest_mismatch",
                    "the digest header says " + expected->hex() + " but the body hashes to " + got.id.hex()};
  }
  if (meta.sha256 && *meta.sha256 != got.id) {
    throw HttpError{http::status::bad_request, "digest_mismatch",
                    "sha256 parameter " + meta.sha256->hex() + " but the body hashes to " + got.id.hex()};
  }
  Bytes token = co_await s.pipeline.stamp(got.id);
  std::optional<HttpError> mismatch;
  BlobInfo blob;
  try {
    blob = co_await blocking(s.workers, [&s, &meta, &writer, &expected] {
      // Locked until the category's date, not the backend's default (computed now: a
      // lock must end in the future when the object is stored).
      if (const auto until = upload_lock_until(s.index, meta)) writer->lock_until(*until);
      return writer->commit(expected);
    });
  } catch (const Error& e) {
    if (e.code() != Errc::digest_mismatch) throw;
    mismatch = HttpError{http::status::bad_request, "digest_mismatch", e.what()};
  }
  if (mismatch) throw *mismatch;
  json::object receipt = co_await s.pipeline.ingest(req.who(), meta, blob, nullptr, std::move(token));
  Response r = Response::json(http::status::created, receipt);
  r.headers.set(http::field::location, "/api/v1/evidence/" + std::string(receipt["evidence_id"].as_string()));
  co_return r;
}

Task<Response> get_evidence(EvidenceApi s, Request& req) {
  const EvidenceRecord rec = co_await readable_record(s.index, s.workers, req, req.params[0]);
  json::object o = co_await blocking(s.workers, [&s, &rec, &req] {
    CustodyEvent ev = custody_event(req.who(), "view");
    ev.evidence = rec.id;
    s.index.append_event(ev);
    json::object out = record_json(s.index, rec);
    out["clock"] = timeline::clock_json(s.index, rec);  // the record view only: listings stay lean
    return out;
  });
  co_return Response::json(http::status::ok, o);
}

std::string content_type_for(std::string_view filename) {
  const auto dot = filename.rfind('.');
  if (dot == std::string_view::npos) return "application/octet-stream";
  std::string ext(filename.substr(dot + 1));
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const std::pair<const char*, const char*> types[] = {
      {"mp4", "video/mp4"},        {"m4v", "video/mp4"},        {"mov", "video/quicktime"},
      {"webm", "video/webm"},      {"mkv", "video/x-matroska"}, {"avi", "video/x-msvideo"},
      {"ts", "video/mp2t"},        {"3gp", "video/3gpp"},       {"mp3", "audio/mpeg"},
      {"m4a", "audio/mp4"},        {"aac", "audio/aac"},        {"wav", "audio/wav"},
      {"ogg", "audio/ogg"},        {"opus", "audio/opus"},      {"flac", "audio/flac"},
      {"jpg", "image/jpeg"},       {"jpeg", "image/jpeg"},      {"png", "image/png"},
      {"gif", "image/gif"},        {"webp", "image/webp"},      {"pdf", "application/pdf"},
      {"txt", "text/plain"},       {"json", "application/json"}, {"xml", "application/xml"},
      {"html", "text/html"},       {"htm", "text/html"},        {"svg", "image/svg+xml"},
      {"zip", "application/zip"},  {"tar", "application/x-tar"}};
  for (const auto& [e, t] : types) {
    if (ext == e) return t;
  }
  return "application/octet-stream";
}

// Types a browser shows without running anything; all others (HTML, XML, SVG,
// unknown bytes) could run script in the console's origin and go as attachments.
bool safe_inline(std::string_view type) {
  return type.starts_with("video/") || type.starts_with("audio/") || type == "image/jpeg" || type == "image/png" ||
         type == "image/gif" || type == "image/webp" || type == "text/plain";
}

// RFC 6266 / RFC 8187: the file name as data, percent-encoded UTF-8.
std::string attachment_disposition(std::string_view filename) {
  std::string out = "attachment";
  if (!filename.empty()) {
    out += "; filename*=UTF-8''";
    out += percent_encode(filename, ExtValueKeep::unreserved);
  }
  return out;
}

Task<Response> get_content(EvidenceApi s, Request& req) {
  const EvidenceRecord rec = co_await readable_record(s.index, s.workers, req, req.params[0]);
  const std::string range_header = req.header(http::field::range);
  const auto range = range_header.empty() ? std::nullopt : parse_range(range_header, rec.size);
  std::shared_ptr<BlobReader> reader = co_await blocking(s.workers, [&s, &rec, &req, &range] {
    refuse_if_disposed(s.index, rec.id);  // 410: its content is gone for good
    std::shared_ptr<BlobReader> r;
    try {
      r = s.blobs.open(rec.sha256, rec.blob_version);
    } catch (const Error& e) {
      if (e.code() != Errc::not_found) throw;
      throw HttpError{http::status::internal_server_error, "blob_missing",
                      "the content of " + rec.id + " is missing from the blob store"};
    }
    CustodyEvent ev = custody_event(req.who(), "download");
    ev.evidence = rec.id;
    if (range) {
      ev.detail = json::object{{"range", std::to_string(range->first) + "-" + std::to_string(range->last)}};
    }
    s.index.append_event(ev);
    return r;
  });
  Response res;
  const std::string type = content_type_for(rec.filename);
  res.headers.set(http::field::content_type, type);
  res.headers.set("X-Content-Type-Options", "nosniff");
  res.headers.set("Content-Security-Policy", "sandbox");
  if (!safe_inline(type)) res.headers.set(http::field::content_disposition, attachment_disposition(rec.filename));
  res.headers.set(http::field::accept_ranges, "bytes");
  res.headers.set(http::field::etag, "\"" + rec.sha256.hex() + "\"");
  res.headers.set("Repr-Digest", "sha-256=:" + to_base64(rec.sha256.bytes) + ":");
  res.headers.set(http::field::cache_control, "private, no-transform");
  std::uint64_t offset = 0, length = rec.size;
  if (range) {
    res.status = http::status::partial_content;
    offset = range->first;
    length = range->last - range->first + 1;
    res.headers.set(http::field::content_range, "bytes " + std::to_string(range->first) + "-" +
                                                    std::to_string(range->last) + "/" + std::to_string(rec.size));
  }
  res.stream_size = length;
  res.stream = [reader, offset](std::span<std::uint8_t> out) mutable {
    const std::size_t n = reader->read_at(offset, out);
    offset += n;
    return n;
  };
  co_return res;
}

Task<Response> get_timestamp(EvidenceApi s, Request& req) {
  const EvidenceRecord rec = co_await readable_record(s.index, s.workers, req, req.params[0]);
  auto token = co_await blocking(s.workers, [&s, &rec] { return s.index.timestamp_token(rec.id); });
  if (!token) throw HttpError{http::status::not_found, "not_found", "no time stamp for " + rec.id};
  co_return Response::text(http::status::ok, std::string(as_chars(*token)), "application/timestamp-reply");
}

Task<Response> get_custody(EvidenceApi s, Request& req) {
  const EvidenceRecord rec = co_await readable_record(s.index, s.workers, req, req.params[0]);
  json::object o = co_await blocking(s.workers, [&s, &rec] {
    auto& index = s.index;
    const auto indexes = index.entries_for_evidence(rec.id);
    std::uint64_t need = 0;
    for (auto i : indexes) need = std::max(need, i + 1);
    const StoredCheckpoint cp = s.checkpointer.ensure(need);
    json::array entries;
    for (auto i : indexes) {
      auto e = index.log_entry(i);
      if (!e) continue;
      json::object j = entry_json(*e);
      j["inclusion_proof"] = json::object{
          {"index", i}, {"size", cp.size}, {"hashes", hashes_json(index.inclusion_proof(i, cp.size))}};
      entries.push_back(std::move(j));
    }
    return json::object{{"evidence", rec.id}, {"checkpoint", cp.note}, {"entries", std::move(entries)}};
  });
  co_return Response::json(http::status::ok, o);
}

Task<Response> link_case(EvidenceApi s, Request& req) {
  json::object body = co_await read_json_object(req);
  const auto* c = body.if_contains("case");
  if (!c || !c->is_string()) throw HttpError{http::status::bad_request, "invalid_argument", "\"case\" is required"};
  const std::string case_number(c->as_string());
  check_case_number(case_number);
  const EvidenceRecord rec = co_await readable_record(s.index, s.workers, req, req.params[0]);
  const std::uint64_t idx = co_await blocking(s.workers, [&s, &rec, &req, &case_number] {
    CustodyEvent ev = custody_event(req.who(), "link");
    ev.evidence = rec.id;
    ev.case_number = case_number;
    const std::uint64_t at = link_case_raising(s.index, req.who(), rec.id, case_number, ev);  // and its category
    extend_blob_lock(s.index, s.blobs, rec);  // `evidence` is permanent: the long lock
    return at;
  });
  co_return Response::json(http::status::created,
                           json::object{{"evidence", rec.id}, {"case", case_number}, {"log_index", idx}});
}

Task<Response> unlink_case(EvidenceApi s, Request& req) {
  const EvidenceRecord rec = co_await readable_record(s.index, s.workers, req, req.params[0]);
  const std::string case_number = req.params[1];
  const std::uint64_t idx = co_await blocking(s.workers, [&s, &rec, &req, &case_number] {
    CustodyEvent ev = custody_event(req.who(), "unlink");
    ev.evidence = rec.id;
    ev.case_number = case_number;
    return s.index.unlink_case(rec.id, case_number, ev);
  });
  co_return Response::json(http::status::ok,
                           json::object{{"evidence", rec.id}, {"case", case_number}, {"log_index", idx}});
}

}  // namespace

void add_evidence_routes(Routes& routes, EvidenceApi api) {
  const std::vector<Role> all;  // any authenticated role; officers see their own
  routes.push_back({http::verb::post, "/evidence", true, {Role::officer, Role::station, Role::admin}, api.max_upload_bytes,
                    bind_api(api, post_evidence)});
  routes.push_back({http::verb::get, "/evidence/{}", true, all, 0, bind_api(api, get_evidence)});
  routes.push_back({http::verb::get, "/evidence/{}/content", true, all, 0, bind_api(api, get_content)});
  routes.push_back({http::verb::get, "/evidence/{}/timestamp", true, all, 0, bind_api(api, get_timestamp)});
  routes.push_back({http::verb::get, "/evidence/{}/custody", true, all, 0, bind_api(api, get_custody)});
  routes.push_back({http::verb::post, "/evidence/{}/cases", true, {Role::reviewer, Role::admin}, 0, bind_api(api, link_case)});
  routes.push_back({http::verb::delete_, "/evidence/{}/cases/{+}", true, {Role::reviewer, Role::admin}, 0, bind_api(api, unlink_case)});
}

}  // namespace evidence::ingest
