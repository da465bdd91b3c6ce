// One file from local disk to a verified receipt: the unit both `upload` and `dock`
// are made of. Success means the receipt is on disk and verifies against the local
// file; only then is the resume state dropped.
#pragma once

#include <filesystem>
#include <string>

#include "tools/evidencectl/http.h"
#include "tools/evidencectl/progress.h"
#include "tools/evidencectl/trust.h"
#include "tools/evidencectl/tus.h"

namespace evidencectl {

struct UploadOutcome {
  int code = kCannotRun;  // kOk, kProblems (receipt does not verify), kCannotRun
  std::string evidence_id;
  std::string sha256;
  std::uint64_t bytes_sent = 0;
  std::string message;  // why, when code != kOk
};

// Never throws for a failed upload (the outcome says so); throws only on bugs.
UploadOutcome upload_and_verify(Http& http, const std::filesystem::path& file, const UploadMetadata& meta,
                                const std::filesystem::path& receipt_path, const TusOptions& tus,
                                const TrustOptions& trust, Progress& progress,
                                const std::optional<evidence::ContentId>& known_sha256 = std::nullopt);

}  // namespace evidencectl
