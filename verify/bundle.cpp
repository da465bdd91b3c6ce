// Case export bundles (see bundle.h for the layout). All tar code of the project is
// here, over libarchive: writing streams through a callback to the caller's sink,
// reading streams content through SHA-256 without holding it.

#include "verify/bundle.h"

#include <archive.h>
#include <archive_entry.h>
#include <openssl/pem.h>

#include <boost/json.hpp>
#include <ctime>
#include <exception>
#include <map>
#include <set>

#include "store/error.h"
#include "store/timefmt.h"
#include "verify/keys.h"
#include "verify/merkle_verify.h"
#include "verify/openssl_util.h"
#include "verify/signed_note.h"
#include "verify/tsa.h"

namespace evidence {

namespace json = boost::json;

boost::json::object BundleReport::to_json() const {
  json::object o;
  o["ok"] = ok;
  o["case"] = case_number;
  o["items"] = items;
  o["entries"] = entries;
  json::array ps, hs;
  for (const auto& p : problems) ps.push_back(p.to_json());
  for (const auto& h : hints) hs.push_back(h.to_json());
  o["problems"] = std::move(ps);
  o["hints"] = std::move(hs);
  return o;
}

namespace {

constexpr const char* kFormat = "evidence-bundle/1";

std::string b64(const merkle::Hash& h) { return to_base64(h); }

// The Ed25519 public key as a PEM SubjectPublicKeyInfo, for `openssl pkeyutl -verify`.
std::string ed25519_public_pem(const std::array<std::uint8_t, 32>& pk) {
  ossl::Pkey key(ossl::check(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, pk.data(), pk.size()),
                             "EVP_PKEY_new_raw_public_key"));
  ossl::Bio bio(ossl::check(BIO_new(BIO_s_mem()), "BIO_new"));
  ossl::check(PEM_write_bio_PUBKEY(bio.get(), key.get()), "PEM_write_bio_PUBKEY");
  return ossl::bio_string(bio.get());
}

std::string guide_text(const std::string& case_number, const std::string& created_at,
                       const note::Verifier& verifier, std::uint64_t cp_size, std::size_t items,
                       bool has_root_token) {
  std::string t;
  t += "EVIDENCE BUNDLE - HOW TO CHECK IT BY HAND\n";
  t += "=========================================\n\n";
  t += "Case:      " + case_number + "\n";
  t += "Exported:  " + created_at + "\n";
  t += "Log:       " + verifier.name + " (checkpoint of " + std::to_string(cp_size) + " entries)\n";
  t += "Items:     " + std::to_string(items) + " (listed in manifest.json)\n\n";
  t += R"GUIDE(This bundle holds copies of evidence files and the proofs that (1) they are the
exact bytes received, (2) they were timestamped when received, and (3) every
recorded handling of them is part of a signed, append-only custody log. Every step
below needs only OpenSSL 3 and standard Unix tools (sh, sha256sum, base64, awk,
grep, sed, od, tr, cut, printf), on any computer, after
extracting the bundle (tar -xf BUNDLE.tar) and changing into that folder.
`evidencectl verify-bundle BUNDLE.tar` performs all of these checks at once.

Contents
  manifest.json          the items: evidence id, sha256, size, original file name,
                         officer, device, times, and where their proofs are
  files/<sha256>         the evidence files, each named by the SHA-256 of its bytes
  tokens/<id>.tsr        RFC 3161 timestamp token of each item
  records/<id>.record    each item's record exactly as stored (a byte 0x01, then JSON)
  custody.json           the custody entries of these items, each with its inclusion
                         proof in the checkpoint below
  custody/<index>.leaf   the exact bytes of each custody entry
  checkpoint.txt         the signed checkpoint of the custody log
  checkpoint.tsr         RFC 3161 timestamp token over the checkpoint's root hash
  keys/log.vkey          the log's public key (C2SP verifier key)
  keys/log.pem           the same Ed25519 public key in PEM form
  keys/tsa-ca.pem        the timestamp authority's CA certificate
  keys/tsa.pem           the timestamp authority's certificate

Step 0. Are these the agency's keys?
  The keys in keys/ came with the bundle: they prove the bundle is consistent with
  itself, not who made it. Compare them with keys obtained independently from the
  agency (for example its published GET /api/v1/keys):
    cat keys/log.vkey
    openssl x509 -in keys/tsa-ca.pem -noout -subject -fingerprint -sha256

Step 1. The files are intact
  Each file under files/ is named by the SHA-256 of its bytes:
    sha256sum files/*
  Every printed hash must equal the file's name; or let sha256sum compare:
    (cd files && for f in *; do echo "$f  $f"; done | sha256sum -c)
  manifest.json gives each item's "sha256" and "size" ("filename" is the name it
  was uploaded under; several items can share one file when their bytes are equal).

Step 2. Each file was timestamped (RFC 3161)
  For each item of manifest.json, with its "sha256" H and "evidence" id E:
    openssl ts -verify -data files/H -in tokens/E.tsr -CAfile keys/tsa-ca.pem
  must print "Verification: OK". The time it was stamped:
    openssl ts -reply -in tokens/E.tsr -text | grep 'Time stamp'

Step 3. The records are unaltered
  records/E.record is item E's record as stored. Its SHA-256
    sha256sum records/E.record
  must equal the "record_hash" of E's ingest entry (in custody.json, the entry
  with "action": "ingest" and "evidence": E; manifest.json repeats it).

Step 4. The custody entries are part of the signed log
  The custody log is a Merkle tree as RFC 6962 and RFC 9162 define it, with SHA-256:
    leaf hash = SHA-256( the byte 0x00, then the entry's exact bytes )
    node hash = SHA-256( the byte 0x01, then the left hash, then the right hash )
  (each hash is 32 bytes; hashes are written in base64 everywhere in this bundle).
  custody/I.leaf holds entry I's exact bytes (custody.json has them in base64 as
  "leaf"). Its leaf hash, which must equal the entry's "leaf_hash":
    (printf '\000'; cat custody/I.leaf) | openssl dgst -sha256 -binary | base64
  One node hash from two base64 hashes L and R:
    (printf '\001'; echo L | base64 -d; echo R | base64 -d) | openssl dgst -sha256 -binary | base64
  The entry's "inclusion_proof" lists the hashes p that combine with the leaf hash
  into the checkpoint's root (RFC 9162 section 2.1.3.2). With N the checkpoint size:
    fn = I;  sn = N - 1;  r = leaf hash
    for each p in "hashes", in order:
      if sn = 0: the proof fails
      if fn is odd, or fn = sn:
        r = node hash(L = p, R = r)
        if fn is even: halve fn and sn (dropping remainders) until fn is odd or 0
      else:
        r = node hash(L = r, R = p)
      halve fn and sn once (dropping remainders)
    at the end sn must be 0 and r must equal the root on line 3 of checkpoint.txt.

Step 5. The checkpoint is signed by the log key
  checkpoint.txt is a C2SP signed note: text lines (line 1 the log's name, line 2
  the number of entries N, line 3 the root hash), an empty line, then signature
  lines "— NAME SIGNATURE". SIGNATURE is base64 of a 4-byte key id followed by a
  64-byte Ed25519 signature over the text (every line before the empty line,
  each with its newline):
    awk '/^$/{exit} {print}' checkpoint.txt > checkpoint.body
    grep "^— $(cut -d+ -f1 keys/log.vkey) " checkpoint.txt | head -n 1 | awk '{print $3}' | base64 -d | tail -c 64 > checkpoint.sig
    openssl pkeyutl -verify -pubin -inkey keys/log.pem -rawin -in checkpoint.body -sigfile checkpoint.sig
  must print "Signature Verified Successfully". keys/log.pem is the key inside
  keys/log.vkey: its last part is base64 of the byte 0x01 and the same 32-byte key.
)GUIDE";
  if (has_root_token) {
    t += R"GUIDE(
Step 6. The checkpoint was timestamped
  checkpoint.tsr is an RFC 3161 token over the root hash (line 3 of checkpoint.txt):
    openssl ts -verify -digest "$(sed -n 3p checkpoint.txt | base64 -d | od -An -v -tx1 | tr -d ' \n')" -in checkpoint.tsr -CAfile keys/tsa-ca.pem
  must print "Verification: OK".
)GUIDE";
  }
  t += R"GUIDE(
What the custody entries say
  Each entry records "time" (UTC), "actor" (user name), "role", "action" (ingest,
  link, unlink, view, download, export, verify, ...), "evidence" and "case" where one
  is concerned. Entries made after the checkpoint was signed are not in this bundle
  (manifest.json "entries_after_checkpoint" counts them); a later checkpoint from the
  agency covers them, and its consistency proof shows the log only grew.
)GUIDE";
  return t;
}

// --- writing ------------------------------------------------------------------------

struct Sink {
  const std::function<void(std::span<const std::uint8_t>)>* fn;
  std::exception_ptr error;
  bool failed = false;  // after a failure nothing more reaches the sink: no tar trailer
                        // may make a broken bundle look complete
};

la_ssize_t write_cb(struct archive*, void* client, const void* buf, size_t len) {
  auto* s = static_cast<Sink*>(client);
  if (s->failed) return static_cast<la_ssize_t>(len);
  try {
    (*s->fn)(std::span<const std::uint8_t>(static_cast<const std::uint8_t*>(buf), len));
    return static_cast<la_ssize_t>(len);
  } catch (...) {
    s->error = std::current_exception();
    s->failed = true;
    return -1;
  }
}

struct ArchiveWriter {
  struct archive* a = nullptr;
  Sink sink;
  std::time_t mtime = std::time(nullptr);

  explicit ArchiveWriter(const std::function<void(std::span<const std::uint8_t>)>& fn) {
    sink.fn = &fn;
    a = archive_write_new();
    if (!a) throw Error(Errc::internal, "archive_write_new failed");
    archive_write_set_format_pax_restricted(a);
    archive_write_set_bytes_in_last_block(a, 1);  // no padding to 10 KiB after the trailer
    if (archive_write_open2(a, &sink, nullptr, write_cb, nullptr, nullptr) != ARCHIVE_OK) fail("open");
  }
  ~ArchiveWriter() {
    if (a) {
      sink.failed = true;  // destroyed without close(): an exception is unwinding
      archive_write_free(a);
    }
  }
  ArchiveWriter(const ArchiveWriter&) = delete;
  ArchiveWriter& operator=(const ArchiveWriter&) = delete;

  [[noreturn]] void fail(const std::string& what) {
    sink.failed = true;
    if (sink.error) std::rethrow_exception(sink.error);
    const char* msg = archive_error_string(a);
    throw Error(Errc::io_error, "writing bundle (" + what + "): " + (msg ? msg : "libarchive error"));
  }

  void begin(const std::string& path, std::uint64_t size) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, path.c_str());
    archive_entry_set_size(e, static_cast<la_int64_t>(size));
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0444);
    archive_entry_set_mtime(e, mtime, 0);
    const int rc = archive_write_header(a, e);
    archive_entry_free(e);
    if (rc != ARCHIVE_OK) fail(path);
  }
  void data(std::span<const std::uint8_t> bytes, const std::string& path) {
    while (!bytes.empty()) {
      const la_ssize_t n = archive_write_data(a, bytes.data(), bytes.size());
      if (n <= 0) fail(path);
      bytes = bytes.subspan(static_cast<std::size_t>(n));
    }
  }
  void end(const std::string& path) {
    if (archive_write_finish_entry(a) != ARCHIVE_OK) fail(path);
  }
  void file(const std::string& path, std::string_view text) {
    begin(path, text.size());
    data(as_bytes(text), path);
    end(path);
  }
  void close() {
    if (archive_write_close(a) != ARCHIVE_OK) fail("close");
    archive_write_free(a);
    a = nullptr;
  }
};

struct ExportItem {
  EvidenceRecord record;
  Bytes record_bytes;
  Bytes token;
  std::vector<std::uint64_t> entries;  // within the checkpoint
};

struct ExportEntry {
  std::uint64_t index;
  std::string leaf;
  std::vector<merkle::Hash> proof;
};

}  // namespace

void write_bundle(const Index& index, BlobStore& blobs, const Layout& layout, const std::string& case_number,
                  const std::function<void(std::span<const std::uint8_t>)>& sink, const BundleOptions& options) {
  // Everything that can fail for a reason other than damaged content is gathered and
  // checked before the first byte goes out.
  const auto ids = index.items_in_case(case_number);
  if (ids.empty()) throw Error(Errc::not_found, "no evidence is linked to case '" + case_number + "'");
  const auto stored_cp = options.checkpoint ? options.checkpoint : index.latest_checkpoint();
  if (!stored_cp) throw Error(Errc::conflict, "the custody log has no checkpoint to prove entries to");
  const note::Verifier verifier = load_log_verifier(layout);
  const auto cp_text = note::open(stored_cp->note, verifier);
  if (!cp_text) throw Error(Errc::corrupt, "the stored checkpoint does not verify with the log key");
  const auto cp = note::Checkpoint::parse(*cp_text);
  if (!cp) throw Error(Errc::corrupt, "the stored checkpoint is not a tlog-checkpoint");
  const std::string ca_pem = ossl::read_small_file(layout.tsa_ca_cert());
  const std::string tsa_pem = ossl::read_small_file(layout.tsa_cert());

  std::vector<ExportItem> items;
  std::map<std::uint64_t, ExportEntry> entries;
  std::uint64_t after = 0;
  for (const auto& id : ids) {
    ExportItem it;
    auto bytes = index.evidence_bytes(id);
    if (!bytes) throw Error(Errc::not_found, "evidence " + id + " has no record");
    it.record_bytes = std::move(*bytes);
    it.record = EvidenceRecord::decode(it.record_bytes);
    auto token = index.timestamp_token(id);
    if (!token) throw Error(Errc::not_found, "evidence " + id + " has no timestamp token");
    it.token = std::move(*token);
    if (it.record.log_index >= cp->size) {
      throw Error(Errc::conflict, "evidence " + id + " was ingested after the checkpoint (size " +
                                      std::to_string(cp->size) + "); sign a new checkpoint first");
    }
    for (auto i : index.entries_for_evidence(id)) {
      if (i >= cp->size) {
        ++after;
        continue;
      }
      it.entries.push_back(i);
      if (entries.count(i)) continue;
      auto e = index.log_entry(i);
      if (!e) throw Error(Errc::corrupt, "custody entry " + std::to_string(i) + " is missing");
      ExportEntry x{i, std::move(e->leaf), index.inclusion_proof(i, cp->size)};
      // We never hand out a proof we know is wrong.
      if (!merkle::verify_inclusion(merkle::leaf_hash(as_bytes(x.leaf)), i, cp->size, x.proof, cp->root)) {
        throw Error(Errc::corrupt, "custody entry " + std::to_string(i) + " does not prove into the checkpoint");
      }
      entries.emplace(i, std::move(x));
    }
    items.push_back(std::move(it));
  }
  // Content: present, and of the recorded size, before we start.
  std::map<ContentId, std::pair<std::uint64_t, std::string>> files;  // id -> size, version
  for (const auto& it : items) {
    if (files.count(it.record.sha256)) continue;
    auto reader = blobs.open(it.record.sha256, it.record.blob_version);
    if (reader->size() != it.record.size) {
      throw Error(Errc::corrupt, "blob " + it.record.sha256.hex() + " holds " + std::to_string(reader->size()) +
                                     " bytes, its record says " + std::to_string(it.record.size));
    }
    files.emplace(it.record.sha256, std::pair{it.record.size, it.record.blob_version});
  }

  const std::string created_at = format_rfc3339(now_us());

  json::object manifest;
  manifest["format"] = kFormat;
  manifest["case"] = case_number;
  manifest["created_at"] = created_at;
  manifest["log_origin"] = cp->origin;
  manifest["checkpoint_size"] = cp->size;
  json::array mitems;
  for (const auto& it : items) {
    const auto& r = it.record;
    json::object m;
    m["evidence"] = r.id;
    m["sha256"] = r.sha256.hex();
    m["size"] = r.size;
    m["filename"] = r.filename;
    m["officer"] = r.officer;
    m["device"] = r.device;
    m["recorded_at"] = r.recorded_at;
    m["received_at"] = r.received_at;
    m["file"] = "files/" + r.sha256.hex();
    m["token"] = "tokens/" + r.id + ".tsr";
    m["record"] = "records/" + r.id + ".record";
    m["record_hash"] = Sha256::of(it.record_bytes).hex();
    m["ingest_entry"] = r.log_index;
    json::array es;
    for (auto i : it.entries) es.push_back(i);
    m["entries"] = std::move(es);
    mitems.push_back(std::move(m));
  }
  manifest["items"] = std::move(mitems);
  manifest["entries_after_checkpoint"] = after;

  json::object custody;
  custody["checkpoint"] = json::object{{"origin", cp->origin}, {"size", cp->size}, {"root", b64(cp->root)}};
  json::array centries;
  for (const auto& [i, e] : entries) {
    json::object o;
    o["index"] = i;
    o["leaf"] = to_base64(as_bytes(e.leaf));
    try {
      for (const auto& [k, v] : CustodyEvent::decode(e.leaf).to_json()) o[k] = v;
    } catch (const std::exception&) {
      // the leaf is still what counts; an undecodable one is shown only in base64
    }
    o["leaf_hash"] = b64(merkle::leaf_hash(as_bytes(e.leaf)));
    json::array hs;
    for (const auto& h : e.proof) hs.push_back(json::string(b64(h)));
    o["inclusion_proof"] = json::object{{"index", i}, {"size", cp->size}, {"hashes", std::move(hs)}};
    centries.push_back(std::move(o));
  }
  custody["entries"] = std::move(centries);

  ArchiveWriter w(sink);
  w.file("README.txt", guide_text(case_number, created_at, verifier, cp->size, items.size(),
                                  !stored_cp->root_timestamp.empty()));
  w.file("manifest.json", json::serialize(manifest) + "\n");
  w.file("checkpoint.txt", stored_cp->note);
  if (!stored_cp->root_timestamp.empty()) w.file("checkpoint.tsr", as_chars(stored_cp->root_timestamp));
  w.file("keys/log.vkey", verifier.to_string() + "\n");
  w.file("keys/log.pem", ed25519_public_pem(verifier.public_key));
  w.file("keys/tsa-ca.pem", ca_pem);
  w.file("keys/tsa.pem", tsa_pem);
  w.file("custody.json", json::serialize(custody) + "\n");
  for (const auto& [i, e] : entries) w.file("custody/" + std::to_string(i) + ".leaf", e.leaf);
  for (const auto& it : items) {
    w.file("records/" + it.record.id + ".record", as_chars(it.record_bytes));
    w.file("tokens/" + it.record.id + ".tsr", as_chars(it.token));
  }

  std::vector<std::uint8_t> buf(std::max<std::size_t>(options.chunk_size, 4096));
  for (const auto& [id, sv] : files) {
    const std::string path = "files/" + id.hex();
    auto reader = blobs.open(id, sv.second);
    w.begin(path, sv.first);
    Sha256 h;
    std::uint64_t off = 0;
    while (off < sv.first) {
      const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), sv.first - off));
      const std::size_t got = reader->read_at(off, std::span(buf.data(), want));
      if (got == 0) {
        w.sink.failed = true;
        throw Error(Errc::corrupt, "blob " + id.hex() + " ended after " + std::to_string(off) + " bytes");
      }
      h.update(std::span<const std::uint8_t>(buf.data(), got));
      w.data(std::span<const std::uint8_t>(buf.data(), got), path);
      off += got;
    }
    if (h.finish() != id) {
      w.sink.failed = true;
      throw Error(Errc::digest_mismatch, "blob " + id.hex() + " no longer hashes to its name; bundle aborted");
    }
    w.end(path);
  }
  w.close();
}

// --- reading ------------------------------------------------------------------------

namespace {

struct ArchiveReader {
  struct archive* a = archive_read_new();
  ~ArchiveReader() {
    if (a) archive_read_free(a);
  }
};

struct FileSeen {
  ContentId hash;
  std::uint64_t size = 0;
};

bool is_hex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Problem finding(std::string evidence, std::string kind, std::string detail) {
  Problem p;
  p.evidence = std::move(evidence);
  p.kind = std::move(kind);
  p.detail = std::move(detail);
  return p;
}

constexpr std::uint64_t kSmallFileLimit = 64 << 20;  // anything but content

}  // namespace

BundleReport verify_bundle(const std::filesystem::path& tar_file, const std::optional<std::string>& pinned_log_key,
                           const std::optional<std::string>& pinned_tsa_ca_pem) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(tar_file, ec)) throw Error(Errc::not_found, "no bundle at " + tar_file.string());

  BundleReport rep;
  auto problem = [&](Problem p) {
    rep.ok = false;
    rep.problems.push_back(std::move(p));
  };
  auto hint = [&](Problem p) { rep.hints.push_back(std::move(p)); };

  // One pass over the tar: content is hashed as it streams by, the rest is kept.
  std::map<std::string, FileSeen> contents;        // hex name -> what it hashed to
  std::map<std::string, std::string> small;        // path -> bytes
  {
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
        hint(finding("", "bundle_unexpected", "'" + path + "' is not a regular file; ignored"));
        continue;
      }
      if (!seen.insert(path).second) {
        // Extracting would keep only the last copy: a second copy is how a tampered
        // file could hide behind a good one.
        problem(finding("", "bundle_malformed", "'" + path + "' appears more than once in the tar"));
      }
      const bool content = path.starts_with("files/");
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
        contents[path.substr(6)] = {h.finish(), size};
      } else if (size > kSmallFileLimit) {
        hint(finding("", "bundle_unexpected", "'" + path + "' is unexpectedly large; ignored"));
      } else {
        small[path] = std::move(kept);
      }
    }
  }
  auto get = [&](const std::string& path) -> const std::string* {
    auto it = small.find(path);
    return it == small.end() ? nullptr : &it->second;
  };

  // Manifest.
  const std::string* mtext = get("manifest.json");
  if (!mtext) throw Error(Errc::corrupt, "the bundle has no manifest.json");
  json::object manifest;
  try {
    manifest = json::parse(*mtext).as_object();
    if (manifest.at("format").as_string() != kFormat) {
      throw Error(Errc::corrupt, "unknown bundle format " + json::serialize(manifest.at("format")));
    }
    rep.case_number = json::value_to<std::string>(manifest.at("case"));
  } catch (const Error&) {
    throw;
  } catch (const std::exception& ex) {
    throw Error(Errc::corrupt, std::string("manifest.json is not a bundle manifest: ") + ex.what());
  }

  // Keys.
  std::optional<note::Verifier> verifier;
  if (pinned_log_key) {
    verifier = note::Verifier::parse(*pinned_log_key);
    if (!verifier) throw Error(Errc::invalid_argument, "the pinned log key is not a verifier key");
    if (const auto* vk = get("keys/log.vkey")) {
      const auto line = vk->substr(0, vk->find('\n'));
      if (line != verifier->to_string()) {
        hint(finding("", "key_differs", "keys/log.vkey in the bundle is not the pinned log key"));
      }
    }
  } else if (const auto* vk = get("keys/log.vkey")) {
    verifier = note::Verifier::parse(vk->substr(0, vk->find('\n')));
  }
  if (!verifier) problem(finding("", "signature_invalid", "no usable log key (keys/log.vkey)"));
  std::string ca_pem;
  if (pinned_tsa_ca_pem) {
    ca_pem = *pinned_tsa_ca_pem;
  } else if (const auto* ca = get("keys/tsa-ca.pem")) {
    ca_pem = *ca;
  }

  // Checkpoint.
  std::optional<note::Checkpoint> cp;
  if (const auto* note_text = get("checkpoint.txt")) {
    std::optional<std::string> body;
    if (verifier) body = note::open(*note_text, *verifier);
    if (!body) {
      problem(finding("", "signature_invalid",
                      "checkpoint.txt has no valid signature by " + (verifier ? verifier->name : std::string("the log key"))));
      auto pos = note_text->find("\n\n");
      if (pos != std::string::npos) body = note_text->substr(0, pos + 1);
    }
    if (body) cp = note::Checkpoint::parse(*body);
    if (!cp) problem(finding("", "log_inconsistent", "checkpoint.txt is not a tlog-checkpoint"));
  } else {
    problem(finding("", "signature_invalid", "the bundle has no checkpoint.txt"));
  }
  if (cp) {
    if (const auto* tsr = get("checkpoint.tsr")) {
      ContentId root;
      root.bytes = cp->root;
      try {
        tsa::verify(as_bytes(*tsr), root, ca_pem);
      } catch (const std::exception& ex) {
        problem(finding("", "timestamp_invalid", std::string("checkpoint.tsr: ") + ex.what()));
      }
    }
  }

  // Custody entries: each leaf as in custody/<i>.leaf, each proved into the checkpoint.
  std::map<std::uint64_t, CustodyEvent> events;  // only entries that prove
  const std::string* ctext = get("custody.json");
  if (!ctext) {
    problem(finding("", "log_inconsistent", "the bundle has no custody.json"));
  } else {
    try {
      const auto custody = json::parse(*ctext).as_object();
      for (const auto& ev : custody.at("entries").as_array()) {
        const auto& o = ev.as_object();
        const auto i = json::value_to<std::uint64_t>(o.at("index"));
        auto leaf = from_base64(o.at("leaf").as_string());
        const std::string where = "custody entry " + std::to_string(i);
        ++rep.entries;
        if (!leaf) {
          problem(finding("", "log_inconsistent", where + ": leaf is not base64"));
          continue;
        }
        const std::string leaf_text(as_chars(*leaf));
        const auto* file = get("custody/" + std::to_string(i) + ".leaf");
        if (!file || *file != leaf_text) {
          problem(finding("", "log_inconsistent", where + ": custody/" + std::to_string(i) +
                                                      ".leaf is missing or differs from custody.json"));
        }
        std::optional<CustodyEvent> event;
        try {
          event = CustodyEvent::decode(leaf_text);
        } catch (const std::exception& ex) {
          problem(finding("", "log_inconsistent", where + " does not decode: " + ex.what()));
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
        if (!cp) {
          proof_ok = false;
        } else if (!proof_ok || psize != cp->size || pindex != i ||
                   !merkle::verify_inclusion(merkle::leaf_hash(*leaf), i, cp->size, proof, cp->root)) {
          proof_ok = false;
        }
        if (!proof_ok) {
          auto p = finding(evid, "log_inconsistent", where + ": the inclusion proof does not lead to the checkpoint root");
          p.log_index = i;
          problem(std::move(p));
          continue;
        }
        if (event) events.emplace(i, std::move(*event));
      }
    } catch (const std::exception& ex) {
      problem(finding("", "log_inconsistent", std::string("custody.json is malformed: ") + ex.what()));
    }
  }

  // Files: each named by its hash.
  for (const auto& [name, seen] : contents) {
    if (!is_hex64(name) || seen.hash.hex() != name) {
      auto p = finding("", "content_mismatch", "files/" + name + " hashes to " + seen.hash.hex());
      p.sha256 = name;
      problem(std::move(p));
    }
  }

  // Items.
  std::set<std::string> listed_files;
  try {
    for (const auto& iv : manifest.at("items").as_array()) {
      const auto& m = iv.as_object();
      const auto id = json::value_to<std::string>(m.at("evidence"));
      const auto hex = json::value_to<std::string>(m.at("sha256"));
      const auto size = json::value_to<std::uint64_t>(m.at("size"));
      ++rep.items;
      listed_files.insert(hex);
      const auto sha = ContentId::from_hex(hex);
      if (!sha) {
        problem(finding(id, "bundle_malformed", "manifest sha256 '" + hex + "' is not a SHA-256"));
        continue;
      }
      auto f = contents.find(hex);
      if (f == contents.end()) {
        auto p = finding(id, "blob_missing", "files/" + hex + " is not in the bundle");
        p.sha256 = hex;
        problem(std::move(p));
      } else if (f->second.hash != *sha || f->second.size != size) {
        auto p = finding(id, "content_mismatch",
                         "files/" + hex + " hashes to " + f->second.hash.hex() + " (" + std::to_string(f->second.size) +
                             " bytes); the manifest says " + hex + " (" + std::to_string(size) + " bytes)");
        p.sha256 = hex;
        problem(std::move(p));
      }
      // Token.
      if (const auto* tsr = get("tokens/" + id + ".tsr")) {
        try {
          tsa::verify(as_bytes(*tsr), *sha, ca_pem);
        } catch (const std::exception& ex) {
          problem(finding(id, "timestamp_invalid", "tokens/" + id + ".tsr: " + ex.what()));
        }
      } else {
        problem(finding(id, "timestamp_invalid", "tokens/" + id + ".tsr is not in the bundle"));
      }
      // Record, against its ingest entry (which proved into the checkpoint above).
      const CustodyEvent* ingest = nullptr;
      std::uint64_t ingest_index = 0;
      for (const auto& [i, ev] : events) {
        if (ev.action == "ingest" && ev.evidence == id) {
          ingest = &ev;
          ingest_index = i;
          break;
        }
      }
      if (!ingest) {
        problem(finding(id, "log_inconsistent", "no proved ingest custody entry for this item"));
      }
      if (const auto* listed = m.if_contains("entries"); listed && listed->is_array()) {
        for (const auto& iv2 : listed->as_array()) {
          const auto i = json::value_to<std::uint64_t>(iv2);
          const auto ev = events.find(i);
          if (ev == events.end() || ev->second.evidence != id) {
            auto p = finding(id, "log_inconsistent",
                             "the manifest lists custody entry " + std::to_string(i) +
                                 " for this item, but no proved entry " + std::to_string(i) + " names it");
            p.log_index = i;
            problem(std::move(p));
          }
        }
      }
      const auto* rec = get("records/" + id + ".record");
      if (!rec) {
        problem(finding(id, "record_altered", "records/" + id + ".record is not in the bundle"));
        continue;
      }
      const std::string rhash = Sha256::of(*rec).hex();
      if (ingest && ingest->record_hash != rhash) {
        auto p = finding(id, "record_altered",
                         "records/" + id + ".record hashes to " + rhash + ", ingest entry " +
                             std::to_string(ingest_index) + " recorded " + ingest->record_hash.value_or("nothing"));
        p.log_index = ingest_index;
        problem(std::move(p));
      }
      try {
        const auto r = EvidenceRecord::decode(as_bytes(*rec));
        if (r.id != id || r.sha256 != *sha || r.size != size) {
          problem(finding(id, "record_altered", "the manifest's id, sha256 or size differ from the item's record"));
        }
      } catch (const std::exception& ex) {
        problem(finding(id, "record_altered", std::string("record does not decode: ") + ex.what()));
      }
    }
  } catch (const std::exception& ex) {
    problem(finding("", "bundle_malformed", std::string("manifest.json items are malformed: ") + ex.what()));
  }
  for (const auto& [name, seen] : contents) {
    if (!listed_files.count(name)) hint(finding("", "bundle_unexpected", "files/" + name + " is not in the manifest"));
  }
  return rep;
}

}  // namespace evidence
