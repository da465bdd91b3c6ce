#include "tools/evidencectl/upload_job.h"

#include <boost/json.hpp>

#include "base/error.h"
#include "tools/evidencectl/local_files.h"

namespace evidencectl {

UploadOutcome upload_and_verify(Http& http, const std::filesystem::path& file, const UploadMetadata& meta,
                                const std::filesystem::path& receipt_path, const TusOptions& tus,
                                const TrustOptions& trust, Progress& progress,
                                const std::optional<evidence::ContentId>& known_sha256) {
  UploadOutcome out;
  try {
    const TusResult sent = tus_upload(http, file, meta, tus, progress, known_sha256);
    out.bytes_sent = sent.bytes_sent;
    out.sha256 = sent.sha256.hex();
    say("sent " + std::to_string(sent.bytes_sent) + " bytes: " + file.string());
    const auto receipt = fetch_receipt(http, sent.upload_path, tus);
    const auto* eid = receipt.if_contains("evidence_id");
    out.evidence_id = eid && eid->is_string() ? std::string(eid->as_string()) : std::string{};
    if (!sent.evidence_id.empty() && sent.evidence_id != out.evidence_id) {
      out.code = kProblems;
      out.message = "the upload completed as evidence " + sent.evidence_id + " but the receipt is for '" +
                    out.evidence_id + "'";
      return out;
    }
    // Keep the receipt whatever the verdict: a failing receipt is itself evidence.
    write_file_durably(receipt_path, boost::json::serialize(receipt) + "\n");
    const auto check = check_receipt(receipt, file, trust, &http);
    if (!check.ok()) {
      print_receipt_check(check, true);
      out.code = kProblems;
      out.message = "the receipt for " + file.string() + " does not verify (kept at " + receipt_path.string() + ")";
      return out;
    }
    forget_upload(tus, file);
    out.code = kOk;
    return out;
  } catch (const Failure& f) {
    out.code = f.code();
    out.message = f.what();
  } catch (const evidence::Error& e) {
    out.code = kCannotRun;
    out.message = e.what();
  }
  return out;
}

}  // namespace evidencectl
