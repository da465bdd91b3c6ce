// evidencectl upload FILE...: resumable tus uploads, verified receipts.
#include <atomic>
#include <mutex>
#include <thread>

#include "tools/evidencectl/cli.h"
#include "tools/evidencectl/local_files.h"
#include "tools/evidencectl/upload_job.h"

namespace evidencectl {
namespace fs = std::filesystem;

namespace {

struct UploadArgs {
  std::vector<std::string> files;
  std::string officer, device, case_number, recorded_at, receipt, chunk_size = "8M", limit_rate;
  std::string state_dir, tsa_ca, log_key;
  int retries = 10;
  int jobs = 1;
  bool plain = false;
};

int run_upload(const Globals& g, const UploadArgs& a) {
  if (!a.receipt.empty() && a.files.size() != 1)
    cannot_run("--receipt names one receipt: use it with one file (default: FILE.receipt.json beside each)");
  if (a.jobs < 1) cannot_run("-j must be at least 1");
  for (const auto& f : a.files) identify(f);  // every file readable before any upload starts

  TusOptions tus;
  tus.chunk_size = parse_size(a.chunk_size);
  if (tus.chunk_size == 0) cannot_run("--chunk-size must be positive");
  tus.retries = a.retries;
  tus.limit_rate = a.limit_rate.empty() ? 0 : static_cast<std::int64_t>(parse_size(a.limit_rate));
  tus.state_dir = a.state_dir.empty() ? state_dir() / "uploads" : fs::path(a.state_dir);
  tus.should_stop = stop_requested;
  TrustOptions trust;
  if (!a.tsa_ca.empty()) trust.tsa_ca_pem = read_pem_file(a.tsa_ca);
  if (!a.log_key.empty()) trust.log_key = a.log_key;
  // Local arguments are checked first; then where to send it.
  { Http check_server(g); }  // a bad --server is a usage error before any thread starts
  if (g.token.empty()) cannot_run("no token: pass --token or set EVIDENCE_TOKEN");
  install_stop_signals();

  Progress progress(!a.plain && Progress::stderr_is_terminal());
  std::atomic<std::size_t> next{0};
  std::mutex mu;
  int worst = kOk;
  auto worker = [&] {
    Http http(g);
    for (;;) {
      const std::size_t i = next++;
      if (i >= a.files.size()) return;
      const fs::path file = a.files[i];
      UploadMetadata meta;
      meta.officer = a.officer;
      meta.device = a.device;
      meta.filename = file.filename().string();
      if (!a.case_number.empty()) meta.case_number = a.case_number;
      UploadOutcome out;
      try {
        meta.recorded_at = a.recorded_at.empty() ? mtime_rfc3339(file) : a.recorded_at;
        const fs::path receipt = a.receipt.empty() ? fs::path(file.string() + ".receipt.json") : fs::path(a.receipt);
        out = upload_and_verify(http, file, meta, receipt, tus, trust, progress);
        if (out.code == kOk)
          say("uploaded " + file.string() + " as " + out.evidence_id + " (sha256 " + out.sha256 +
              "), receipt verified: " + receipt.string());
      } catch (const Failure& f) {
        out.code = f.code();
        out.message = f.what();
      }
      if (out.code != kOk) warn("evidencectl: " + file.string() + ": " + out.message);
      std::lock_guard lock(mu);
      // A receipt that does not verify outranks a transfer that could not finish.
      if (out.code == kProblems || (out.code == kCannotRun && worst == kOk)) worst = out.code;
    }
  };
  const int n = std::min<int>(a.jobs, static_cast<int>(a.files.size()));
  std::vector<std::thread> threads;
  for (int t = 1; t < n; ++t) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  return worst;
}

}  // namespace

void add_upload(CLI::App& app, Globals& g, Runner& run) {
  auto a = std::make_shared<UploadArgs>();
  auto* sub = app.add_subcommand("upload", "Upload files (tus, resumable) and keep verified receipts");
  sub->add_option("files", a->files, "Files to upload")->required()->check(CLI::ExistingFile);
  sub->add_option("--officer", a->officer, "Officer who recorded the footage")->required();
  sub->add_option("--device", a->device, "Recorder or camera id")->required();
  sub->add_option("--case", a->case_number, "Case number to link at ingest");
  sub->add_option("--recorded-at", a->recorded_at, "RFC 3339 time of recording (default: the file's mtime)");
  sub->add_option("--receipt", a->receipt, "Where to write the receipt (one file only; default FILE.receipt.json)");
  sub->add_option("--chunk-size", a->chunk_size, "Bytes per PATCH (e.g. 8M)")->capture_default_str();
  sub->add_option("--limit-rate", a->limit_rate, "Upper bound on the send rate, bytes/s (e.g. 2M)");
  sub->add_option("--retries", a->retries, "Consecutive failures before giving up (resumable later)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  sub->add_option("-j,--jobs", a->jobs, "Files uploaded in parallel")->capture_default_str();
  sub->add_option("--state-dir", a->state_dir, "Resume state folder (default ~/.local/state/evidencectl/uploads)");
  sub->add_option("--tsa-ca", a->tsa_ca, "PEM of the TSA CA to check timestamps with")->check(CLI::ExistingFile);
  sub->add_option("--log-key", a->log_key, "C2SP verifier key of the custody log");
  sub->add_flag("--plain", a->plain, "Plain progress lines even on a terminal");
  sub->callback([&g, &run, a] { run = [&g, a] { return run_upload(g, *a); }; });
}

}  // namespace evidencectl
