#include "verify/audit_versions.h"

#include "base/error.h"

namespace evidence {

void check_versions(BlobStore& blobs, const std::map<ContentId, std::set<std::string>>& named, AuditReport& report) {
  for (const auto& [id, versions] : named) {
    if (versions.empty() || versions.count("")) continue;
    std::vector<BlobVersion> all;
    try {
      if (VersionedBlobs* vb = blobs.versioned()) all = vb->versions(id);
    } catch (const std::exception& e) {
      Problem h;
      h.kind = ProblemKind::versions_unlisted;
      h.sha256 = id.hex();
      h.detail = "cannot list the versions of " + id.hex() + ": " + e.what();
      report.hints.push_back(std::move(h));
      continue;
    }
    for (const auto& v : all) {
      if (!v.delete_marker && versions.count(v.version)) continue;
      Problem p;
      p.kind = ProblemKind::extra_version;
      p.sha256 = id.hex();
      std::string recorded;
      for (const auto& r : versions) recorded += (recorded.empty() ? "" : ", ") + r;
      if (v.delete_marker) {
        p.detail = "a delete marker (version " + v.version + ", " + v.last_modified + ") under content " + id.hex() +
                   ": someone tried to delete evidence; reads use the recorded version " + recorded;
      } else {
        p.detail = "version " + v.version + " (" + std::to_string(v.size) + " bytes, " + v.last_modified +
                   ") under content " + id.hex() + " is named by no record: a tampering attempt; reads use the " +
                   "recorded version " + recorded;
      }
      report.problems.push_back(std::move(p));
      report.ok = false;
    }
  }
}

std::map<ContentId, std::set<std::string>> named_versions(const Index& index, const std::set<ContentId>& contents) {
  std::map<ContentId, std::set<std::string>> out;
  if (contents.empty()) return out;
  index.for_each_evidence([&](const std::string& eid) {
    auto bytes = index.evidence_bytes(eid);
    if (!bytes) return;
    try {
      auto rec = EvidenceRecord::decode(*bytes);
      if (contents.count(rec.sha256)) out[rec.sha256].insert(rec.blob_version);
    } catch (const std::exception&) {
      // an undecodable record is reported by the record pass
    }
  });
  return out;
}

bool blob_present(BlobStore& blobs, const ContentId& id, const std::string& version) {
  if (blobs.exists(id)) return true;
  if (version.empty()) return false;
  try {
    blobs.open(id, version);
    return true;
  } catch (const Error& e) {
    if (e.code() == Errc::not_found) return false;
    throw;
  }
}

}  // namespace evidence
