// A real evidence store in a temporary folder, built through the store API the daemon
// uses (keys, blobs, TSA tokens, index commits, signed checkpoints), for the audit and
// bundle tests to verify and then attack.
#pragma once

#include <sys/stat.h>
#include <sys/wait.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "store/blob_store.h"
#include "store/ids.h"
#include "store/index.h"
#include "store/lmdb/lmdb_index.h"
#include "base/timefmt.h"
#include "tests/tempdir.h"
#include "verify/audit.h"
#include "verify/keys.h"
#include "verify/signed_note.h"
#include "verify/tsa.h"

namespace evidence::test::audit {

// Runs `evidenced verify --data DIR` with the scope's --case/--evidence, --json and
// --tsa-ca as asked (stderr passes through): its exit code (-1 when it did not exit)
// and stdout.
inline std::pair<int, std::string> evidenced_verify(const std::filesystem::path& dir, const AuditScope& scope,
                                                    bool json,
                                                    const std::optional<std::filesystem::path>& tsa_ca = {}) {
  auto quoted = [](const std::string& s) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
  };
  std::string cmd = quoted(EVIDENCED_PATH) + " verify --data " + quoted(dir.string());
  if (scope.kind == AuditScope::Kind::case_number) cmd += " --case " + quoted(scope.id);
  if (scope.kind == AuditScope::Kind::evidence) cmd += " --evidence " + quoted(scope.id);
  if (json) cmd += " --json";
  if (tsa_ca) cmd += " --tsa-ca " + quoted(tsa_ca->string());
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p);
  std::string out;
  char buf[4096];
  while (const std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

inline std::array<std::uint8_t, 8> be64(std::uint64_t v) {
  std::array<std::uint8_t, 8> k{};
  for (int i = 7; i >= 0; --i, v >>= 8) k[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v & 0xff);
  return k;
}

inline CustodyEvent event(const std::string& action, const std::string& actor = "reviewer-1",
                          const std::string& role = "reviewer") {
  CustodyEvent e;
  e.time = format_rfc3339(now_us());
  e.actor = actor;
  e.role = role;
  e.action = action;
  return e;
}

class Store {
 public:
  Store() : layout(dir.path() / "data") {
    create_instance_keys(layout, "evidence.test/audit");
    index = std::make_unique<LmdbIndex>(layout, OpenMode::read_write);
    blobs = std::make_unique<LocalBlobStore>(layout, 64 << 10);
    tsa = std::make_unique<tsa::EmbeddedTsa>(layout);
  }

  // Stores `content` and commits an item for it, with a real token over its hash.
  Committed add(const std::string& content, std::vector<std::string> cases = {"CASE-1"},
                const std::string& officer = "officer-1") {
    auto w = blobs->begin_write();
    w->write(as_bytes(content));
    return add_blob(w->commit(), std::move(cases), officer);
  }

  // Commits an item for a blob already in the store.
  Committed add_blob(const BlobInfo& blob, std::vector<std::string> cases = {"CASE-1"},
                     const std::string& officer = "officer-1") {
    NewEvidence n;
    n.record.id = new_evidence_id();
    n.record.sha256 = blob.id;
    n.record.size = blob.size;
    n.record.cases = std::move(cases);
    n.record.officer = officer;
    n.record.device = "cam-7";
    n.record.recorded_at = "2026-11-01T10:00:00Z";
    n.record.received_at = format_rfc3339(now_us());
    n.record.filename = "clip-" + std::to_string(items.size()) + ".mp4";
    n.record.uploaded_by = officer;
    n.timestamp_token = tsa->stamp(blob.id);
    n.event = event("ingest", officer, "officer");
    if (!n.record.cases.empty()) n.event.case_number = n.record.cases.front();
    items.push_back(index->commit_evidence(std::move(n)));
    return items.back();
  }

  // Signs and stores a checkpoint over the whole log, with its root timestamped.
  StoredCheckpoint checkpoint() {
    const auto signer = load_log_signer(layout);
    note::Checkpoint cp;
    cp.origin = signer.name;
    cp.size = index->log_size();
    cp.root = index->log_root(cp.size);
    ContentId root;
    root.bytes = cp.root;
    StoredCheckpoint s{cp.size, note::sign(cp.body(), signer.name, signer.key), tsa->stamp(root)};
    index->put_checkpoint(s);
    return s;
  }

  // The usual shape: three items (one under a CJK case number), a checkpoint, a link
  // and a view after it, and a second checkpoint (so consistency is checked too).
  void populate() {
    add("first clip: " + std::string(300000, 'a'));
    add("second clip: " + std::string(200000, 'b'), {"CASE-1", "汉台执罚〔2017〕第123号"});
    add("third clip", {"CASE-2"}, "officer-2");
    checkpoint();
    index->link_case(items[2].record.id, "CASE-1", event("link"));
    auto view = event("view");
    view.evidence = items[0].record.id;
    index->append_event(view);
    checkpoint();
  }

  AuditReport audit(const AuditScope& scope = AuditScope::all(), AuditOptions options = {}) {
    return run_audit(layout, *index, *blobs, scope, options);
  }
  AuditReport audit(BlobStore& other, const AuditScope& scope = AuditScope::all(), AuditOptions options = {}) {
    return run_audit(layout, *index, other, scope, options);
  }

  // `evidenced verify` (the real program) on this store: exit code and stdout. Ours
  // is closed while it runs and reopened after, as the daemon's operator would.
  struct Cli {
    int code;
    std::string out;
  };
  Cli cli(const AuditScope& scope = AuditScope::all(), bool json = true,
          const std::optional<std::filesystem::path>& tsa_ca = std::nullopt) {
    index.reset();
    auto r = evidenced_verify(layout.root(), scope, json, tsa_ca);
    index = std::make_unique<LmdbIndex>(layout, OpenMode::read_write);
    return {r.first, r.second};
  }

  std::filesystem::path blob_path(std::size_t item) const { return layout.blob_path(items.at(item).record.sha256); }

  // Flips one bit of a stored blob (blobs are 0444: made writable first, as an
  // attacker with the disk would).
  void flip_bit(std::size_t item, std::uint64_t offset, std::uint8_t mask = 0x01) {
    const auto p = blob_path(item);
    REQUIRE(::chmod(p.c_str(), 0644) == 0);
    std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
    REQUIRE(f);
    f.seekg(static_cast<std::streamoff>(offset));
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ mask);
    f.seekp(static_cast<std::streamoff>(offset));
    f.write(&c, 1);
    f.close();
    REQUIRE(::chmod(p.c_str(), 0444) == 0);
  }

  TempDir dir;
  Layout layout;
  std::unique_ptr<LmdbIndex> index;
  std::unique_ptr<LocalBlobStore> blobs;
  std::unique_ptr<tsa::EmbeddedTsa> tsa;
  std::vector<Committed> items;
};

inline std::vector<std::string> kinds(const std::vector<Problem>& ps) {
  std::vector<std::string> out;
  for (const auto& p : ps) out.emplace_back(problem_kind_name(p.kind));
  return out;
}

inline bool has(const std::vector<Problem>& ps, const std::string& kind, const std::string& evidence = {}) {
  for (const auto& p : ps) {
    if (problem_kind_name(p.kind) == kind && (evidence.empty() || p.evidence == evidence)) return true;
  }
  return false;
}

// Readable failure messages: the findings as one line each.
inline std::string describe(const AuditReport& r) {
  std::string s;
  for (const auto& p : r.problems) s += "problem " + std::string(problem_kind_name(p.kind)) + " [" + p.evidence + "] " + p.detail + "\n";
  for (const auto& p : r.hints) s += "hint " + std::string(problem_kind_name(p.kind)) + " [" + p.evidence + "] " + p.detail + "\n";
  return s;
}

}  // namespace evidence::test::audit
