// Writing an export bundle (see bundle.h for the layout): every check that can fail
// for a reason other than damaged content runs before the first byte; the tar streams
// through libarchive's write callback to the caller's sink, content read in chunks.

#include <archive.h>
#include <archive_entry.h>
#include <openssl/pem.h>

#include <boost/json.hpp>
#include <ctime>
#include <exception>
#include <map>
#include <set>

#include "base/error.h"
#include "base/timefmt.h"
#include "verify/bundle.h"
#include "verify/bundle_format.h"
#include "verify/keys.h"
#include "verify/merkle_verify.h"
#include "verify/openssl_util.h"
#include "verify/signed_note.h"
#include "verify/timeline.h"

namespace evidence {

namespace json = boost::json;
using namespace bundle_format;

namespace {

std::string b64(const merkle::Hash& h) { return to_base64(h); }

// The Ed25519 public key as a PEM SubjectPublicKeyInfo, for `openssl pkeyutl -verify`.
std::string ed25519_public_pem(const std::array<std::uint8_t, 32>& pk) {
  ossl::Pkey key(ossl::check(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, pk.data(), pk.size()),
                             "EVP_PKEY_new_raw_public_key"));
  ossl::Bio bio(ossl::check(BIO_new(BIO_s_mem()), "BIO_new"));
  ossl::check(PEM_write_bio_PUBKEY(bio.get(), key.get()), "PEM_write_bio_PUBKEY");
  return ossl::bio_string(bio.get());
}

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

struct ExportReview {
  CaseReview review;
  Bytes bytes;  // exactly as stored
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
  // Entry i with its proof to the checkpoint, once. We never hand out a proof we know
  // is wrong.
  const auto add_entry = [&](std::uint64_t i) {
    if (entries.count(i)) return;
    auto e = index.log_entry(i);
    if (!e) throw Error(Errc::corrupt, "custody entry " + std::to_string(i) + " is missing");
    ExportEntry x{i, std::move(e->leaf), index.inclusion_proof(i, cp->size)};
    if (!merkle::verify_inclusion(merkle::leaf_hash(as_bytes(x.leaf)), i, cp->size, x.proof, cp->root)) {
      throw Error(Errc::corrupt, "custody entry " + std::to_string(i) + " does not prove into the checkpoint");
    }
    entries.emplace(i, std::move(x));
  };
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
      add_entry(i);
    }
    items.push_back(std::move(it));
  }
  // The case's reviews, each with its `review` entry. A review listed but no longer
  // stored (or no longer decodable) is left out: verify-bundle then reports its entry
  // without a review, as the audit does.
  std::vector<ExportReview> reviews;
  for (const auto& id : index.reviews_in_case(case_number)) {
    auto bytes = index.review_bytes(id);
    if (!bytes) continue;
    ExportReview r;
    try {
      r.review = CaseReview::decode(*bytes);
    } catch (const Error&) {
      continue;
    }
    r.bytes = std::move(*bytes);
    const auto i = r.review.log_index;
    if (i >= cp->size) {
      // Made after the checkpoint (posted while this export ran): left out and counted,
      // as an item's later entries are; the next export carries it.
      ++after;
      continue;
    }
    add_entry(i);
    reviews.push_back(std::move(r));
  }
  // The case's own chain (case_prev): every entry naming the case within the
  // checkpoint, including those about items no longer in it, so that verify-bundle can
  // follow the chain from the newest back to the case's first entry and replay
  // membership. Entries written before chains stop the walk (they have no case_prev).
  {
    std::optional<std::uint64_t> at = index.newest_entry_for_case(case_number);
    std::set<std::uint64_t> walked;
    while (at && walked.insert(*at).second) {
      const auto i = *at;
      auto e = index.log_entry(i);
      if (!e) throw Error(Errc::corrupt, "custody entry " + std::to_string(i) + " is missing");
      at = CustodyEvent::decode(e->leaf).case_prev;
      if (i < cp->size) add_entry(i);
    }
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

  const json::object timeline = timeline::case_timeline(index, case_number);
  const std::string created_at = format_rfc3339(now_us());

  json::object manifest;
  manifest["format"] = kFormat;
  manifest["case"] = case_number;
  manifest["created_at"] = created_at;
  manifest["log_origin"] = cp->origin;
  manifest["checkpoint_size"] = cp->size;
  json::array mitems;
  for (const auto& it : items) mitems.push_back(manifest_item(it.record, Sha256::of(it.record_bytes), it.entries));
  manifest["items"] = std::move(mitems);
  json::array mreviews;
  for (const auto& r : reviews) mreviews.push_back(manifest_review(r.review, Sha256::of(r.bytes)));
  manifest["reviews"] = std::move(mreviews);
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
  w.file(kReadme, guide_text(case_number, created_at, verifier, cp->size, items.size(),
                                  !stored_cp->root_timestamp.empty()));
  w.file(kManifest, json::serialize(manifest) + "\n");
  w.file(kCheckpoint, stored_cp->note);
  if (!stored_cp->root_timestamp.empty()) w.file(kCheckpointToken, as_chars(stored_cp->root_timestamp));
  w.file(kLogKey, verifier.to_string() + "\n");
  w.file(kLogPem, ed25519_public_pem(verifier.public_key));
  w.file(kTsaCa, ca_pem);
  w.file(kTsaCert, tsa_pem);
  w.file(kCustody, json::serialize(custody) + "\n");
  w.file(kTimeline, json::serialize(timeline) + "\n");
  for (const auto& [i, e] : entries) w.file(leaf_path(i), e.leaf);
  for (const auto& it : items) {
    w.file(record_path(it.record.id), as_chars(it.record_bytes));
    w.file(token_path(it.record.id), as_chars(it.token));
  }
  for (const auto& r : reviews) w.file(review_path(r.review.id), as_chars(r.bytes));

  std::vector<std::uint8_t> buf(std::max<std::size_t>(options.chunk_size, 4096));
  for (const auto& [id, sv] : files) {
    const std::string path = content_path(id.hex());
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

}  // namespace evidence
