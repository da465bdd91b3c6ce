// An outside RFC 3161 time-stamp authority reached over plain HTTP (RFC 3161
// section 3.4: POST application/timestamp-query, answer application/timestamp-reply).
#pragma once

#include <chrono>
#include <string>

#include "verify/tsa.h"

namespace evidence::ingest {

class HttpTimeStamper final : public tsa::TimeStamper {
 public:
  // url: "http://host[:port]/path". Error(invalid_argument) for anything else.
  explicit HttpTimeStamper(std::string url, std::chrono::seconds timeout = std::chrono::seconds(15));
  // Sends make_request(digest), checks the answer with check_response.
  // Error(unavailable) when the TSA cannot be reached or answers non-200.
  Bytes stamp(const ContentId& digest) override;

 private:
  std::string host_, port_, target_;
  std::chrono::seconds timeout_;
};

}  // namespace evidence::ingest
