// The commit pipeline of new evidence, written once: time stamp -> group commit (the
// record, its ingest custody entry and, for tus, the session's completion in one
// transaction) -> media queue -> receipt. One-shot uploads (api_evidence.cpp), tus
// completion (tus.cpp) and clips (api_media.cpp) all commit through it.
//
// Contract: the content is already durable in the blob store (BlobInfo) when a caller
// gets here. Nothing reaches the index before the time stamp verifies. Uploads stamp
// their content (stamp(), from the writer's digest) before they store it, so a refused
// or unverifiable token stores nothing at all, in the index or the blob store.
#pragma once

#include <chrono>
#include <optional>
#include <shared_mutex>
#include <string>

#include "ingest/checkpointer.h"
#include "ingest/group_commit.h"
#include "ingest/http.h"
#include "ingest/metrics.h"
#include "store/blob_store.h"
#include "store/index.h"
#include "verify/tsa.h"

namespace evidence::ingest {

class MediaJobs;

// Ingest metadata, as given on the one-shot query string or in Upload-Metadata
// (validated by validate_meta, api_common.h).
struct IngestMeta {
  std::optional<std::string> case_number;
  std::string officer, device, recorded_at, filename;
  std::optional<ContentId> sha256;
  std::string category;  // retention category named by the uploader; empty: routine
};

// What a receipt carries besides the index's data: the keys an outsider checks it with.
struct ReceiptKeys {
  std::string log_key;     // the checkpoint signer's verifier key
  std::string tsa_ca_pem;  // the CA of the TSA that stamps new items
};

// The receipt of a committed item (signs a checkpoint covering it if needed). Blocks:
// call it on the worker pool.
json::object build_receipt(Index& index, Checkpointer& checkpointer, const ReceiptKeys& keys,
                           const EvidenceRecord& rec);

class IngestPipeline {
 public:
  // `media` may be null (no media work is queued then). Every reference must outlive
  // the pipeline.
  IngestPipeline(Index& index, GroupCommit& commits, tsa::TimeStamper& stamper, Checkpointer& checkpointer,
                 Metrics& metrics, Workers& workers, MediaJobs* media, ReceiptKeys keys);

  // The RFC 3161 token for new content from the configured TSA. A token that does not
  // verify is HttpError 503 `tsa_invalid`; an unreachable TSA is Error(unavailable).
  Task<Bytes> stamp(const ContentId& id);

  // One grouped transaction for `item` (which carries its token and ingest event;
  // with completes_upload, the tus session is marked complete in it too), then the
  // item's media work is queued (never awaited, never fails the commit). Returns the
  // stored record with its log index. `item` is moved from.
  Task<EvidenceRecord> commit(NewEvidence& item);

  // Lifecycle rules (ingest/lifecycle.h): items received later than recorded_at +
  // `upload_deadline` are flagged late; each commit holds `gate` shared and first
  // checks that its blob is still in `blobs` (a disposal may have deleted it), 503
  // `retry` if not. Unset: no deadline, no gate.
  void set_lifecycle(std::chrono::seconds upload_deadline, std::shared_mutex* gate, BlobStore* blobs);

  // build_receipt with this daemon's keys. Blocks: call it on the worker pool.
  json::object receipt(const EvidenceRecord& rec) const;
  // The receipt of an item just committed: with witnesses, first waits (on a timer, at
  // most the witness timeout) for a quorum checkpoint that covers it.
  Task<json::object> witnessed_receipt(EvidenceRecord rec);  // by value: a coroutine

  // The whole path of an upload: stamp, record from `meta` (flagged when the officer's
  // certificate had lapsed), commit, upload metrics, log line, receipt. With `upload`,
  // that tus session completes in the item's own transaction.
  // With `token`, the content was stamped already (callers stamp before they store
  // the content, so a refused stamp stores nothing) and is not stamped again.
  Task<json::object> ingest(const AuthUser& who, const IngestMeta& meta, const BlobInfo& blob,
                            const UploadSession* upload = nullptr, std::optional<Bytes> token = std::nullopt);

 private:
  Index& index_;
  GroupCommit& commits_;
  tsa::TimeStamper& stamper_;
  Checkpointer& checkpointer_;
  Metrics& metrics_;
  Workers& workers_;
  MediaJobs* media_;
  const ReceiptKeys keys_;
  std::optional<std::chrono::seconds> upload_deadline_;
  std::shared_mutex* gate_ = nullptr;
  BlobStore* blobs_ = nullptr;
};

}  // namespace evidence::ingest
