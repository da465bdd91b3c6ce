#include "ingest/ingest_pipeline.h"

#include "base/error.h"
#include "base/timefmt.h"
#include "ingest/api_common.h"
#include "ingest/lifecycle.h"
#include "ingest/logging.h"
#include "ingest/media_jobs.h"
#include "ingest/tsa_client.h"
#include "store/ids.h"

namespace evidence::ingest {

json::object build_receipt(Index& index, Checkpointer& checkpointer, const ReceiptKeys& keys,
                           const EvidenceRecord& rec) {
  // The witnessed checkpoint when its quorum answers in time (serve --witness).
  const ServedCheckpoint cp = checkpointer.for_receipt(rec.log_index + 1);
  const auto entry = index.log_entry(rec.log_index);
  if (!entry) throw Error(Errc::corrupt, "ingest entry " + std::to_string(rec.log_index) + " is missing");
  const auto token = index.timestamp_token(rec.id);
  json::object r;
  r["evidence_id"] = rec.id;
  r["sha256"] = rec.sha256.hex();
  r["size"] = rec.size;
  json::array cases;
  for (const auto& c : rec.cases) cases.emplace_back(c);
  r["cases"] = std::move(cases);
  r["officer"] = rec.officer;
  r["device"] = rec.device;
  r["recorded_at"] = rec.recorded_at;
  r["received_at"] = rec.received_at;
  r["filename"] = rec.filename;
  r["timestamp_token"] = token ? to_base64(*token) : std::string();
  r["log_index"] = rec.log_index;
  r["log_entry"] = to_base64(as_bytes(entry->leaf));
  if (const auto bytes = index.evidence_bytes(rec.id)) r["record"] = to_base64(*bytes);
  r["checkpoint"] = cp.note;
  if (cp.witnessed) r["witnessed"] = *cp.witnessed;
  r["inclusion_proof"] = json::object{{"index", rec.log_index},
                                      {"size", cp.size},
                                      {"hashes", hashes_json(index.inclusion_proof(rec.log_index, cp.size))}};
  r["log_key"] = keys.log_key;
  r["tsa_ca_pem"] = keys.tsa_ca_pem;
  return r;
}

IngestPipeline::IngestPipeline(Index& index, GroupCommit& commits, tsa::TimeStamper& stamper,
                               Checkpointer& checkpointer, Metrics& metrics, Workers& workers, MediaJobs* media,
                               ReceiptKeys keys)
    : index_(index),
      commits_(commits),
      stamper_(stamper),
      checkpointer_(checkpointer),
      metrics_(metrics),
      workers_(workers),
      media_(media),
      keys_(std::move(keys)) {}

Task<Bytes> IngestPipeline::stamp(const ContentId& id) {
  try {
    co_return co_await blocking(workers_, [this, &id] { return stamper_.stamp(id); });
  } catch (const Error& e) {
    if (e.code() == Errc::crypto && std::string_view(e.what()).starts_with(HttpTimeStamper::kTokenInvalid)) {
      throw HttpError{http::status::service_unavailable, "tsa_invalid", e.what()};
    }
    throw;
  }
}

Task<EvidenceRecord> IngestPipeline::commit(NewEvidence& item) {
  // Lambdas given to blocking() capture by reference only: GCC 12 mishandles the
  // destruction of non-trivial temporaries inside co_await expressions.
  const Committed done = co_await blocking(workers_, [this, &item] {
    std::shared_lock<std::shared_mutex> gate;
    if (gate_) gate = std::shared_lock(*gate_);
    if (gate_ && blobs_ && !blobs_->exists(item.record.sha256)) {
      // A disposition deleted this content between its write and now: nothing is committed.
      throw HttpError{http::status::service_unavailable, "retry",
                      "the content was removed by a disposition while it was stored: send it again",
                      {{"Retry-After", "1"}}};
    }
    return commits_.commit(std::move(item));
  });
  if (media_) {
    try {
      media_->enqueue(done.record.id);  // probe, poster frame, segments: off this thread, never awaited
    } catch (...) {
      // Never fails a commit: the next start's scan finds the item.
    }
  }
  EvidenceRecord rec = done.record;
  rec.log_index = done.log_index;
  co_return rec;
}

void IngestPipeline::set_lifecycle(std::chrono::seconds upload_deadline, std::shared_mutex* gate, BlobStore* blobs) {
  upload_deadline_ = upload_deadline;
  gate_ = gate;
  blobs_ = blobs;
}

json::object IngestPipeline::receipt(const EvidenceRecord& rec) const {
  return build_receipt(index_, checkpointer_, keys_, rec);
}

Task<json::object> IngestPipeline::ingest(const AuthUser& who, const IngestMeta& meta, const BlobInfo& blob,
                                          const UploadSession* upload, std::optional<Bytes> stamped) {
  // 400 for an unknown category; an upload naming a case gets `evidence` at once.
  const std::string category = co_await blocking(workers_, [this, &meta] { return ingest_category(index_, meta); });
  Bytes token;
  if (stamped) {
    token = std::move(*stamped);
  } else {
    token = co_await stamp(blob.id);  // (not in a conditional expression: see tus.cpp)
  }
  const std::optional<User> officer =
      co_await blocking(workers_, [this, &meta] { return index_.user_by_name(meta.officer); });
  NewEvidence item;
  item.record.id = new_evidence_id();
  item.record.sha256 = blob.id;
  item.record.size = blob.size;
  if (meta.case_number) item.record.cases.push_back(*meta.case_number);
  item.record.officer = meta.officer;
  item.record.device = meta.device;
  item.record.received_at = format_rfc3339(now_us());
  item.record.recorded_at = meta.recorded_at.empty() ? item.record.received_at : meta.recorded_at;
  item.record.filename = meta.filename;
  item.record.uploaded_by = who.name;
  item.record.blob_version = blob.version;
  // Evidence is never refused for a lapsed certificate (持证上岗), but a reviewer sees it.
  if (officer && officer->role == Role::officer && officer->certificate_expired_at(item.record.received_at)) {
    item.record.flags.push_back("certificate_expired");
  }
  item.record.category = category;
  item.record.late = upload_deadline_ && is_late(item.record.recorded_at, item.record.received_at, *upload_deadline_);
  item.timestamp_token = token;
  item.event = custody_event(who, "ingest");
  item.event.case_number = meta.case_number;
  if (upload) item.completes_upload = *upload;
  const EvidenceRecord rec = co_await commit(item);
  // The Object Lock to the item's retain_until, counted from received_at (lifecycle.h).
  if (blobs_) co_await blocking(workers_, [this, &rec] { extend_blob_lock(index_, *blobs_, rec); });
  metrics_.upload_committed(rec.size);
  if (rec.late) metrics_.late_upload();
  log_line("info", "evidence_committed",
           {{"id", rec.id}, {"sha256", rec.sha256.hex()}, {"size", std::to_string(rec.size)},
            {"by", who.name}, {"log_index", std::to_string(rec.log_index)}});
  co_return co_await witnessed_receipt(rec);
}

Task<json::object> IngestPipeline::witnessed_receipt(EvidenceRecord rec) {
  if (Witnesses* w = checkpointer_.witnesses()) {
    // The checkpoint that covers the entry is signed (and so submitted) first; then
    // the wait is on a timer, holding no worker.
    co_await blocking(workers_, [this, &rec] { checkpointer_.ensure(rec.log_index + 1); });
    co_await w->wait(rec.log_index + 1);
  }
  co_return co_await blocking(workers_, [this, &rec] { return receipt(rec); });
}

}  // namespace evidence::ingest
