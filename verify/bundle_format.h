// Internal to the bundle code (bundle_*.cpp): the export bundle's format, shared by the
// writer and the reader. bundle.h documents the layout for callers; this header is
// where every name in the tar and the manifest's fields are spelled, once.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "store/content_id.h"
#include "store/records.h"
#include "store/review.h"
#include "verify/signed_note.h"

namespace evidence::bundle_format {

inline constexpr std::string_view kFormat = "evidence-bundle/1";

// Fixed paths in the tar.
inline constexpr const char* kReadme = "README.txt";
inline constexpr const char* kManifest = "manifest.json";
inline constexpr const char* kCheckpoint = "checkpoint.txt";
inline constexpr const char* kCheckpointToken = "checkpoint.tsr";
inline constexpr const char* kLogKey = "keys/log.vkey";
inline constexpr const char* kLogPem = "keys/log.pem";
inline constexpr const char* kTsaCa = "keys/tsa-ca.pem";
inline constexpr const char* kTsaCert = "keys/tsa.pem";
inline constexpr const char* kCustody = "custody.json";
// The case's timeline as GET /cases/{C}/timeline answers it (verify/timeline.h).
inline constexpr const char* kTimeline = "timeline.json";

// Content is files/<sha256 hex>; the reader hashes everything under this prefix.
inline constexpr std::string_view kContentPrefix = "files/";
std::string content_path(std::string_view sha256_hex);
// tokens/<evidence id>.tsr, records/<evidence id>.record, custody/<index>.leaf
std::string token_path(const std::string& evidence);
std::string record_path(const std::string& evidence);
std::string leaf_path(std::uint64_t index);
// reviews/<review id>.review: a case-file review's exact stored bytes.
std::string review_path(const std::string& review);

// One manifest "items" element: {"evidence", "sha256", "size", "filename", "officer",
// "device", "recorded_at", "received_at", "file", "token", "record", "record_hash",
// "ingest_entry", "entries"}.
boost::json::object manifest_item(const EvidenceRecord& record, const ContentId& record_hash,
                                  const std::vector<std::uint64_t>& entries);

// One manifest "reviews" element: {"review", "verdict", "reviewer", "role", "time",
// "file", "review_hash", "entry"}.
boost::json::object manifest_review(const CaseReview& review, const ContentId& review_hash);

// README.txt: how a court's expert checks the bundle by hand (bundle_guide.cpp).
std::string guide_text(const std::string& case_number, const std::string& created_at,
                       const note::Verifier& verifier, std::uint64_t cp_size, std::size_t items,
                       bool has_root_token);

}  // namespace evidence::bundle_format
