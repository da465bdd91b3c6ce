#include "verify/bundle_format.h"

#include <boost/json/array.hpp>

namespace evidence::bundle_format {

std::string content_path(std::string_view sha256_hex) { return std::string(kContentPrefix) + std::string(sha256_hex); }
std::string token_path(const std::string& evidence) { return "tokens/" + evidence + ".tsr"; }
std::string record_path(const std::string& evidence) { return "records/" + evidence + ".record"; }
std::string leaf_path(std::uint64_t index) { return "custody/" + std::to_string(index) + ".leaf"; }
std::string review_path(const std::string& review) { return "reviews/" + review + ".review"; }

boost::json::object manifest_review(const CaseReview& r, const ContentId& review_hash) {
  boost::json::object m;
  m["review"] = r.id;
  m["verdict"] = r.verdict;
  m["reviewer"] = r.reviewer;
  m["role"] = r.role;
  m["time"] = r.time;
  m["file"] = review_path(r.id);
  m["review_hash"] = review_hash.hex();
  m["entry"] = r.log_index;
  return m;
}

boost::json::object manifest_item(const EvidenceRecord& r, const ContentId& record_hash,
                                  const std::vector<std::uint64_t>& entries) {
  boost::json::object m;
  m["evidence"] = r.id;
  m["sha256"] = r.sha256.hex();
  m["size"] = r.size;
  m["filename"] = r.filename;
  m["officer"] = r.officer;
  m["device"] = r.device;
  m["recorded_at"] = r.recorded_at;
  m["received_at"] = r.received_at;
  m["file"] = content_path(r.sha256.hex());
  m["token"] = token_path(r.id);
  m["record"] = record_path(r.id);
  m["record_hash"] = record_hash.hex();
  m["ingest_entry"] = r.log_index;
  boost::json::array es;
  for (auto i : entries) es.push_back(i);
  m["entries"] = std::move(es);
  return m;
}

}  // namespace evidence::bundle_format
