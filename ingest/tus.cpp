// tus 1.0.0 resumable uploads at /api/v1/uploads: core, creation,
// creation-with-upload, checksum (sha1, sha256), termination, expiration.
// https://tus.io/protocols/resumable-upload
//
// Durability: a PATCH appends to DIR/incoming/upload-<id>, fdatasyncs, and only then
// records the new offset in the index, so Upload-Offset never counts bytes that a
// crash could lose. The next PATCH truncates the file back to the recorded offset.
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>

#include "ingest/body_pump.h"
#include "ingest/headers.h"
#include "ingest/logging.h"
#include "ingest/api.h"
#include "ingest/api_common.h"
#include "ingest/lifecycle.h"
#include "store/blob_store.h"
#include "base/error.h"
#include "store/ids.h"
#include "store/partial_uploads.h"
#include "base/timefmt.h"

namespace evidence::ingest {
namespace {

bool fault_after_commit() {
  static const bool on = [] {
    const char* f = std::getenv("EVIDENCE_FAULT");
    return f && std::string_view(f) == "tus_after_commit";
  }();
  return on;
}

constexpr std::string_view kTusVersion = "1.0.0";
constexpr std::size_t kChunk = 256 * 1024;
const char* const kKnownMeta[] = {"officer", "device", "recorded_at", "filename", "case", "sha256", "category"};

void tus_headers(Response& r) { r.headers.set("Tus-Resumable", std::string(kTusVersion)); }

void require_resumable(const Request& req) {
  if (req.header("Tus-Resumable") != kTusVersion) {
    throw HttpError{http::status::precondition_failed, "unsupported_tus_version", "Tus-Resumable must be 1.0.0",
                    {{"Tus-Version", std::string(kTusVersion)}}};
  }
}

// Upload-Expires is an HTTP-date; sessions keep RFC 3339 times.
std::string http_date(std::string_view rfc3339) {
  const auto t = parse_rfc3339(rfc3339);
  return t ? format_http_date(*t) : std::string();
}

json::object parse_metadata(std::string_view header) {
  static const std::vector<std::string_view> known(std::begin(kKnownMeta), std::end(kKnownMeta));
  return parse_upload_metadata(header, known);
}

IngestMeta meta_of(const json::object& m) {
  return validate_meta([&m](std::string_view k) -> std::optional<std::string> {
    auto* v = m.if_contains(k);
    if (!v || !v->is_string()) return std::nullopt;
    return std::string(v->as_string());
  });
}

void base_headers(Response& r, const UploadSession& s) {
  tus_headers(r);
  r.headers.set("Upload-Offset", std::to_string(s.offset));
  r.headers.set("Upload-Length", std::to_string(s.length));
  if (auto d = http_date(s.expires_at); !d.empty()) r.headers.set("Upload-Expires", d);
}

std::optional<std::string> completed_evidence(const UploadSession& s) {
  auto* v = s.metadata.if_contains("evidence_id");
  if (!v || !v->is_string()) return std::nullopt;
  return std::string(v->as_string());
}

Task<UploadSession> owned_session(TusApi s, const Request& req, const std::string& id) {
  if (id.empty() || id.size() > 64) throw HttpError{http::status::not_found, "not_found", "no upload " + id};
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c))) throw HttpError{http::status::not_found, "not_found", "no upload " + id};
  }
  auto sess = co_await blocking(s.workers, [&s, &id] { return s.index.get_upload(id); });
  if (!sess || (req.who().role != Role::admin && sess->owner != req.who().name)) {
    throw HttpError{http::status::not_found, "not_found", "no upload " + id};
  }
  co_return *sess;
}

// Unlocks the upload when the request ends, however it ends.
struct UploadLock {
  UploadRegistry& reg;
  std::string id;
  ~UploadLock() { reg.unlock(id); }
};

// Turns a fully received upload into evidence. Idempotent across crashes: the
// content hash is recorded in the session before the file is adopted, so a retry
// after a crash between adopt and commit finds the blob already in place.
Task<std::string> complete_upload(TusApi s, UploadSession& sess, const AuthUser& who) {
  if (auto done = completed_evidence(sess)) co_return *done;
  const PartialUploads files(s.layout);
  const IngestMeta meta = meta_of(sess.metadata);
  std::optional<ContentId> id;
  if (auto* h = sess.metadata.if_contains("content_sha256"); h && h->is_string()) {
    id = ContentId::from_hex(h->as_string());
  }
  auto running = s.uploads.take_hash(sess.id);
  if (meta.sha256) s.uploads.forget(sess.id);  // a mismatch below ends the upload
  // Hash (and record the hash in the session), then time-stamp, and only then hand the
  // file to the blob store: a refused stamp leaves the bytes in the upload, not a blob.
  std::optional<BlobInfo> adopted = co_await blocking(s.workers, [&s, &sess, &files, &id, &running, &meta]() -> std::optional<BlobInfo> {
    const bool have_file = files.exists(sess.id);
    if (!have_file) {
      // Adopted before a crash: name the version the store kept (S3), as a record must.
      if (id && s.blobs.exists(*id)) {
        return BlobInfo{*id, sess.length, stored_version(s.blobs, *id, sess.length), true};
      }
      throw Error(Errc::corrupt, "upload " + sess.id + " lost its bytes");
    }
    if (!id) {
      id = (running && running->hashed == sess.length) ? running->hash.finish() : files.rehash(sess.id);
    }
    if (meta.sha256 && *meta.sha256 != *id) {
      // These bytes can never become the declared evidence: drop the upload whole, so
      // nothing of it stays stored, and tell the client why.
      files.remove(sess.id);
      s.index.delete_upload(sess.id);
      throw Error(Errc::digest_mismatch,
                  "Upload-Metadata sha256 " + meta.sha256->hex() + " but the upload hashes to " + id->hex());
    }
    sess.metadata["content_sha256"] = id->hex();
    s.index.put_upload(sess);
    return std::nullopt;
  });
  Bytes token = co_await s.pipeline.stamp(*id);
  BlobInfo blob;
  if (adopted) {
    blob = *adopted;
  } else {
    // (Not a conditional expression: GCC 12 mis-compiles co_await inside one.)
    blob = co_await blocking(s.workers, [&s, &sess, &files, &id, &meta] {
      return files.adopt_into(s.blobs, sess.id, *id, upload_lock_until(s.index, meta));
    });
  }
  blob.size = sess.length;
  const AuthUser owner{sess.owner, parse_role(sess.owner_role).value_or(who.role)};
  json::object receipt = co_await s.pipeline.ingest(owner, meta, blob, &sess, std::move(token));
  // Test-only (EVIDENCE_FAULT=tus_after_commit): a crash just after the commit, before
  // anything else is written or answered; the session must already say it is done.
  if (fault_after_commit()) std::_Exit(86);
  const std::string evidence_id(receipt["evidence_id"].as_string());
  sess.metadata["evidence_id"] = evidence_id;  // as the commit stored it
  s.uploads.forget(sess.id);
  co_return evidence_id;
}

// Appends the request body at sess.offset. Returns the response for the request.
Task<Response> append_body(TusApi s, Request& req, UploadSession& sess, bool creation) {
  if (req.header(http::field::content_type) != "application/offset+octet-stream") {
    throw HttpError{http::status::unsupported_media_type, "unsupported_media_type",
                    "Content-Type must be application/offset+octet-stream"};
  }
  // creation-with-upload sends no Upload-Offset: the body starts at 0.
  const auto offset = creation && !req.has_header("Upload-Offset") ? std::optional<std::uint64_t>(0)
                                                                   : parse_uint(req.header("Upload-Offset"));
  if (!offset) throw HttpError{http::status::bad_request, "invalid_offset", "Upload-Offset must be a number"};
  if (*offset != sess.offset) {
    throw HttpError{http::status::conflict, "offset_mismatch",
                    "Upload-Offset " + std::to_string(*offset) + " but the upload is at " + std::to_string(sess.offset)};
  }
  std::optional<Sha256> check256;
  std::optional<Sha1> check1;
  Bytes declared;
  if (req.has_header("Upload-Checksum")) {
    UploadChecksum c = parse_upload_checksum(req.header("Upload-Checksum"));
    if (c.algorithm == UploadChecksum::Algorithm::sha256) {
      check256.emplace();
    } else {
      check1.emplace();
    }
    declared = std::move(c.digest);
  }
  const std::uint64_t room = sess.length - sess.offset;
  if (req.content_length && *req.content_length > room) {
    throw HttpError{http::status::payload_too_large, "exceeds_length",
                    "the chunk would go past Upload-Length (" + std::to_string(sess.length) + ")"};
  }
  req.body->set_limit(room);
  const UploadSlots::Slot slot = s.upload_slots.acquire(req.who().name);
  if (!s.uploads.try_lock(sess.id)) {
    throw HttpError{http::status::locked, "upload_busy", "another PATCH is writing this upload"};
  }
  UploadLock lock{s.uploads, sess.id};
  // Re-read the session under the lock: another request may have moved it on.
  sess = co_await blocking(s.workers, [&s, &sess] {
    auto cur = s.index.get_upload(sess.id);
    if (!cur) throw HttpError{http::status::not_found, "not_found", "no upload " + sess.id};
    return *cur;
  });
  if (*offset != sess.offset) {
    throw HttpError{http::status::conflict, "offset_mismatch", "the upload moved on to " + std::to_string(sess.offset)};
  }

  auto running = s.uploads.take_hash(sess.id);
  if (!running && sess.offset == 0) running.emplace();
  if (running && running->hashed != sess.offset) running.reset();  // rebuilt at completion

  std::optional<ClientGone> gone;
  std::uint64_t received = 0;
  {
    auto file = co_await blocking(s.workers, [&s, &sess] {
      return PartialUploads(s.layout).open_append(sess.id, sess.offset);
    });
    s.metrics.upload_started();
    struct Active {
      Metrics& m;
      ~Active() { m.upload_finished(); }
    } active{s.metrics};
    auto sink = [&](std::span<const std::uint8_t> piece) {
      file->append(piece);
      if (check256) check256->update(piece);
      if (check1) check1->update(piece);
      if (running) running->hash.update(piece);
      received += piece.size();
      s.metrics.bytes_received(piece.size());
    };
    try {
      co_await pump_body(*req.body, s.stream_workers, kChunk, sink);
    } catch (const ClientGone& g) {
      gone = g;  // keep what arrived (unless a checksum cannot vouch for it)
    }
    bool mismatch = false;
    if (!gone && (check256 || check1)) {
      if (check256) {
        const ContentId got = check256->finish();
        mismatch = !std::equal(got.bytes.begin(), got.bytes.end(), declared.begin(), declared.end());
      } else {
        const auto got = check1->finish();
        mismatch = !std::equal(got.begin(), got.end(), declared.begin(), declared.end());
      }
    }
    const bool discard = mismatch || (gone && (check256 || check1));
    co_await blocking(s.workers, [&] {
      if (discard) {
        file->truncate_to(sess.offset);
        received = 0;
      }
      file->sync();
      if (received > 0) {
        sess.offset += received;
        // An upload that makes progress is not abandoned: its expiry moves forward
        // (Upload-Expires then says the new time), so a slow link over days keeps it.
        sess.expires_at = format_rfc3339(now_us() + std::chrono::duration_cast<std::chrono::microseconds>(
                                                        s.upload_expiry));
        s.index.put_upload(sess);
      }
    });
    if (discard) running.reset();
    if (running) {
      running->hashed = sess.offset;
      s.uploads.put_hash(sess.id, std::move(*running));
    }
    if (gone) throw *gone;
    if (mismatch) {
      HttpError e{static_cast<http::status>(460), "checksum_mismatch",
                  "Upload-Checksum does not match the chunk; it was discarded", {}};
      throw e;
    }
  }

  Response r = Response::empty(http::status::no_content);
  if (sess.offset == sess.length) {
    const std::string evidence_id = co_await complete_upload(s, sess, req.who());
    r.headers.set("Evidence-Id", evidence_id);
  }
  base_headers(r, sess);
  co_return r;
}

Task<Response> options(TusApi s, Request&) {
  Response r = Response::empty(http::status::no_content);
  tus_headers(r);
  r.headers.set("Tus-Version", std::string(kTusVersion));
  r.headers.set("Tus-Extension", "creation,creation-with-upload,checksum,termination,expiration");
  r.headers.set("Tus-Checksum-Algorithm", "sha1,sha256");
  r.headers.set("Tus-Max-Size", std::to_string(s.max_upload_bytes));
  co_return r;
}

Task<Response> create(TusApi s, Request& req) {
  require_resumable(req);
  if (req.has_header("Upload-Defer-Length")) {
    throw HttpError{http::status::bad_request, "unsupported", "Upload-Defer-Length is not supported"};
  }
  const auto length = parse_uint(req.header("Upload-Length"));
  if (!length) throw HttpError{http::status::bad_request, "invalid_length", "Upload-Length is required"};
  if (*length == 0) throw HttpError{http::status::bad_request, "invalid_length", "an upload cannot be empty"};
  if (*length > s.max_upload_bytes) {
    throw HttpError{http::status::payload_too_large, "too_large",
                    "Upload-Length exceeds Tus-Max-Size " + std::to_string(s.max_upload_bytes)};
  }
  UploadSession sess;
  sess.metadata = parse_metadata(req.header("Upload-Metadata"));
  const IngestMeta meta = meta_of(sess.metadata);
  check_uploader(req.who(), meta);  // 400/403 before anything is stored
  co_await blocking(s.workers, [&s, &meta] { check_upload_category(s.index, meta); });
  sess.id = new_upload_id();
  sess.length = *length;
  const auto now = now_us();
  sess.created_at = format_rfc3339(now);
  sess.expires_at = format_rfc3339(now + std::chrono::duration_cast<std::chrono::microseconds>(s.upload_expiry));
  sess.owner = req.who().name;
  sess.owner_role = role_name(req.who().role);
  co_await blocking(s.workers, [&s, &sess] {
    PartialUploads(s.layout).create(sess.id);
    s.index.put_upload(sess);
  });
  log_line("info", "upload_created", {{"id", sess.id}, {"length", std::to_string(sess.length)}, {"by", sess.owner}});

  Response r = Response::empty(http::status::created);
  const bool has_body = (req.content_length && *req.content_length > 0) ||
                        req.header(http::field::transfer_encoding).find("chunked") != std::string::npos;
  if (has_body) {
    // creation-with-upload: the same rules as a PATCH at offset 0.
    Response appended = co_await append_body(s, req, sess, true);
    if (appended.headers.find("Evidence-Id") != appended.headers.end()) {
      r.headers.set("Evidence-Id", appended.headers["Evidence-Id"]);
    }
  }
  base_headers(r, sess);
  r.headers.set(http::field::location, "/api/v1/uploads/" + sess.id);
  co_return r;
}

Task<Response> head(TusApi s, Request& req) {
  require_resumable(req);
  UploadSession sess = co_await owned_session(s, req, req.params[0]);
  // A crash (or failure) after the last byte but before the commit: finish now,
  // because a client seeing offset == length considers the upload done.
  if (sess.offset == sess.length && !completed_evidence(sess) && s.uploads.try_lock(sess.id)) {
    UploadLock lock{s.uploads, sess.id};
    // Re-read under the lock: a PATCH that completed the upload since we read it
    // (and has just let go of the lock) has already made its item.
    auto cur = co_await blocking(s.workers, [&s, &sess] { return s.index.get_upload(sess.id); });
    if (!cur) throw HttpError{http::status::not_found, "not_found", "no upload " + sess.id};
    sess = *cur;
    if (!completed_evidence(sess)) co_await complete_upload(s, sess, req.who());
  }
  Response r = Response::empty(http::status::ok);
  base_headers(r, sess);
  r.headers.set(http::field::cache_control, "no-store");
  if (auto e = completed_evidence(sess)) r.headers.set("Evidence-Id", *e);
  co_return r;
}

Task<Response> patch(TusApi s, Request& req) {
  require_resumable(req);
  UploadSession sess = co_await owned_session(s, req, req.params[0]);
  if (completed_evidence(sess)) {
    throw HttpError{http::status::conflict, "offset_mismatch", "the upload is already complete"};
  }
  co_return co_await append_body(s, req, sess, false);
}

Task<Response> terminate(TusApi s, Request& req) {
  require_resumable(req);
  UploadSession sess = co_await owned_session(s, req, req.params[0]);
  if (!s.uploads.try_lock(sess.id)) {
    throw HttpError{http::status::locked, "upload_busy", "a PATCH is writing this upload"};
  }
  UploadLock lock{s.uploads, sess.id};
  co_await blocking(s.workers, [&s, &sess] {
    PartialUploads(s.layout).remove(sess.id);
    s.index.delete_upload(sess.id);
  });
  s.uploads.forget(sess.id);
  Response r = Response::empty(http::status::no_content);
  tus_headers(r);
  co_return r;
}

Task<Response> receipt(TusApi s, Request& req) {
  UploadSession sess = co_await owned_session(s, req, req.params[0]);
  auto id = completed_evidence(sess);
  if (!id) {
    Response r = error_response({http::status::conflict, "incomplete",
                                 "the upload is at " + std::to_string(sess.offset) + " of " + std::to_string(sess.length)});
    base_headers(r, sess);
    co_return r;
  }
  json::object o = co_await blocking(s.workers, [&s, &id] {
    auto rec = s.index.get_evidence(*id);
    if (!rec) throw Error(Errc::corrupt, "upload points at missing evidence " + *id);
    return s.pipeline.receipt(*rec);
  });
  co_return Response::json(http::status::ok, o);
}

}  // namespace

void sweep_expired_uploads(Index& index, UploadRegistry& uploads, const Layout& layout) {
  const auto now = now_us();
  for (const auto& sess : index.uploads()) {
    auto exp = parse_rfc3339(sess.expires_at);
    if (!exp || *exp > now) continue;
    if (!uploads.try_lock(sess.id)) continue;
    UploadLock lock{uploads, sess.id};
    PartialUploads(layout).remove(sess.id);
    index.delete_upload(sess.id);
    uploads.forget(sess.id);
    log_line("info", "upload_expired", {{"id", sess.id}, {"offset", std::to_string(sess.offset)}});
  }
}

void add_tus_routes(Routes& routes, TusApi api) {
  const std::uint64_t max = api.max_upload_bytes;
  const std::vector<Role> uploaders{Role::officer, Role::station, Role::admin};
  routes.push_back({http::verb::options, "/uploads", false, {}, 0, bind_api(api, options)});
  routes.push_back({http::verb::post, "/uploads", true, uploaders, max, bind_api(api, create)});
  routes.push_back({http::verb::head, "/uploads/{}", true, uploaders, 0, bind_api(api, head)});
  routes.push_back({http::verb::patch, "/uploads/{}", true, uploaders, max, bind_api(api, patch)});
  routes.push_back({http::verb::delete_, "/uploads/{}", true, uploaders, 0, bind_api(api, terminate)});
  routes.push_back({http::verb::get, "/uploads/{}", true, uploaders, 0, bind_api(api, receipt)});
}

}  // namespace evidence::ingest
