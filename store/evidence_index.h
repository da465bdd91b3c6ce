// Evidence records and what is found through them, as an interface: the records and
// their RFC 3161 tokens, case membership, content and search indexes, and derived
// data (media records, thumbnails, holds). Engine-neutral; the value types here are
// what callers build and get back, whichever engine holds them.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/codec.h"
#include "store/content_id.h"
#include "store/records.h"

namespace evidence {

struct SearchQuery {
  std::optional<std::string> officer;
  std::optional<std::string> device;
  std::optional<std::int64_t> from_us;  // recorded_at >= from (inclusive)
  std::optional<std::int64_t> to_us;    // recorded_at <  to   (exclusive)
  std::size_t limit = 100;              // clamped to 1..1000
  std::string cursor;  // opaque; from a previous page's `next`
};
struct SearchPage {
  std::vector<EvidenceRecord> items;  // recorded_at order, then id
  std::string next;  // empty when there is no more
};

// Everything needed to commit one new item atomically.
struct NewEvidence {
  EvidenceRecord record;   // id, sha256, size and metadata; log_index is set by commit
  Bytes timestamp_token;   // RFC 3161 token (DER) over record.sha256
  CustodyEvent event;      // the ingest event; record_hash/evidence are set by commit
  // The tus upload this item completes: stored in the same transaction with
  // metadata.evidence_id = record.id, so one upload can never become two items,
  // whatever crashes or races between the commit and a later session update.
  std::optional<UploadSession> completes_upload;
};
struct Committed {
  EvidenceRecord record;       // as stored
  std::string record_hash;     // hex SHA-256 of the stored bytes
  std::uint64_t log_index = 0;
};

class EvidenceIndex {
 public:
  virtual ~EvidenceIndex() = default;

  // Several items in one commit (one fsync), for grouped commits under load: each
  // record, timestamp, case/content/search indexes and its ingest custody entry (with
  // record_hash, sha256 and size filled in). All or nothing. Error(invalid_argument)
  // for a bad id, case number, name or time; Error(already_exists) for a known id.
  virtual std::vector<Committed> commit_evidence_batch(std::vector<NewEvidence> items) = 0;
  Committed commit_evidence(NewEvidence item) {
    std::vector<NewEvidence> one;
    one.push_back(std::move(item));
    return std::move(commit_evidence_batch(std::move(one)).front());
  }

  virtual std::optional<EvidenceRecord> get_evidence(const std::string& id) const = 0;
  // The exact stored bytes of a record (for audits: record_hash is over these).
  virtual std::optional<Bytes> evidence_bytes(const std::string& id) const = 0;
  virtual std::optional<Bytes> timestamp_token(const std::string& id) const = 0;
  virtual std::vector<std::string> cases_of(const std::string& id) const = 0;
  virtual std::vector<std::string> items_in_case(const std::string& case_number) const = 0;
  virtual std::vector<std::string> items_with_content(const ContentId& id) const = 0;
  // Case numbers starting with `prefix` (bytewise), in byte order, at most `limit`.
  // Error(invalid_argument) for a prefix longer than 511 bytes.
  virtual std::vector<std::string> list_cases(const std::string& prefix, std::size_t limit) const = 0;
  // Error(invalid_argument) for a bad cursor, or one from a search of another officer
  // or device.
  virtual SearchPage search(const SearchQuery& q) const = 0;
  // Every evidence id, in id (= time) order. The callback runs outside any read
  // transaction, so it may take its time.
  virtual void for_each_evidence(const std::function<void(const std::string& id)>& fn) const = 0;
  virtual std::uint64_t evidence_count() const = 0;

  // Link/unlink in one commit with their custody entry (evidence and case set from
  // the arguments). Return the entry index. link: Error(not_found) for an unknown
  // item, Error(conflict) when already linked; unlink: Error(not_found) when not linked.
  virtual std::uint64_t link_case(const std::string& id, const std::string& case_number, CustodyEvent event) = 0;
  virtual std::uint64_t unlink_case(const std::string& id, const std::string& case_number, CustodyEvent event) = 0;

  // Stores `value` under (kind, id) together with a custody entry, in one commit.
  virtual std::uint64_t put_derived(const std::string& kind, const std::string& id, const std::string& value,
                                    const CustodyEvent& event) = 0;
  virtual std::optional<std::string> get_derived(const std::string& kind, const std::string& id) const = 0;
};

}  // namespace evidence
