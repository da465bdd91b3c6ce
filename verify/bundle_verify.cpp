// Reading and checking an export bundle offline (see bundle.h): one pass over the tar
// hashes content as it streams by and keeps the small files; then one function per
// check, in order, each adding its findings to a shared context.
//
// The checks share BundleCheck, the state read from the tar (verify/bundle_check.h,
// private to the bundle reader); checks added since it was published there live in
// files of their own (bundle_reviews.cpp).

#include <archive.h>
#include <archive_entry.h>

#include <boost/json.hpp>
#include <algorithm>
#include <map>
#include <set>

#include "base/error.h"
#include "verify/bundle.h"
#include "verify/bundle_check.h"
#include "verify/bundle_format.h"
#include "verify/merkle_verify.h"
#include "verify/signed_note.h"
#include "verify/tsa.h"

namespace evidence {

namespace json = boost::json;
using namespace bundle_format;
using namespace bundle_detail;

boost::json::object BundleReport::to_json() const {
  json::object o;
  o["ok"] = ok;
  o["case"] = case_number;
  o["items"] = items;
  o["entries"] = entries;
  o["reviews"] = reviews;
  json::array ps, hs;
  for (const auto& p : problems) ps.push_back(p.to_json());
  for (const auto& h : hints) hs.push_back(h.to_json());
  o["problems"] = std::move(ps);
  o["hints"] = std::move(hs);
  json::array ds;
  for (const auto& d : disposed) {
    ds.push_back(json::object{{"evidence", d.evidence},
                              {"disposition", d.disposition},
                              {"at", d.at},
                              {"approved_by", d.actor},
                              {"log_index", d.log_index}});
  }
  o["disposed"] = std::move(ds);
  return o;
}

namespace {

struct ArchiveReader {
  struct archive* a = archive_read_new();
  ~ArchiveReader() {
    if (a) archive_read_free(a);
  }
};

bool is_hex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

constexpr std::uint64_t kSmallFileLimit = 64 << 20;  // anything but content

// The one pass over the tar: content is hashed as it streams by, the rest is kept.
void read_tar(const std::filesystem::path& tar_file, BundleCheck& c) {
  ArchiveReader r;
  if (!r.a) throw Error(Errc::internal, "archive_read_new failed");
  archive_read_support_format_tar(r.a);
  archive_read_support_filter_all(r.a);
  if (archive_read_open_filename(r.a, tar_file.c_str(), 1 << 16) != ARCHIVE_OK) {
    throw Error(Errc::corrupt, tar_file.string() + " is not a readable tar: " + archive_error_string(r.a));
  }
  std::vector<std::uint8_t> buf(1 << 20);
  std::set<std::string> seen;
  for (;;) {
    struct archive_entry* e = nullptr;
    const int rc = archive_read_next_header(r.a, &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) {
      throw Error(Errc::corrupt, "bundle is not a complete tar: " + std::string(archive_error_string(r.a)));
    }
    std::string path = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
    while (path.starts_with("./")) path.erase(0, 2);
    if (archive_entry_filetype(e) == AE_IFDIR) continue;
    if (archive_entry_filetype(e) != AE_IFREG) {
      c.hint(finding("", ProblemKind::bundle_unexpected, "'" + path + "' is not a regular file; ignored"));
      continue;
    }
    if (!seen.insert(path).second) {
      // Extracting would keep only the last copy: a second copy is how a tampered
      // file could hide behind a good one.
      c.problem(finding("", ProblemKind::bundle_malformed, "'" + path + "' appears more than once in the tar"));
    }
    const bool content = path.starts_with(kContentPrefix);
    Sha256 h;
    std::string kept;
    std::uint64_t size = 0;
    for (;;) {
      const la_ssize_t n = archive_read_data(r.a, buf.data(), buf.size());
      if (n < 0) throw Error(Errc::corrupt, "reading '" + path + "' from the bundle: " + archive_error_string(r.a));
      if (n == 0) break;
      const std::span<const std::uint8_t> got(buf.data(), static_cast<std::size_t>(n));
      size += got.size();
      if (content) {
        h.update(got);
      } else if (size <= kSmallFileLimit) {
        kept.append(as_chars(got));
      }
    }
    if (content) {
      c.contents[path.substr(kContentPrefix.size())] = {h.finish(), size};
    } else if (size > kSmallFileLimit) {
      c.hint(finding("", ProblemKind::bundle_unexpected, "'" + path + "' is unexpectedly large; ignored"));
    } else {
      c.small[path] = std::move(kept);
    }
  }
}

// manifest.json is there and is a bundle manifest; throws Error(corrupt) otherwise.
void read_manifest(BundleCheck& c) {
  const std::string* mtext = c.get(kManifest);
  if (!mtext) throw Error(Errc::corrupt, "the bundle has no manifest.json");
  try {
    c.manifest = json::parse(*mtext).as_object();
    if (c.manifest.at("format").as_string() != kFormat) {
      throw Error(Errc::corrupt, "unknown bundle format " + json::serialize(c.manifest.at("format")));
    }
    c.rep.case_number = json::value_to<std::string>(c.manifest.at("case"));
  } catch (const Error&) {
    throw;
  } catch (const std::exception& ex) {
    throw Error(Errc::corrupt, std::string("manifest.json is not a bundle manifest: ") + ex.what());
  }
}

// The log key (pinned, else the bundle's) and the TSA CA (pinned, else the bundle's).
void choose_keys(BundleCheck& c, const std::optional<std::string>& pinned_log_key,
                 const std::optional<std::string>& pinned_tsa_ca_pem) {
  if (pinned_log_key) {
    c.verifier = note::Verifier::parse(*pinned_log_key);
    if (!c.verifier) throw Error(Errc::invalid_argument, "the pinned log key is not a verifier key");
    if (const auto* vk = c.get(kLogKey)) {
      const auto line = vk->substr(0, vk->find('\n'));
      if (line != c.verifier->to_string()) {
        c.hint(finding("", ProblemKind::key_differs, "keys/log.vkey in the bundle is not the pinned log key"));
      }
    }
  } else if (const auto* vk = c.get(kLogKey)) {
    c.verifier = note::Verifier::parse(vk->substr(0, vk->find('\n')));
  }
  if (!c.verifier) c.problem(finding("", ProblemKind::signature_invalid, "no usable log key (keys/log.vkey)"));
  if (pinned_tsa_ca_pem) {
    c.ca_pem = *pinned_tsa_ca_pem;
  } else if (const auto* ca = c.get(kTsaCa)) {
    c.ca_pem = *ca;
  }
}

// checkpoint.txt is signed by the log key and parses; checkpoint.tsr, when there,
// timestamps its root.
void check_checkpoint(BundleCheck& c) {
  if (const auto* note_text = c.get(kCheckpoint)) {
    std::optional<std::string> body;
    if (c.verifier) body = note::open(*note_text, *c.verifier);
    if (!body) {
      c.problem(finding("", ProblemKind::signature_invalid,
                        "checkpoint.txt has no valid signature by " +
                            (c.verifier ? c.verifier->name : std::string("the log key"))));
      auto pos = note_text->find("\n\n");
      if (pos != std::string::npos) body = note_text->substr(0, pos + 1);
    }
    if (body) c.cp = note::Checkpoint::parse(*body);
    if (!c.cp) c.problem(finding("", ProblemKind::log_inconsistent, "checkpoint.txt is not a tlog-checkpoint"));
  } else {
    c.problem(finding("", ProblemKind::signature_invalid, "the bundle has no checkpoint.txt"));
  }
  if (!c.cp) return;
  if (const auto* tsr = c.get(kCheckpointToken)) {
    ContentId root;
    root.bytes = c.cp->root;
    try {
      tsa::verify(as_bytes(*tsr), root, c.ca_pem);
    } catch (const std::exception& ex) {
      c.problem(finding("", ProblemKind::timestamp_invalid, std::string("checkpoint.tsr: ") + ex.what()));
    }
  }
}

// One custody.json entry: its leaf as in custody/<i>.leaf, proved into the checkpoint.
// Throws (boost::json, caught by the caller) when the entry is malformed.
void check_custody_entry(BundleCheck& c, const json::object& o) {
  const auto i = json::value_to<std::uint64_t>(o.at("index"));
  auto leaf = from_base64(o.at("leaf").as_string());
  const std::string where = "custody entry " + std::to_string(i);
  ++c.rep.entries;
  c.unproved.insert(i);  // until it proves
  if (!leaf) {
    c.problem(finding("", ProblemKind::log_inconsistent, where + ": leaf is not base64"));
    return;
  }
  const std::string leaf_text(as_chars(*leaf));
  const auto* file = c.get(leaf_path(i));
  if (!file || *file != leaf_text) {
    c.problem(finding("", ProblemKind::log_inconsistent,
                      where + ": " + leaf_path(i) + " is missing or differs from custody.json"));
  }
  std::optional<CustodyEvent> event;
  try {
    event = CustodyEvent::decode(leaf_text);
  } catch (const std::exception& ex) {
    c.problem(finding("", ProblemKind::log_inconsistent, where + " does not decode: " + ex.what()));
  }
  const std::string evid = event && event->evidence ? *event->evidence : "";
  const auto& pr = o.at("inclusion_proof").as_object();
  std::vector<merkle::Hash> proof;
  bool proof_ok = true;
  for (const auto& hv : pr.at("hashes").as_array()) {
    auto hb = from_base64(hv.as_string());
    if (!hb || hb->size() != 32) {
      proof_ok = false;
      break;
    }
    merkle::Hash h;
    std::copy(hb->begin(), hb->end(), h.begin());
    proof.push_back(h);
  }
  const auto psize = json::value_to<std::uint64_t>(pr.at("size"));
  const auto pindex = json::value_to<std::uint64_t>(pr.at("index"));
  if (!c.cp) {
    proof_ok = false;
  } else if (!proof_ok || psize != c.cp->size || pindex != i ||
             !merkle::verify_inclusion(merkle::leaf_hash(*leaf), i, c.cp->size, proof, c.cp->root)) {
    proof_ok = false;
  }
  if (!proof_ok) {
    auto p = finding(evid, ProblemKind::log_inconsistent,
                     where + ": the inclusion proof does not lead to the checkpoint root");
    p.log_index = i;
    c.problem(std::move(p));
    return;
  }
  if (event) {
    c.events.emplace(i, std::move(*event));
    c.unproved.erase(i);
  }
}

void check_custody(BundleCheck& c) {
  const std::string* ctext = c.get(kCustody);
  if (!ctext) {
    c.problem(finding("", ProblemKind::log_inconsistent, "the bundle has no custody.json"));
    return;
  }
  try {
    const auto custody = json::parse(*ctext).as_object();
    for (const auto& ev : custody.at("entries").as_array()) check_custody_entry(c, ev.as_object());
  } catch (const std::exception& ex) {
    c.problem(finding("", ProblemKind::log_inconsistent, std::string("custody.json is malformed: ") + ex.what()));
  }
}

// The tombstones among the proven entries.
void note_disposed(BundleCheck& c) {
  for (const auto& [i, ev] : c.events) {
    if (ev.action != "dispose" || !ev.evidence) continue;
    std::string disposition;
    if (ev.detail) {
      if (const auto* v = ev.detail->if_contains("disposition"); v && v->is_string()) disposition = v->as_string();
    }
    c.rep.disposed.push_back({*ev.evidence, disposition, ev.time, ev.actor, i});
  }
}

// Every files/<name> hashes to its name.
void check_file_names(BundleCheck& c) {
  for (const auto& [name, seen] : c.contents) {
    if (!is_hex64(name) || seen.hash.hex() != name) {
      auto p = finding("", ProblemKind::content_mismatch, content_path(name) + " hashes to " + seen.hash.hex());
      p.sha256 = name;
      p.expected_sha256 = ContentId::from_hex(name);
      p.actual_sha256 = seen.hash;
      c.problem(std::move(p));
    }
  }
}

// An item's content is in the bundle with the manifest's hash and size.
void check_item_content(BundleCheck& c, const std::string& id, const std::string& hex, const ContentId& sha,
                        std::uint64_t size) {
  auto f = c.contents.find(hex);
  const bool disposed = std::any_of(c.rep.disposed.begin(), c.rep.disposed.end(),
                                    [&id](const BundleReport::DisposedItem& d) { return d.evidence == id; });
  if (f == c.contents.end() && disposed) return;  // gone for good, and the log says why
  if (f == c.contents.end()) {
    auto p = finding(id, ProblemKind::blob_missing, content_path(hex) + " is not in the bundle");
    p.sha256 = hex;
    c.problem(std::move(p));
  } else if (f->second.hash != sha || f->second.size != size) {
    auto p = finding(id, ProblemKind::content_mismatch,
                     content_path(hex) + " hashes to " + f->second.hash.hex() + " (" +
                         std::to_string(f->second.size) + " bytes); the manifest says " + hex + " (" +
                         std::to_string(size) + " bytes)");
    p.sha256 = hex;
    p.expected_sha256 = sha;
    p.actual_sha256 = f->second.hash;
    p.expected_size = size;
    p.actual_size = f->second.size;
    c.problem(std::move(p));
  }
}

void check_item_token(BundleCheck& c, const std::string& id, const ContentId& sha) {
  if (const auto* tsr = c.get(token_path(id))) {
    try {
      tsa::verify(as_bytes(*tsr), sha, c.ca_pem);
    } catch (const std::exception& ex) {
      c.problem(finding(id, ProblemKind::timestamp_invalid, token_path(id) + ": " + ex.what()));
    }
  } else {
    c.problem(finding(id, ProblemKind::timestamp_invalid, token_path(id) + " is not in the bundle"));
  }
}

// The item's proved ingest entry, and every custody entry the manifest lists for it
// proved and naming it. Returns the ingest entry (nullptr when none) and its index.
std::pair<const CustodyEvent*, std::uint64_t> check_item_entries(BundleCheck& c, const std::string& id,
                                                                 const json::object& m) {
  const CustodyEvent* ingest = nullptr;
  std::uint64_t ingest_index = 0;
  for (const auto& [i, ev] : c.events) {
    if (ev.action == "ingest" && ev.evidence == id) {
      ingest = &ev;
      ingest_index = i;
      break;
    }
  }
  if (!ingest) c.problem(finding(id, ProblemKind::log_inconsistent, "no proved ingest custody entry for this item"));
  if (const auto* listed = m.if_contains("entries"); listed && listed->is_array()) {
    for (const auto& iv : listed->as_array()) {
      const auto i = json::value_to<std::uint64_t>(iv);
      const auto ev = c.events.find(i);
      if (ev == c.events.end() || ev->second.evidence != id) {
        auto p = finding(id, ProblemKind::log_inconsistent,
                         "the manifest lists custody entry " + std::to_string(i) +
                             " for this item, but no proved entry " + std::to_string(i) + " names it");
        p.log_index = i;
        c.problem(std::move(p));
      }
    }
  }
  return {ingest, ingest_index};
}

// The record's bytes hash to its ingest entry's record_hash (that entry proved into
// the checkpoint) and agree with the manifest.
void check_item_record(BundleCheck& c, const std::string& id, const ContentId& sha, std::uint64_t size,
                       const CustodyEvent* ingest, std::uint64_t ingest_index) {
  const auto* rec = c.get(record_path(id));
  if (!rec) {
    c.problem(finding(id, ProblemKind::record_altered, record_path(id) + " is not in the bundle"));
    return;
  }
  const ContentId rhash = Sha256::of(*rec);
  if (ingest && ingest->record_hash != rhash.hex()) {
    auto p = finding(id, ProblemKind::record_altered,
                     record_path(id) + " hashes to " + rhash.hex() + ", ingest entry " +
                         std::to_string(ingest_index) + " recorded " + ingest->record_hash.value_or("nothing"));
    p.log_index = ingest_index;
    if (ingest->record_hash) p.expected_sha256 = ContentId::from_hex(*ingest->record_hash);
    p.actual_sha256 = rhash;
    c.problem(std::move(p));
  }
  try {
    const auto r = EvidenceRecord::decode(as_bytes(*rec));
    if (r.id != id || r.sha256 != sha || r.size != size) {
      c.problem(
          finding(id, ProblemKind::record_altered, "the manifest's id, sha256 or size differ from the item's record"));
    }
  } catch (const std::exception& ex) {
    c.problem(finding(id, ProblemKind::record_altered, std::string("record does not decode: ") + ex.what()));
  }
}

void check_items(BundleCheck& c) {
  try {
    for (const auto& iv : c.manifest.at("items").as_array()) {
      const auto& m = iv.as_object();
      const auto id = json::value_to<std::string>(m.at("evidence"));
      const auto hex = json::value_to<std::string>(m.at("sha256"));
      const auto size = json::value_to<std::uint64_t>(m.at("size"));
      ++c.rep.items;
      c.listed_files.insert(hex);
      const auto sha = ContentId::from_hex(hex);
      if (!sha) {
        c.problem(finding(id, ProblemKind::bundle_malformed, "manifest sha256 '" + hex + "' is not a SHA-256"));
        continue;
      }
      check_item_content(c, id, hex, *sha, size);
      check_item_token(c, id, *sha);
      const auto [ingest, ingest_index] = check_item_entries(c, id, m);
      check_item_record(c, id, *sha, size, ingest, ingest_index);
    }
  } catch (const std::exception& ex) {
    c.problem(
        finding("", ProblemKind::bundle_malformed, std::string("manifest.json items are malformed: ") + ex.what()));
  }
}

// Follows one chain (an item's `prev`, or a case's `case_prev`) from the newest
// bundled entry on it back to where it starts. Every link must be in the bundle: an
// entry left out of the bundle breaks the chain (log_inconsistent, naming the chain
// and the missing index). A chain ending at an entry that `is_start` does not accept
// began before chains existed (an older store): a hint, not a failure.
template <class Next, class IsStart>
void follow_chain(BundleCheck& c, const std::string& what, const std::string& evidence,
                  const std::vector<std::uint64_t>& on_chain, Next next, IsStart is_start) {
  if (on_chain.empty()) return;
  std::set<std::uint64_t> reached;
  std::uint64_t at = on_chain.back();  // the newest bundled entry on this chain
  bool any_link = false;
  for (;;) {
    reached.insert(at);
    const CustodyEvent& ev = c.events.at(at);
    const std::optional<std::uint64_t> prev = next(ev);
    if (!prev) {
      if (!is_start(ev)) {
        c.hint(finding(evidence, ProblemKind::bundle_unexpected,
                       "unchained (older store): " + what + "'s entries up to " + std::to_string(at) +
                           (any_link ? " were" : " (all of them) were") +
                           " written before custody entries carried chains, so a gap there cannot be seen"));
      }
      break;
    }
    any_link = true;
    if (c.unproved.count(*prev)) break;  // already a problem of its own
    if (*prev >= at || !c.events.count(*prev)) {
      auto p = finding(evidence, ProblemKind::log_inconsistent,
                       "chain broken: " + what + "'s entry " + std::to_string(at) + " follows entry " +
                           std::to_string(*prev) + ", which the bundle does not hold (or does not prove)");
      p.log_index = *prev;
      c.problem(std::move(p));
      break;
    }
    at = *prev;
  }
  // Every bundled entry on the chain is one the walk reached: with entries proved into
  // the checkpoint this holds unless the log itself is inconsistent.
  for (auto i : on_chain) {
    if (reached.count(i) || i < at) continue;
    auto p = finding(evidence, ProblemKind::log_inconsistent,
                     "chain broken: " + what + "'s entry " + std::to_string(i) +
                         " is not on the chain from its newest entry");
    p.log_index = i;
    c.problem(std::move(p));
  }
}

// Chains (DESIGN.md, "Gaps are visible offline"): each item's from its newest bundled
// entry to its ingest entry, and the exported case's from its newest entry to its
// first; then the case's membership replayed from the bundled entries (ingest with
// the case, link, unlink) must be the manifest's items (case_membership).
void check_chains(BundleCheck& c) {
  std::set<std::string> listed;
  try {
    for (const auto& iv : c.manifest.at("items").as_array()) {
      listed.insert(json::value_to<std::string>(iv.as_object().at("evidence")));
    }
  } catch (const std::exception&) {
    return;  // check_items reported it
  }
  const std::string& case_number = c.rep.case_number;
  for (const auto& id : listed) {
    std::vector<std::uint64_t> on_chain;
    for (const auto& [i, ev] : c.events) {
      if (ev.evidence == id) on_chain.push_back(i);
    }
    follow_chain(
        c, "item " + id, id, on_chain, [](const CustodyEvent& e) { return e.prev; },
        [](const CustodyEvent& e) { return e.action == "ingest"; });
  }
  std::vector<std::uint64_t> case_chain;
  for (const auto& [i, ev] : c.events) {
    if (ev.case_number == case_number) case_chain.push_back(i);
  }
  // The case's first entry is the one without case_prev; the chain always starts
  // there, so is_start accepts any entry with none, unless older entries naming the
  // case lack it too (an older store).
  const bool older_case_entries = [&] {
    if (case_chain.empty()) return false;
    std::uint64_t root = case_chain.back();
    while (true) {
      const auto& ev = c.events.at(root);
      if (!ev.case_prev || !c.events.count(*ev.case_prev) || *ev.case_prev >= root) break;
      root = *ev.case_prev;
    }
    for (auto i : case_chain) {
      if (i < root && !c.events.at(i).case_prev) return true;
    }
    return false;
  }();
  follow_chain(
      c, "case '" + case_number + "'", "", case_chain, [](const CustodyEvent& e) { return e.case_prev; },
      [&](const CustodyEvent&) { return !older_case_entries; });

  // An entry that does not prove is a problem already; replaying without it would
  // only repeat that.
  if (!c.unproved.empty()) return;
  // Membership replay, in log order. An ingest entry puts its item in the entry's case
  // and in every case its record lists, when the bundled record hashes to the entry's
  // record_hash (records made before 0.3 could list several cases).
  std::set<std::string> members;
  for (const auto& [i, ev] : c.events) {
    if (!ev.evidence) continue;
    if (ev.action == "ingest") {
      bool in = ev.case_number == case_number;
      if (const auto* rec = c.get(record_path(*ev.evidence)); rec && ev.record_hash &&
                                                             Sha256::of(*rec).hex() == *ev.record_hash) {
        try {
          for (const auto& k : EvidenceRecord::decode(as_bytes(*rec)).cases) in = in || k == case_number;
        } catch (const std::exception&) {
          // check_item_record reports it
        }
      }
      if (in) members.insert(*ev.evidence);
    } else if (ev.action == "link" && ev.case_number == case_number) {
      members.insert(*ev.evidence);
    } else if (ev.action == "unlink" && ev.case_number == case_number) {
      members.erase(*ev.evidence);
    }
  }
  for (const auto& id : listed) {
    if (!members.count(id)) {
      c.problem(finding(id, ProblemKind::case_membership,
                        "the manifest lists " + id + " in case '" + case_number +
                            "', but the bundled custody entries do not put it there (or an unlink took it out)"));
    }
  }
  for (const auto& id : members) {
    if (!listed.count(id)) {
      c.problem(finding(id, ProblemKind::case_membership,
                        "the bundled custody entries put " + id + " in case '" + case_number +
                            "', but the manifest does not list it"));
    }
  }
}

// Content the manifest does not list.
void check_unlisted(BundleCheck& c) {
  for (const auto& [name, seen] : c.contents) {
    if (!c.listed_files.count(name)) {
      c.hint(finding("", ProblemKind::bundle_unexpected, content_path(name) + " is not in the manifest"));
    }
  }
}

}  // namespace

BundleReport verify_bundle(const std::filesystem::path& tar_file, const std::optional<std::string>& pinned_log_key,
                           const std::optional<std::string>& pinned_tsa_ca_pem) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(tar_file, ec)) throw Error(Errc::not_found, "no bundle at " + tar_file.string());
  BundleCheck c;
  read_tar(tar_file, c);
  read_manifest(c);
  choose_keys(c, pinned_log_key, pinned_tsa_ca_pem);
  check_checkpoint(c);
  check_custody(c);
  note_disposed(c);
  check_file_names(c);
  check_items(c);
  check_reviews(c);
  check_chains(c);
  check_unlisted(c);
  return std::move(c.rep);
}

}  // namespace evidence
