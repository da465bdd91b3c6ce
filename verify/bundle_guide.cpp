// README.txt of an export bundle: the by-hand check, step by step, with commands.
#include "verify/bundle_format.h"

namespace evidence::bundle_format {

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
  reviews/<id>.review    each case-file review (案卷评查) exactly as stored (a byte
                         0x01, then JSON: verdict, notes, checklist, reviewer, time)
  custody.json           the custody entries of these items and of the case, each
                         with its inclusion proof in the checkpoint below; "prev" and
                         "case_prev" in an entry name the item's and the case's
                         previous entry, so a left-out entry breaks a chain
  custody/<index>.leaf   the exact bytes of each custody entry
  timeline.json          when each item was recorded, for how long, the holes
                         between recordings and each item's clocks side by side
                         (a summary of the records for the reader; not a proof)
  checkpoint.txt         the signed checkpoint of the custody log
  checkpoint.tsr         RFC 3161 timestamp token over the checkpoint's root hash
  keys/log.vkey          the log's public key (C2SP verifier key)
  keys/log.pem           the same Ed25519 public key in PEM form
  keys/tsa-ca.pem        the timestamp authority's CA certificate
  keys/tsa.pem           the timestamp authority's certificate

Step 0. The agency's keys, obtained independently
  The keys in keys/ came with the bundle: they prove the bundle is consistent with
  itself, not who made it. Put the keys you obtained from the agency itself (for
  example its published GET /api/v1/keys, or in person) beside this guide: its log
  verifier key as log.vkey and its TSA CA certificate as tsa-ca.pem. Every step
  below uses those two files, never keys/. To compare:
    cat log.vkey keys/log.vkey
    openssl x509 -in tsa-ca.pem -noout -subject -fingerprint -sha256

Step 1. The files are intact
  Each file under files/ is named by the SHA-256 of its bytes:
    sha256sum files/*
  Every printed hash must equal the file's name; or let sha256sum compare:
    (cd files && for f in *; do echo "$f  $f"; done | sha256sum -c)
  manifest.json gives each item's "sha256" and "size" ("filename" is the name it
  was uploaded under; several items can share one file when their bytes are equal).

Step 2. Each file was timestamped (RFC 3161)
  For each item of manifest.json, with its "sha256" H and "evidence" id E:
    openssl ts -verify -data files/H -in tokens/E.tsr -CAfile tsa-ca.pem
  must print "Verification: OK". The time it was stamped:
    openssl ts -reply -in tokens/E.tsr -text | grep 'Time stamp'

Step 3. The records are unaltered
  records/E.record is item E's record as stored. Its SHA-256
    sha256sum records/E.record
  must equal the "record_hash" in the exact bytes of E's ingest entry, custody/I.leaf
  (I: the entry with "action": "ingest" and "evidence": E in custody.json), which
  Step 4 proves part of the signed log:
    grep -o '"record_hash":"[0-9a-f]*"' custody/I.leaf

  The case-file reviews are checked the same way: for each review of manifest.json
  ("reviews"), with its "review" id R and its "entry" J,
    sha256sum reviews/R.review
  must equal the "record_hash" in custody/J.leaf, the entry with "action":
  "review" whose "detail" names R; Step 4 proves that entry too:
    grep -o '"record_hash":"[0-9a-f]*"' custody/J.leaf

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
    grep "^— $(cut -d+ -f1 log.vkey) " checkpoint.txt | head -n 1 | awk '{print $3}' | base64 -d | tail -c 64 > checkpoint.sig
  The public key is the one inside log.vkey (NAME+KEYID+KEY, KEY base64 of the byte
  0x01 and the 32-byte Ed25519 key; KEY may itself contain "+"), put in PEM form:
    { printf '\060\052\060\005\006\003\053\145\160\003\041\000'; cut -d+ -f3- log.vkey | base64 -d | tail -c 32; } > log.der
    openssl pkey -pubin -inform DER -in log.der -out log.pem
    openssl pkeyutl -verify -pubin -inkey log.pem -rawin -in checkpoint.body -sigfile checkpoint.sig
  must print "Signature Verified Successfully".
)GUIDE";
  if (has_root_token) {
    t += R"GUIDE(
Step 6. The checkpoint was timestamped
  checkpoint.tsr is an RFC 3161 token over the root hash (line 3 of checkpoint.txt):
    openssl ts -verify -digest "$(sed -n 3p checkpoint.txt | base64 -d | od -An -v -tx1 | tr -d ' \n')" -in checkpoint.tsr -CAfile tsa-ca.pem
  must print "Verification: OK".
)GUIDE";
  }
  t += R"GUIDE(
What the custody entries say
  Each entry records "time" (UTC), "actor" (user name), "role", "action" (ingest,
  link, unlink, view, download, export, verify, review, ...), "evidence" and "case" where one
  is concerned. Entries made after the checkpoint was signed are not in this bundle
  (manifest.json "entries_after_checkpoint" counts them); a later checkpoint from the
  agency covers them, and its consistency proof shows the log only grew.
)GUIDE";
  return t;
}

}  // namespace evidence::bundle_format
