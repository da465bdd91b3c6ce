// Domain records kept in the index, with their encoders (format.h gives the bytes).
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/codec.h"
#include "store/content_id.h"

namespace evidence {

// What was received, as it was at ingest. Immutable once committed.
struct EvidenceRecord {
  std::string id;
  ContentId sha256;
  std::uint64_t size = 0;
  std::vector<std::string> cases;  // cases given at ingest
  std::string officer;
  std::string device;
  std::string recorded_at;  // RFC 3339 as given (validated)
  std::string received_at;  // RFC 3339 UTC, set by the server
  std::string filename;     // as given; data, never a path
  std::string uploaded_by;  // the authenticated user name
  std::uint64_t log_index = 0;  // index of the ingest custody entry
  std::string blob_version;     // object-store version id; empty for local blobs
  // Facts found at ingest that damage nothing but a reviewer must see, such as
  // "certificate_expired" (the officer's enforcement certificate had lapsed).
  std::vector<std::string> flags;
  // Since 0.4, encoded only when set (so older records keep their bytes): the
  // retention category named at upload (empty: none given, the item is `routine`),
  // and whether the item arrived after the upload deadline. The item's current
  // category lives apart (LifecycleIndex::item_category): this record never changes.
  std::string category;
  bool late = false;

  Bytes encode() const;                          // version byte + JSON
  static EvidenceRecord decode(std::span<const std::uint8_t> bytes);  // throws corrupt
  boost::json::object to_json() const;           // API shape (hex sha256)
};

// One custody event; its encoding is the Merkle leaf.
struct CustodyEvent {
  std::string time;    // RFC 3339 UTC
  std::string actor;   // user name
  std::string role;    // officer, reviewer, auditor, admin, system
  std::string action;  // ingest, link, unlink, view, download, export, verify, ...
  std::optional<std::string> evidence;
  std::optional<std::string> case_number;
  std::optional<std::string> record_hash;  // hex SHA-256 of the record bytes (ingest)
  std::optional<std::string> sha256;       // hex SHA-256 of the content (ingest, since 0.3)
  std::optional<std::uint64_t> size;       // content bytes (ingest, since 0.3)
  std::optional<boost::json::object> detail;  // anything else worth keeping
  // Chains (DESIGN.md, "Gaps are visible offline"): the index of the newest earlier
  // entry naming the same item (`prev`; absent on its ingest entry) and the same case
  // (`case_prev`; absent on the case's first entry). Set by the engine when it appends,
  // never by callers; absent on entries written before chains existed.
  std::optional<std::uint64_t> prev = std::nullopt;  // (encoded before "detail")
  std::optional<std::uint64_t> case_prev = std::nullopt;

  std::string encode() const;  // compact JSON, fixed key order
  static CustodyEvent decode(std::string_view leaf);  // throws corrupt
  boost::json::object to_json() const;
};

// station: a docking station, which uploads what officers' recorders hold, in their
// names (DESIGN.md, "Custody that proves itself"); it reads what it uploaded, like an
// officer.
enum class Role { officer, reviewer, auditor, admin, station };
const char* role_name(Role r);
std::optional<Role> parse_role(std::string_view s);
// Officers and stations see only the items they uploaded themselves.
inline bool reads_only_own_uploads(Role r) { return r == Role::officer || r == Role::station; }

// An enforcement officer's certificate (执法证): number and last valid day/time.
struct Certificate {
  std::string number;
  std::string valid_until;  // RFC 3339
};

struct User {
  std::string name;
  Role role = Role::officer;
  std::string created_at;
  bool disabled = false;  // a disabled user's token gets 401
  std::string badge;
  std::string unit;
  std::optional<Certificate> certificate;
  std::string last_seen;  // RFC 3339 of the last authenticated request (about to the minute)
  // True when the certificate's valid_until is before `at` (both RFC 3339).
  bool certificate_expired_at(std::string_view at) const;
  boost::json::object to_json() const;  // API shape (no token, ever)
  Bytes encode() const;
  static User decode(std::span<const std::uint8_t> bytes);
};

// A tus upload in progress. `offset` only ever counts bytes that are durable in
// the upload's incoming file.
struct UploadSession {
  std::string id;
  std::uint64_t length = 0;
  std::uint64_t offset = 0;
  boost::json::object metadata;  // decoded Upload-Metadata (officer, device, ...)
  std::string created_at;
  std::string expires_at;
  std::string owner;       // user name that created it
  std::string owner_role;
  Bytes encode() const;
  static UploadSession decode(std::span<const std::uint8_t> bytes);
};

}  // namespace evidence
