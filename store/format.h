// The byte layout of everything we keep in LMDB. This header documents the formats
// and nothing else (leveldb's log_format.h habit).
//
// Records are encoded as one version byte followed by UTF-8 JSON whose keys appear in
// the fixed order the encoder writes them. The version byte lets a later release read
// old records; decoders reject versions they do not know with Error(corrupt).
//
//   evidence record  v1: 0x01 {"id","sha256","size","cases","officer","device",
//                         "recorded_at","received_at","filename","uploaded_by",
//                         "log_index","blob_version","flags"?,"category"?,"late"?}
//        ("flags" since 0.3; "category" (the retention category given at upload) and
//        "late": true (received after the upload deadline) since 0.4, written only
//        when given, so older records keep their exact bytes and record_hash; they
//        follow "flags" in the bytes)
//        The bytes are immutable once written: the ingest custody entry carries their
//        SHA-256 as record_hash, so any later edit is detectable. Links made after
//        ingest live in the case indexes, not here.
//   custody entry    the leaf bytes themselves: compact JSON with keys in this order
//                    {"time","actor","role","action","evidence"?,"case"?,
//                     "record_hash"?,"sha256"?,"size"?,"prev"?,"case_prev"?,
//                     "detail"?}. No version byte:
//                    the entry is what the Merkle leaf hashes, and auditors read it
//                    as plain JSON. Two generations of ingest entries:
//                      0.1-0.2: record_hash only; the content hash is bound to the log
//                               through the record (and the TSA token over it);
//                      0.3 on:  record_hash, "sha256" (lowercase hex of the content)
//                               and "size" (bytes), so a receipt ties the file to the
//                               log with no trust in the TSA key.
//                    Both verify; an entry that has sha256 must agree with its record.
//                    Two generations of chaining, for every entry:
//                      before chains: no "prev"/"case_prev" (bytes as they were);
//                      chained:       "prev" = index of the newest earlier entry
//                               naming the same item (absent on its ingest entry),
//                               "case_prev" likewise for the case (absent on the
//                               case's first entry). Set by the engine on append.
//                    A store upgraded in place chains its new entries onto the old
//                    ones; verify-bundle reports an item whose entries carry no prev
//                    at all as unchained (a hint), not as a gap.
//   user             v1: 0x01 {"name","role","created_at","disabled"?,"badge"?,
//                         "unit"?,"certificate"?:{"number","valid_until"},
//                         "last_seen"?}   keyed by SHA-256(token); optional keys
//                         are written only when set
//   retention category v1: 0x01 {"name","days"} or 0x01 {"name","permanent":true}
//   tombstone        v1: 0x01 {"at","disposition","requested_by","approved_by","reason"}
//   disposition      v1: 0x01 {"id","state","items":[..],"reason","requested_by",
//                         "requested_at","decided_by"?,"decided_at"?}
//   review           v1: 0x01 {"id","case","reviewer","role","time","verdict","notes",
//                         "checklist":{..},"log_index"}   (since issue 19) immutable once
//                         written: its `review` custody entry ("case", "record_hash" =
//                         SHA-256 of these bytes, "detail": {"review": id}) sits at
//                         log_index, so any later edit is detectable
//   upload session   v1: 0x01 {"id","length","offset","metadata":{..},"created_at",
//                         "expires_at","owner","owner_role"}
//
// Index keys (all integers big-endian so that byte order is numeric order):
//   evidence      id (26-char ULID)                         -> record
//   timestamps    id                                        -> RFC 3161 token (DER)
//   case_items    case bytes  (dupsort)                     -> id
//   item_cases    id          (dupsort)                     -> case bytes
//   content       sha256 (32 bytes) (dupsort)               -> id
//   by_officer    officer 0x00 recorded_us(8) id            -> ""
//   by_device     device  0x00 recorded_us(8) id            -> ""
//   by_time       recorded_us(8) id                         -> ""
//   users         sha256(token) (32 bytes)                  -> user
//   user_names    name                                      -> sha256(token)
//   uploads       upload id                                 -> upload session
//   log           index(8)                                  -> custody entry
//   tree          level(1) index(8)                         -> hash of the perfect
//                 subtree of 2^level leaves starting at leaf index*2^level (32 bytes)
//   checkpoints   size(8)                                   -> signed note text
//   checkpoint_ts size(8)                                   -> RFC 3161 token over root
//   item_events   id          (dupsort)                     -> log index(8) of every
//                 custody entry that names the item
//   case_last     case bytes                                -> log index(8) of the
//                 newest custody entry naming the case (since chains; created and
//                 filled from the log when a writable open finds it missing)
//   derived       kind 0x00 id                              -> derived value (media
//                 record JSON, segment hashes, thumbnail blob id, holds ...)
//   retention     category name                             -> retention category
//                 (since 0.4; created with the defaults when a writable open finds
//                 it missing, as init does; a read-only open of an older store
//                 answers with the defaults)
//   item_category id                                        -> category name (the
//                 item's current category, when changed after ingest; since 0.4)
//   disposed      id                                        -> tombstone (since 0.4)
//   dispositions  disposition id (ULID)                     -> disposition (since 0.4)
//   reviews       review id (ULID)                          -> review (since issue 19;
//                 created when a writable open finds it missing; a read-only open of
//                 an older store answers with no reviews)
//   case_reviews  case bytes  (dupsort)                     -> review id (since issue 19)
//   meta          "schema_version"                          -> "1"
#pragma once

#include <cstdint>

namespace evidence::format {

inline constexpr std::uint8_t kRecordV1 = 0x01;
inline constexpr std::uint8_t kUserV1 = 0x01;
inline constexpr std::uint8_t kUploadV1 = 0x01;
inline constexpr std::uint8_t kRetentionV1 = 0x01;
inline constexpr std::uint8_t kLifecycleV1 = 0x01;  // tombstones and dispositions
inline constexpr std::uint8_t kReviewV1 = 0x01;
inline constexpr const char* kSchemaVersion = "1";

}  // namespace evidence::format
