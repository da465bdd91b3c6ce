#include "verify/receipt.h"

#include <boost/json.hpp>
#include <fstream>
#include <vector>

#include "base/codec.h"
#include "store/content_id.h"
#include "base/error.h"
#include "store/records.h"
#include "verify/merkle_verify.h"
#include "verify/signed_note.h"
#include "verify/tsa.h"

namespace evidence {
namespace {

namespace json = boost::json;

std::optional<std::string> string_field(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  if (!v || !v->is_string()) return std::nullopt;
  return std::string(v->as_string());
}

std::optional<std::uint64_t> uint_field(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  if (!v) return std::nullopt;
  if (v->is_uint64()) return v->as_uint64();
  if (v->is_int64() && v->as_int64() >= 0) return static_cast<std::uint64_t>(v->as_int64());
  return std::nullopt;
}

// The note's text part (everything up to the blank line before the signatures),
// read without checking the signature.
std::optional<std::string> unverified_note_text(const std::string& note) {
  const auto sep = note.rfind("\n\n");
  if (sep == std::string::npos) return std::nullopt;
  return note.substr(0, sep + 1);
}

// Hashes the file; nullopt (and `why`) when it cannot be read.
std::optional<std::pair<ContentId, std::uint64_t>> hash_file(const std::filesystem::path& file,
                                                              std::string& why) {
  std::ifstream f(file, std::ios::binary);
  if (!f) {
    why = "cannot read " + file.string();
    return std::nullopt;
  }
  Sha256 h;
  std::vector<char> buf(1 << 20);
  std::uint64_t size = 0;
  while (f) {
    f.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = f.gcount();
    if (n <= 0) break;
    h.update(std::string_view(buf.data(), static_cast<std::size_t>(n)));
    size += static_cast<std::uint64_t>(n);
  }
  if (f.bad()) {
    why = "read error on " + file.string();
    return std::nullopt;
  }
  return std::make_pair(h.finish(), size);
}

ReceiptCheckItem check_content(const json::object& r, const std::filesystem::path& file) {
  ReceiptCheckItem c{"content", false, {}};
  const auto hex = string_field(r, "sha256");
  const auto want = hex ? ContentId::from_hex(*hex) : std::nullopt;
  const auto size = uint_field(r, "size");
  if (!want || !size) {
    c.detail = "the receipt has no valid \"sha256\" (64 hex digits) and \"size\"";
    return c;
  }
  std::string why;
  const auto got = hash_file(file, why);
  if (!got) {
    c.detail = why;
    return c;
  }
  if (got->first != *want) {
    c.detail = "the file's SHA-256 is " + got->first.hex() + ", the receipt says " + want->hex();
    return c;
  }
  if (got->second != *size) {
    c.detail = "the file has " + std::to_string(got->second) + " bytes, the receipt says " +
               std::to_string(*size);
    return c;
  }
  c.ok = true;
  c.detail = "sha256 " + want->hex() + ", " + std::to_string(*size) + " bytes";
  return c;
}

ReceiptCheckItem check_timestamp(const json::object& r, const std::optional<std::string>& ca_arg) {
  ReceiptCheckItem c{"timestamp", false, {}};
  const auto tok64 = string_field(r, "timestamp_token");
  const auto token = tok64 ? from_base64(*tok64) : std::nullopt;
  if (!token || token->empty()) {
    c.detail = "the receipt has no valid base64 \"timestamp_token\"";
    return c;
  }
  const auto hex = string_field(r, "sha256");
  const auto digest = hex ? ContentId::from_hex(*hex) : std::nullopt;
  if (!digest) {
    c.detail = "the receipt has no valid \"sha256\" to check the token's imprint against";
    return c;
  }
  const auto ca = ca_arg ? ca_arg : string_field(r, "tsa_ca_pem");
  if (!ca || ca->empty()) {
    c.detail = "no TSA CA certificate: give one (--tsa-ca) or use a receipt that carries "
               "\"tsa_ca_pem\"";
    return c;
  }
  try {
    const auto info = tsa::verify(*token, *digest, *ca);
    c.ok = true;
    c.detail = "granted " + info.gen_time + " by " + info.tsa_name + " (serial " + info.serial + ")";
  } catch (const std::exception& e) {
    c.detail = e.what();
  }
  return c;
}

}  // namespace

bool ReceiptCheck::ok() const {
  if (items.empty()) return false;
  for (const auto& i : items)
    if (!i.ok) return false;
  return true;
}

const ReceiptCheckItem* ReceiptCheck::find(const std::string& name) const {
  for (const auto& i : items)
    if (i.name == name) return &i;
  return nullptr;
}

json::object ReceiptCheck::to_json() const {
  json::array checks;
  for (const auto& i : items) checks.push_back(json::object{{"name", i.name}, {"ok", i.ok}, {"detail", i.detail}});
  return json::object{{"ok", ok()}, {"origin", origin}, {"checks", std::move(checks)}};
}

std::string receipt_log_origin(const json::object& receipt) {
  const auto note = string_field(receipt, "checkpoint");
  if (!note) return {};
  const auto text = unverified_note_text(*note);
  if (!text) return {};
  return text->substr(0, text->find('\n'));
}

ReceiptCheck verify_receipt(const json::object& receipt, const std::filesystem::path& file,
                            const std::optional<std::string>& tsa_ca_pem,
                            const std::optional<std::string>& log_vkey) {
  ReceiptCheck out;
  out.origin = receipt_log_origin(receipt);
  out.items.push_back(check_content(receipt, file));
  out.items.push_back(check_timestamp(receipt, tsa_ca_pem));

  // log_entry: the ingest custody entry for this evidence id, naming this content.
  ReceiptCheckItem entry{"log_entry", false, {}};
  const auto leaf64 = string_field(receipt, "log_entry");
  const auto leaf = leaf64 ? from_base64(*leaf64) : std::nullopt;
  const auto evidence_id = string_field(receipt, "evidence_id");
  const auto sha_hex = string_field(receipt, "sha256");
  const auto size = uint_field(receipt, "size");
  std::optional<CustodyEvent> ingest;
  if (!leaf) {
    entry.detail = "the receipt has no valid base64 \"log_entry\" (the ingest entry's leaf bytes)";
  } else if (!evidence_id) {
    entry.detail = "the receipt has no \"evidence_id\"";
  } else {
    try {
      const auto ev = CustodyEvent::decode(as_chars(*leaf));
      if (ev.action != "ingest") {
        entry.detail = "the entry's action is \"" + ev.action + "\", not \"ingest\"";
      } else if (ev.evidence.value_or("") != *evidence_id) {
        entry.detail = "the entry is for evidence \"" + ev.evidence.value_or("") +
                       "\", the receipt is for \"" + *evidence_id + "\"";
      } else if (ev.sha256 && ev.sha256 != sha_hex) {
        entry.detail = "the entry logs content " + *ev.sha256 + ", the receipt (and the file) say " +
                       sha_hex.value_or("nothing");
      } else if (ev.size && ev.size != size) {
        entry.detail = "the entry logs " + std::to_string(*ev.size) + " bytes, the receipt says " +
                       (size ? std::to_string(*size) : std::string("nothing"));
      } else {
        entry.ok = true;
        entry.detail = "ingest by " + ev.actor + " at " + ev.time +
                       (ev.sha256 ? ", logging sha256 " + *ev.sha256 + " and " + std::to_string(ev.size.value_or(0)) +
                                        " bytes"
                                  : std::string(" (an entry from before 0.3: it names the content only through "
                                                "its record and the time-stamp token)"));
        ingest = ev;
      }
    } catch (const std::exception& e) {
      entry.detail = std::string("the entry does not decode: ") + e.what();
    }
  }
  out.items.push_back(entry);

  // record: the exact stored record bytes hash to the entry's record_hash and name
  // this item and content. Receipts of 0.3 and later carry them; an older receipt
  // (whose entry lacks sha256) does not, and passes this check saying so.
  ReceiptCheckItem record{"record", false, {}};
  const auto rec64 = string_field(receipt, "record");
  const auto rec_bytes = rec64 ? from_base64(*rec64) : std::nullopt;
  if (!ingest) {
    record.detail = "no ingest entry to check the record against";
  } else if (!rec64) {
    if (ingest->sha256) {
      record.detail = "the receipt carries no \"record\", which every receipt for an entry that logs sha256 does";
    } else {
      record.ok = true;
      record.detail = "not carried (a receipt from before 0.3)";
    }
  } else if (!rec_bytes) {
    record.detail = "\"record\" is not valid base64";
  } else if (!ingest->record_hash || Sha256::of(*rec_bytes).hex() != *ingest->record_hash) {
    record.detail = "the record's bytes hash to " + Sha256::of(*rec_bytes).hex() + ", the entry's record_hash is " +
                    ingest->record_hash.value_or("absent");
  } else {
    try {
      const auto rec = EvidenceRecord::decode(*rec_bytes);
      if (rec.id != evidence_id.value_or("")) {
        record.detail = "the record is for evidence " + rec.id;
      } else if (rec.sha256.hex() != sha_hex.value_or("") || rec.size != size.value_or(~0ull)) {
        record.detail = "the record names content " + rec.sha256.hex() + " (" + std::to_string(rec.size) +
                        " bytes), not the receipt's";
      } else {
        record.ok = true;
        record.detail = "record_hash " + *ingest->record_hash + ": officer " + rec.officer + ", device " + rec.device +
                        ", recorded at " + rec.recorded_at;
      }
    } catch (const std::exception& e) {
      record.detail = std::string("the record does not decode: ") + e.what();
    }
  }
  out.items.push_back(record);

  // The checkpoint body (read unverified here; its signature is the last check).
  const auto note = string_field(receipt, "checkpoint");
  const auto text = note ? unverified_note_text(*note) : std::nullopt;
  const auto cp = text ? note::Checkpoint::parse(*text) : std::nullopt;

  ReceiptCheckItem incl{"inclusion_proof", false, {}};
  const auto* proof_v = receipt.if_contains("inclusion_proof");
  const auto log_index = uint_field(receipt, "log_index");
  if (!cp) {
    incl.detail = "the receipt's \"checkpoint\" is not a readable tlog checkpoint note";
  } else if (!leaf) {
    incl.detail = "no leaf to prove (\"log_entry\" missing)";
  } else if (!proof_v || !proof_v->is_object()) {
    incl.detail = "the receipt has no \"inclusion_proof\" object";
  } else {
    const auto& p = proof_v->as_object();
    const auto index = uint_field(p, "index");
    const auto size = uint_field(p, "size");
    const auto* hashes_v = p.if_contains("hashes");
    std::vector<merkle::Hash> hashes;
    bool hashes_ok = hashes_v && hashes_v->is_array();
    if (hashes_ok) {
      for (const auto& h : hashes_v->as_array()) {
        const auto b = h.is_string() ? from_base64(std::string(h.as_string())) : std::nullopt;
        if (!b || b->size() != 32) {
          hashes_ok = false;
          break;
        }
        merkle::Hash x;
        std::copy(b->begin(), b->end(), x.begin());
        hashes.push_back(x);
      }
    }
    if (!index || !size || !hashes_ok) {
      incl.detail = "the inclusion proof needs \"index\", \"size\" and base64 32-byte \"hashes\"";
    } else if (log_index && *log_index != *index) {
      incl.detail = "the proof is for entry " + std::to_string(*index) + ", the receipt's log_index is " +
                    std::to_string(*log_index);
    } else if (*size != cp->size) {
      incl.detail = "the proof is to a tree of " + std::to_string(*size) +
                    " entries, the checkpoint has " + std::to_string(cp->size);
    } else if (!merkle::verify_inclusion(merkle::leaf_hash(*leaf), *index, *size, hashes, cp->root)) {
      incl.detail = "entry " + std::to_string(*index) + " does not prove into the checkpoint's root (tree size " +
                    std::to_string(*size) + ")";
    } else {
      incl.ok = true;
      incl.detail = "entry " + std::to_string(*index) + " is in the tree of " + std::to_string(*size) +
                    " entries";
    }
  }
  out.items.push_back(incl);

  ReceiptCheckItem sig{"checkpoint_signature", false, {}};
  const auto vkey = log_vkey ? log_vkey : string_field(receipt, "log_key");
  const auto verifier = vkey ? note::Verifier::parse(*vkey) : std::nullopt;
  if (!note) {
    sig.detail = "the receipt has no \"checkpoint\"";
  } else if (!vkey) {
    sig.detail = "no log key: give one (--log-key) or use a receipt that carries \"log_key\"";
  } else if (!verifier) {
    sig.detail = "the log key is not a valid C2SP verifier key: " + *vkey;
  } else {
    const auto opened = note::open(*note, *verifier);
    if (!opened) {
      sig.detail = "the checkpoint carries no valid signature by " + verifier->name;
    } else if (text && *opened != *text) {
      sig.detail = "the signed text differs from the checkpoint that was read";
    } else {
      sig.ok = true;
      sig.detail = "signed by " + verifier->name;
    }
  }
  out.items.push_back(sig);
  return out;
}

}  // namespace evidence
