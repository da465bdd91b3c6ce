// evidenced verify --data DIR [--case C | --evidence ID] [--json] [--tsa-ca FILE]
// The audit itself is verify/audit.h's audit_data_dir over the index opened read-only
// here (store/index.h's open_index); this file
// prints its report: a human summary (or the JSON) on stdout, a progress bar on a
// terminal's stderr, errors on stderr.
#include <unistd.h>

#include <boost/json/serialize.hpp>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "base/files.h"
#include "store/index.h"
#include "store/s3/open_blob_store.h"
#include "tools/evidenced/commands.h"
#include "verify/audit.h"
#include "base/error.h"

namespace evidence::cli {

namespace {


void print_finding(std::ostream& out, const char* label, const Problem& p) {
  out << label << " " << problem_kind_name(p.kind);
  if (!p.evidence.empty()) out << " evidence " << p.evidence;
  if (p.log_index) out << " entry " << *p.log_index;
  out << ": " << p.detail;
  if (p.segment) out << " [damaged media from " << p.segment->first << " s to " << p.segment->second << " s]";
  out << "\n";
}

// A one-line bar redrawn in place on stderr: "verify [#####     ] 48% 1.2 GiB / 2.5 GiB".
void draw_bar(std::uint64_t done, std::uint64_t total) {
  constexpr int kWidth = 30;
  const double frac = total ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
  const int fill = static_cast<int>(frac * kWidth);
  std::string bar(static_cast<std::size_t>(fill), '#');
  bar.resize(kWidth, ' ');
  std::fprintf(stderr, "\rverify [%s] %3d%% %s / %s\033[K", bar.c_str(), static_cast<int>(frac * 100),
               human_bytes(done).c_str(), human_bytes(total).c_str());
  std::fflush(stderr);
}

void print_report(const AuditReport& report, bool json) {
  if (json) {
    std::cout << boost::json::serialize(report.to_json()) << "\n";
  } else {
    std::cout << "checked " << report.checked << " item(s), " << report.log_entries << " custody entries, "
              << report.checkpoints << " checkpoint(s), " << human_bytes(report.bytes_hashed)
              << " of content re-hashed\n";
    for (const auto& p : report.problems) print_finding(std::cout, "PROBLEM", p);
    for (const auto& h : report.hints) print_finding(std::cout, "hint", h);
    if (report.ok) {
      std::cout << "intact: no problems found" << (report.hints.empty() ? "" : " (see hints)") << "\n";
    } else {
      std::cout << report.problems.size() << " problem(s) found\n";
    }
  }
  std::cout.flush();
}

// Runs the audit of `data_dir` and prints it. Returns 0 intact, 1 problems found, 2
// could not run.
int run_verify_cli(const std::filesystem::path& data_dir, const AuditScope& scope, bool json, bool progress_on_tty,
                   const std::optional<std::filesystem::path>& extra_tsa_ca, BlobStore* blob_store) {
  try {
    if (!Layout(data_dir).has_index()) {
      std::cerr << "evidenced verify: " << data_dir.string() << " holds no index (not an evidence data directory)\n";
      return 2;
    }
    AuditOptions options;
    const bool bar = progress_on_tty && ::isatty(STDERR_FILENO);
    if (bar) options.progress = draw_bar;
    const Layout layout(data_dir);
    const auto index = open_index(layout, OpenMode::read_only);
    const AuditReport report = audit_data_dir(layout, *index, scope, options, extra_tsa_ca, blob_store);
    if (bar) std::fputs("\r\033[K", stderr);
    print_report(report, json);
    return report.ok ? 0 : 1;
  } catch (const Error& e) {
    std::cerr << "evidenced verify: " << errc_name(e.code()) << ": " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "evidenced verify: " << e.what() << "\n";
    return 2;
  }
}

}  // namespace

std::function<int()> add_verify(CLI::App& app) {
  struct Args {
    std::string data, case_number, evidence, tsa_ca;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("verify", "offline audit of an instance (read-only; safe while serving)");
  cmd->add_option("--data", a->data, "data folder")->required();
  auto* c = cmd->add_option("--case", a->case_number, "only items linked to this case");
  auto* e = cmd->add_option("--evidence", a->evidence, "only this item");
  c->excludes(e);
  cmd->add_flag("--json", a->json, "print the report as JSON (the shape of POST /verify)");
  auto creds = std::make_shared<std::string>();
  cmd->add_option("--s3-credentials", *creds,
                  "S3 keys file for a bucket DIR/blobs.json names (default: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)");
  cmd->add_option("--tsa-ca", a->tsa_ca, "PEM file of further TSA CA certificates to trust (an outside TSA)");
  return [a, c, e, creds]() {
    AuditScope scope = AuditScope::all();
    if (c->count()) scope = AuditScope::of_case(a->case_number);
    if (e->count()) scope = AuditScope::of_evidence(a->evidence);
    std::optional<std::filesystem::path> extra;
    if (!a->tsa_ca.empty()) extra = a->tsa_ca;
    // The backend DIR/blobs.json names (S3); run_verify_cli opens the local folder itself.
    std::unique_ptr<BlobStore> blobs;
    try {
      const Layout layout(a->data);
      if (auto cfg = read_blob_config(layout); cfg && cfg->backend != "local") {
        std::optional<std::filesystem::path> file;
        if (!creds->empty()) file = *creds;
        blobs = open_data_blob_store(layout, file);
      }
    } catch (const std::exception& ex) {
      std::cerr << "evidenced verify: cannot open the blob store: " << ex.what() << "\n";
      return 2;
    }
    return run_verify_cli(a->data, scope, a->json, true, extra, blobs.get());
  };
}

}  // namespace evidence::cli
