// Audit pass for backends that keep object versions (S3 with Object Lock): every
// version under an evidence key must be one a record names. Anyone holding the
// store's keys can PUT a new version (or a delete marker) under a locked key; reads
// never use it (records name their version), but it is a tampering attempt and is
// reported as the problem kind `extra_version`.
#pragma once

#include <map>
#include <set>
#include <string>

#include "store/blob_store.h"
#include "store/index.h"
#include "verify/audit.h"

namespace evidence {

// `named`: for each content to check, the versions that records name (all records of
// that content, not only those in scope). A content whose records name no version
// (the local folder; an empty version id) is skipped. A listing that fails is a hint
// (`versions_unlisted`), not a problem.
void check_versions(BlobStore& blobs, const std::map<ContentId, std::set<std::string>>& named,
                    AuditReport& report);

// Versions named by every record of each of `contents` (a scan of the index).
std::map<ContentId, std::set<std::string>> named_versions(const Index& index, const std::set<ContentId>& contents);

// Whether a record's blob is there: exists(), or, when a version is named, that
// version opens (a delete marker hides the key from exists() but removes no bytes).
bool blob_present(BlobStore& blobs, const ContentId& id, const std::string& version);

}  // namespace evidence
