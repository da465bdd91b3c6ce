// Helpers for store tests: an evidence record with valid metadata, and a committed item.
#pragma once

#include <string>

#include "store/blob_store.h"
#include "store/data_dir.h"
#include "store/ids.h"
#include "store/index.h"
#include "base/timefmt.h"
#include "tests/tempdir.h"

namespace evidence::test {

// A fresh, empty data directory (as `evidenced init` lays it out, without keys).
struct DataDir {
  TempDir tmp;
  Layout layout{tmp / "data"};
  DataDir() { create_data_directory(layout); }
};

inline NewEvidence new_item(const BlobInfo& blob, std::vector<std::string> cases = {},
                            std::string officer = "officer-1", std::string device = "cam-7",
                            std::string recorded_at = "2026-11-01T10:00:00Z") {
  NewEvidence n;
  n.record.id = new_evidence_id();
  n.record.sha256 = blob.id;
  n.record.size = blob.size;
  n.record.cases = std::move(cases);
  n.record.officer = std::move(officer);
  n.record.device = std::move(device);
  n.record.recorded_at = std::move(recorded_at);
  n.record.received_at = format_rfc3339(now_us());
  n.record.filename = "clip.mp4";
  n.record.uploaded_by = n.record.officer;
  n.timestamp_token = {0x30, 0x00};  // placeholder DER; store tests do not check tokens
  n.event.time = n.record.received_at;
  n.event.actor = n.record.officer;
  n.event.role = "officer";
  n.event.action = "ingest";
  if (!n.record.cases.empty()) n.event.case_number = n.record.cases.front();
  return n;
}

inline BlobInfo put_blob(BlobStore& blobs, const std::string& content) {
  auto w = blobs.begin_write();
  w->write(as_bytes(content));
  return w->commit();
}

}  // namespace evidence::test
