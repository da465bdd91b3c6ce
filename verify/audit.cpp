// The audit's driver: picks the items in scope and runs the passes described in
// audit.h, in the order that lets later passes reuse what earlier ones read (the log
// pass yields the ingest entries the record pass checks against).

#include "verify/audit.h"

#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "store/error.h"
#include "verify/audit_passes.h"
#include "verify/audit_versions.h"
#include "verify/keys.h"
#include "verify/tsa.h"

namespace evidence {

boost::json::object Problem::to_json() const {
  boost::json::object o;
  o["evidence"] = evidence.empty() ? boost::json::value(nullptr) : boost::json::value(evidence);
  o["kind"] = kind;
  o["detail"] = detail;
  if (segment) o["segment"] = boost::json::object{{"start", segment->first}, {"end", segment->second}};
  if (log_index) o["log_index"] = *log_index;
  if (sha256) o["sha256"] = *sha256;
  return o;
}

boost::json::object AuditReport::to_json() const {
  boost::json::object o;
  o["ok"] = ok;
  o["checked"] = checked;
  boost::json::array ps, hs;
  for (const auto& p : problems) ps.push_back(p.to_json());
  for (const auto& h : hints) hs.push_back(h.to_json());
  o["problems"] = std::move(ps);
  o["hints"] = std::move(hs);
  o["log_entries"] = log_entries;
  o["checkpoints"] = checkpoints;
  o["bytes_hashed"] = bytes_hashed;
  return o;
}

namespace audit_detail {

void add_problem(AuditReport& r, Problem p) {
  r.ok = false;
  r.problems.push_back(std::move(p));
}
void add_hint(AuditReport& r, Problem p) { r.hints.push_back(std::move(p)); }
void check_cancel(const std::atomic<bool>* cancel) {
  if (cancel && cancel->load(std::memory_order_relaxed)) throw Error(Errc::unavailable, "audit cancelled");
}

}  // namespace audit_detail

namespace {

using namespace audit_detail;

Problem item_problem(const std::string& id, std::string kind, std::string detail) {
  Problem p;
  p.evidence = id;
  p.kind = std::move(kind);
  p.detail = std::move(detail);
  return p;
}

std::string read_text_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw Error(Errc::not_found, "cannot read " + p.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Pass 3: every blob must be referenced by a record, and everything in the blob area
// must be a well-formed blob (junk such as an editor's backup file is named, not
// skipped).
void orphans(BlobStore& blobs, const std::set<ContentId>& referenced, AuditReport& r) {
  blobs.for_each([&](const ContentId& id, std::uint64_t) {
    if (referenced.count(id)) return;
    Problem h;
    h.kind = "blob_orphan";
    h.detail = "blob " + id.hex() + " is not referenced by any record";
    h.sha256 = id.hex();
    add_hint(r, std::move(h));
  });
  for (const auto& name : blobs.stray_names()) {
    Problem h;
    h.kind = "blob_orphan";
    h.detail = "'" + name + "' in the blob area is not a blob (not named by its SHA-256 in its folder)";
    add_hint(r, std::move(h));
  }
}

struct Item {
  std::string id;
  EvidenceRecord record;
};

}  // namespace

AuditReport run_audit(const Layout& layout, const Index& index, BlobStore& blobs,
                      const AuditScope& scope, const AuditOptions& options) {
  AuditReport report;
  const note::Verifier verifier = options.log_verifier ? *options.log_verifier : load_log_verifier(layout);
  const std::string ca_pem = options.tsa_ca_pem ? *options.tsa_ca_pem : read_text_file(layout.tsa_ca_cert());

  // Pass 6 first: its ingest entries are the reference for the record pass.
  LogFacts log = check_log(index, verifier, ca_pem, report, options.cancel);

  // Which items are in scope.
  std::vector<std::string> ids;
  switch (scope.kind) {
    case AuditScope::Kind::all:
      index.for_each_evidence([&](const std::string& id) { ids.push_back(id); });
      break;
    case AuditScope::Kind::case_number:
      ids = index.items_in_case(scope.id);
      if (ids.empty()) throw Error(Errc::not_found, "no evidence is linked to case '" + scope.id + "'");
      break;
    case AuditScope::Kind::evidence:
      if (!index.evidence_bytes(scope.id) && !log.ingest.count(scope.id)) {
        throw Error(Errc::not_found, "no evidence " + scope.id);
      }
      ids.push_back(scope.id);
      break;
  }

  // Passes 1 and 5: records decode and match their ingest entries.
  std::vector<Item> items;
  std::set<std::string> seen;
  for (const auto& id : ids) {
    check_cancel(options.cancel);
    seen.insert(id);
    ++report.checked;
    const auto bytes = index.evidence_bytes(id);
    if (!bytes) {
      add_problem(report, item_problem(id, "record_missing",
                                       "an ingest custody entry names this evidence but its record is gone"));
      continue;
    }
    EvidenceRecord rec;
    try {
      rec = EvidenceRecord::decode(*bytes);
    } catch (const std::exception& e) {
      add_problem(report, item_problem(id, "record_altered", std::string("record does not decode: ") + e.what()));
      continue;
    }
    if (rec.id != id) {
      add_problem(report, item_problem(id, "record_altered", "record stored under " + id + " says its id is " + rec.id));
    }
    const std::string actual = Sha256::of(*bytes).hex();
    auto it = log.ingest.find(id);
    if (it == log.ingest.end() && rec.log_index >= log.entries) {
      // Committed by a running daemon after the log pass read the log: read its entry now.
      if (auto e = index.log_entry(rec.log_index)) {
        try {
          const auto ev = CustodyEvent::decode(e->leaf);
          if (ev.action == "ingest" && ev.evidence == id && ev.record_hash) {
            it = log.ingest.emplace(id, std::vector<IngestEntry>{{rec.log_index, *ev.record_hash, ev.sha256, ev.size}})
                     .first;
          }
        } catch (const std::exception&) {
          // left to the problem below
        }
      }
    }
    if (it == log.ingest.end()) {
      add_problem(report, item_problem(id, "log_inconsistent", "no ingest custody entry names this evidence"));
    } else {
      const auto& entries = it->second;
      if (entries.size() > 1) {
        auto p = item_problem(id, "log_inconsistent",
                              std::to_string(entries.size()) + " ingest custody entries name this evidence");
        p.log_index = entries[1].index;
        add_problem(report, std::move(p));
      }
      const IngestEntry& ingest = entries.front();
      if (rec.log_index != ingest.index) {
        auto p = item_problem(id, "record_altered",
                              "record says its ingest entry is " + std::to_string(rec.log_index) +
                                  ", the log's ingest entry for it is " + std::to_string(ingest.index));
        p.log_index = ingest.index;
        add_problem(report, std::move(p));
      }
      if (actual != ingest.record_hash) {
        auto p = item_problem(id, "record_altered",
                              "record bytes hash to " + actual + ", ingest entry " +
                                  std::to_string(ingest.index) + " recorded " + ingest.record_hash);
        p.log_index = ingest.index;
        add_problem(report, std::move(p));
      }
      // The log's own word on the content (entries since 0.3): a record that names
      // other bytes than its ingest entry did is altered, whatever else matches.
      if ((ingest.sha256 && *ingest.sha256 != rec.sha256.hex()) || (ingest.size && *ingest.size != rec.size)) {
        auto p = item_problem(id, "record_altered",
                              "record names content " + rec.sha256.hex() + " (" + std::to_string(rec.size) +
                                  " bytes), ingest entry " + std::to_string(ingest.index) + " logged " +
                                  ingest.sha256.value_or("?") + " (" +
                                  (ingest.size ? std::to_string(*ingest.size) : std::string("?")) + " bytes)");
        p.log_index = ingest.index;
        add_problem(report, std::move(p));
      }
    }
    items.push_back({id, std::move(rec)});
  }
  if (scope.kind == AuditScope::Kind::all) {
    for (const auto& [id, entries] : log.ingest) {
      if (seen.count(id)) continue;
      if (index.evidence_bytes(id)) continue;  // committed after our listing
      auto p = item_problem(id, "record_missing", "ingest custody entry " + std::to_string(entries.front().index) +
                                                      " names this evidence but there is no record");
      p.log_index = entries.front().index;
      add_problem(report, std::move(p));
    }
  }

  // Pass 8: which items each case holds follows from the log alone.
  check_membership(index, log, scope, report);

  // Pass 7: timestamp tokens over each item's content hash.
  for (const auto& item : items) {
    check_cancel(options.cancel);
    const auto token = index.timestamp_token(item.id);
    if (!token || token->empty()) {
      add_problem(report, item_problem(item.id, "timestamp_invalid", "no timestamp token is stored"));
      continue;
    }
    try {
      tsa::verify(*token, item.record.sha256, ca_pem);
    } catch (const std::exception& e) {
      add_problem(report, item_problem(item.id, "timestamp_invalid", e.what()));
    }
  }

  // Passes 2 and 4: blobs present and intact. Shared content is hashed once.
  std::map<ContentId, std::vector<const Item*>> by_blob;
  for (const auto& item : items) by_blob[item.record.sha256].push_back(&item);
  std::vector<HashTask> tasks;
  std::vector<std::vector<const Item*>> task_items;
  for (const auto& [id, its] : by_blob) {
    bool present = false;
    try {
      present = blob_present(blobs, id, its.front()->record.blob_version);
    } catch (const std::exception&) {
      present = true;  // let the re-hash (with its retry) decide
    }
    if (!present) {
      for (const Item* it : its) {
        auto p = item_problem(it->id, "blob_missing", "content " + id.hex() + " is not in the blob store");
        p.sha256 = id.hex();
        add_problem(report, std::move(p));
      }
      continue;
    }
    HashTask t;
    t.id = id;
    t.version = its.front()->record.blob_version;
    for (const Item* it : its) t.expected_size = std::max(t.expected_size, it->record.size);
    tasks.push_back(t);
    task_items.push_back(its);
  }
  const auto results = rehash(blobs, tasks, options, report.bytes_hashed);
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    const auto& r = results[i];
    const std::string hex = tasks[i].id.hex();
    if (r.transient) {
      Problem h;
      h.kind = "transient_read_error";
      h.sha256 = hex;
      h.detail = "blob " + hex + ": first read failed (" + r.first_error + "), the retry read it intact";
      add_hint(report, std::move(h));
    }
    for (const Item* it : task_items[i]) {
      Problem p;
      p.evidence = it->id;
      p.sha256 = hex;
      switch (r.status) {
        case HashResult::Status::ok:
          if (r.size != it->record.size) {
            p.kind = "content_mismatch";
            p.detail = "blob " + hex + " holds " + std::to_string(r.size) + " bytes, the record says " +
                       std::to_string(it->record.size);
          }
          break;
        case HashResult::Status::mismatch:
          p.kind = "content_mismatch";
          p.detail = "content hashes to " + r.actual.hex() + " (" + std::to_string(r.size) +
                     " bytes), expected " + hex + " (" + std::to_string(it->record.size) +
                     " bytes); same on a second read";
          break;
        case HashResult::Status::missing:
          p.kind = "blob_missing";
          p.detail = "content " + hex + " disappeared during the audit: " + r.error;
          break;
        case HashResult::Status::unreadable:
          p.kind = "content_mismatch";
          p.detail = "content " + hex + " cannot be read (twice): " + r.error;
          break;
      }
      if (p.kind.empty()) continue;
      if (p.kind == "content_mismatch") {
        std::optional<std::string> table;
        try {
          table = options.segments ? options.segments(it->id) : index.get_derived(kSegmentsKind, it->id);
        } catch (const std::exception&) {
          table.reset();
        }
        if (table) {
          std::string what;
          p.segment = damaged_segment(blobs, tasks[i], *table, what);
          if (!what.empty()) p.detail += "; " + what;
        }
      }
      add_problem(report, std::move(p));
    }
  }

  // Object versions (S3): every version under an evidence key is one a record names.
  {
    std::set<ContentId> versioned;
    for (const auto& t : tasks) {
      if (!t.version.empty()) versioned.insert(t.id);
    }
    check_versions(blobs, named_versions(index, versioned), report);
  }

  // Pass 3: orphans, for the whole store only.
  if (scope.kind == AuditScope::Kind::all) {
    std::set<ContentId> referenced;
    index.for_each_evidence([&](const std::string& id) {
      if (auto bytes = index.evidence_bytes(id)) {
        try {
          referenced.insert(EvidenceRecord::decode(*bytes).sha256);
        } catch (const std::exception&) {
          // reported as record_altered above
        }
      }
      // A poster frame is a derived blob that the item's "thumbnail" value names.
      if (auto thumb = index.get_derived("thumbnail", id)) {
        if (auto tid = ContentId::from_hex(*thumb)) referenced.insert(*tid);
      }
    });
    orphans(blobs, referenced, report);
  }
  return report;
}

namespace {

std::string human_bytes(std::uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

void print_finding(std::ostream& out, const char* label, const Problem& p) {
  out << label << " " << p.kind;
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

}  // namespace

int run_verify_cli(const std::filesystem::path& data_dir, const AuditScope& scope, bool json,
                   bool progress_on_tty, const std::optional<std::filesystem::path>& extra_tsa_ca,
                   BlobStore* blob_store) {
  try {
    const Layout layout(data_dir);
    std::error_code ec;
    if (!std::filesystem::is_directory(layout.index_dir(), ec)) {
      std::cerr << "evidenced verify: " << data_dir.string() << " holds no index (not an evidence data directory)\n";
      return 2;
    }
    const auto opened = open_index(layout, OpenMode::read_only);
    const Index& index = *opened;
    std::unique_ptr<BlobStore> local;
    if (!blob_store) local = std::make_unique<LocalBlobStore>(layout);
    BlobStore& blobs = blob_store ? *blob_store : *local;
    AuditOptions options;
    if (extra_tsa_ca) {
      std::error_code ec2;
      std::string pem = std::filesystem::exists(layout.tsa_ca_cert(), ec2) ? read_text_file(layout.tsa_ca_cert()) : "";
      if (!pem.empty() && pem.back() != '\n') pem += '\n';
      options.tsa_ca_pem = pem + read_text_file(*extra_tsa_ca);
    }
    const bool bar = progress_on_tty && ::isatty(STDERR_FILENO);
    if (bar) options.progress = draw_bar;
    AuditReport report = run_audit(layout, index, blobs, scope, options);
    if (bar) std::fputs("\r\033[K", stderr);

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
    return report.ok ? 0 : 1;
  } catch (const Error& e) {
    std::cerr << "evidenced verify: " << errc_name(e.code()) << ": " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "evidenced verify: " << e.what() << "\n";
    return 2;
  }
}

}  // namespace evidence
