// Case export bundles: one tar (POSIX pax) that lets an outsider check a case's
// evidence without trusting our server: with `evidencectl verify-bundle`, or by hand
// with sha256sum and openssl following README.txt inside the bundle. All tar code
// lives in bundle_write.cpp and bundle_verify.cpp (libarchive); bundle_format.h spells
// the names.
//
// Bundle layout (names are ASCII; case numbers and file names are data in
// manifest.json, never paths):
//
//   README.txt                 plain-text guide for a court's expert, with commands
//   manifest.json              {"format": "evidence-bundle/1", "case", "created_at",
//                               "log_origin", "checkpoint_size", "items": [{"evidence",
//                               "sha256", "size", "filename", "officer", "device",
//                               "recorded_at", "received_at", "file", "token",
//                               "record", "record_hash", "ingest_entry", "entries":
//                               [log indexes]}], "reviews": [{"review", "verdict",
//                               "reviewer", "role", "time", "file", "review_hash",
//                               "entry"}], "entries_after_checkpoint": N}
//   files/<sha256 hex>         the content (one per distinct content)
//   tokens/<evidence id>.tsr   RFC 3161 TimeStampResp over the content's SHA-256
//   records/<evidence id>.record   the record's exact stored bytes (version byte
//                              0x01 then JSON): their SHA-256 is the record_hash in
//                              the item's ingest custody entry
//   reviews/<review id>.review the case's reviews (案卷评查), each its exact stored
//                              bytes (0x01 then JSON): their SHA-256 is the record_hash
//                              of the review's `review` custody entry ("entry")
//   custody.json               {"checkpoint": {"origin","size","root"},
//                               "entries": [{"index", "leaf": BASE64, ...decoded fields,
//                               "leaf_hash": BASE64, "inclusion_proof": {"index","size",
//                               "hashes"}}]}: every custody entry that names an item
//                               or the case (reviews included), proved to the one
//                               checkpoint below
//   custody/<index>.leaf       each entry's exact leaf bytes (for hashing by hand)
//   timeline.json              the case's timeline at export, min_gap 5 s: the JSON of
//                              GET /cases/{C}/timeline (verify/timeline.h); for the
//                              reader, not checked (it restates the records and the
//                              probes, which are what is proved)
//   checkpoint.txt             the signed note (C2SP tlog-checkpoint)
//   checkpoint.tsr             RFC 3161 token over the checkpoint root (when kept)
//   keys/log.vkey              the log's C2SP verifier key string
//   keys/log.pem               the same Ed25519 public key as PEM (for openssl)
//   keys/tsa-ca.pem            the TSA's CA certificate
//   keys/tsa.pem               the TSA's certificate
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "store/blob_store.h"
#include "store/index.h"
#include "store/layout.h"
#include "verify/audit.h"

namespace evidence {

struct BundleOptions {
  // The checkpoint every proof goes to. Default: Index::latest_checkpoint(). Custody
  // entries at or beyond its size cannot be proved and are left out (counted in the
  // manifest's entries_after_checkpoint), so the caller should sign and store a fresh
  // checkpoint before exporting. The export's own custody event is the caller's to
  // append (after the bundle is written).
  std::optional<StoredCheckpoint> checkpoint;
  std::size_t chunk_size = 1 << 20;  // bytes per content read; bounds memory
};

// Streams the bundle for `case_number` to `sink` as it is produced (content is read
// in chunk_size pieces, never held whole). Keys come from layout.keys_dir()
// (log verifier, tsa-ca.pem, tsa.pem). Throws before the first byte:
// Error(not_found) when the case has no items, Error(conflict) when there is no
// checkpoint or an item's ingest entry is beyond it (a review made after it is left
// out, and its entry counted in entries_after_checkpoint). Throws mid-stream (the tar is
// then incomplete and must be discarded) when a blob is missing or its bytes do not
// hash to its name: we never hand out a bundle with bytes we know are wrong. Any
// exception from `sink` propagates.
void write_bundle(const Index& index, BlobStore& blobs, const Layout& layout,
                  const std::string& case_number,
                  const std::function<void(std::span<const std::uint8_t>)>& sink,
                  const BundleOptions& options = {});

struct BundleReport {
  bool ok = true;
  std::string case_number;
  std::uint64_t items = 0;
  std::uint64_t entries = 0;
  std::uint64_t reviews = 0;  // case-file reviews the manifest lists
  std::vector<Problem> problems;  // same kinds as the audit
  std::vector<Problem> hints;
  // Items a bundled, proven `dispose` entry names (disposed of: DESIGN.md "Lifecycle"),
  // with that entry's index and disposition. Such an item's absent content is not
  // blob_missing: the tombstone says why it is gone.
  struct DisposedItem {
    std::string evidence;
    std::string disposition;
    std::string at;     // the entry's time
    std::string actor;  // the approving admin
    std::uint64_t log_index = 0;
  };
  std::vector<DisposedItem> disposed;
  // {"ok","case","items","entries","reviews","problems","hints","disposed": [{"evidence",
  // "disposition","at","approved_by","log_index"}]}
  boost::json::object to_json() const;
};

// Checks a bundle offline: every files/<hex> hashes to its name and matches the
// manifest's sha256 and size (content_mismatch, blob_missing); every token verifies
// against the bundle's CA (or the pinned one) with imprint = the content hash
// (timestamp_invalid); every record's bytes hash to its ingest entry's record_hash
// (record_altered); every custody entry's leaf matches custody/<index>.leaf and its
// inclusion proof verifies to the checkpoint root (log_inconsistent); each item has
// its ingest entry; the checkpoint's signature verifies with the bundle's log key or
// `pinned_log_key` (a C2SP verifier key string) when given (signature_invalid).
// Reviews: each review the manifest lists is in the bundle, its bytes hash to the
// record_hash of its proved `review` entry (the one "entry" names, of this case and
// this review), and every proved `review` entry of the case has its review
// (review_mismatch).
// Chains: each item's `prev` from its newest bundled entry reaches its ingest entry,
// and the case's `case_prev` its first entry, through bundled entries only (a gap is
// log_inconsistent, "chain broken", naming the chain and the missing index); the
// case's membership replayed from the bundled entries is the manifest's items
// (case_membership). A chain from before chains existed is the hint "unchained (older
// store)" (kind bundle_unexpected), not a problem.
// Bundle-only kinds: bundle_malformed (a problem: a path twice in the tar, whose
// extraction would keep only the last copy; a manifest item that is not well formed);
// hints bundle_unexpected (a file the manifest does not list, or an unchained older
// chain) and key_differs (the
// bundle's log key is not the pinned one).
// A bundle that cannot be read as a tar or lacks manifest.json throws
// Error(corrupt); a tar_file that does not exist throws Error(not_found).
// Pinned keys matter: keys inside the bundle only prove the bundle is consistent with
// itself; an auditor compares them with keys obtained independently (GET /keys).
BundleReport verify_bundle(const std::filesystem::path& tar_file,
                           const std::optional<std::string>& pinned_log_key,
                           const std::optional<std::string>& pinned_tsa_ca_pem = std::nullopt);

}  // namespace evidence
