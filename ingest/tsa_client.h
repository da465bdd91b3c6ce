// An outside RFC 3161 time-stamp authority reached over plain HTTP (RFC 3161
// section 3.4: POST application/timestamp-query, answer application/timestamp-reply).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "verify/tsa.h"

namespace evidence::ingest {

class HttpTimeStamper final : public tsa::TimeStamper {
 public:
  // url: "http://host[:port]/path". Error(invalid_argument) for anything else.
  // ca_pem: the CA the TSA's certificate must chain to (`serve --tsa-ca`); required.
  HttpTimeStamper(std::string url, std::string ca_pem, std::chrono::seconds timeout = std::chrono::seconds(15));
  // Sends make_request(digest), checks the answer with check_response, then verifies
  // the token as an auditor would (signature, chain to ca_pem, timeStamping EKU,
  // imprint) before anything is committed. Error(unavailable) when the TSA cannot be
  // reached or answers non-200; Error(crypto) starting with kTokenInvalid when its
  // token does not verify (503 `tsa_invalid`: IngestPipeline::stamp).
  Bytes stamp(const ContentId& digest) override;
  static constexpr std::string_view kTokenInvalid = "the time-stamp authority's token does not verify against --tsa-ca";

 private:
  std::string host_, port_, target_, ca_pem_;
  std::chrono::seconds timeout_;
};

}  // namespace evidence::ingest
