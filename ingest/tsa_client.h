// An outside RFC 3161 time-stamp authority reached over HTTP or HTTPS (RFC 3161
// section 3.4: POST application/timestamp-query, answer application/timestamp-reply).
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "verify/tsa.h"

namespace boost::asio::ssl {
class context;
}

namespace evidence::ingest {

class HttpTimeStamper final : public tsa::TimeStamper {
 public:
  // url: "http[s]://host[:port]/path". Error(invalid_argument) for anything else.
  // ca_pem: the CA the TSA's token-signing certificate must chain to (`serve --tsa-ca`);
  // required. tls_ca_file (`serve --tsa-tls-ca`, https only): the CA bundle the TSA's
  // TLS server certificate must chain to; empty: the system's roots.
  HttpTimeStamper(std::string url, std::string ca_pem, std::chrono::seconds timeout = std::chrono::seconds(15),
                  std::filesystem::path tls_ca_file = {});
  // Sends make_request(digest), checks the answer with check_response, then verifies
  // the token as an auditor would (signature, chain to ca_pem, timeStamping EKU,
  // imprint) before anything is committed. Error(unavailable) when the TSA cannot be
  // reached, its TLS certificate does not verify, or it answers non-200;
  // Error(crypto) starting with kTokenInvalid when its token does not verify (503
  // `tsa_invalid`: IngestPipeline::stamp).
  Bytes stamp(const ContentId& digest) override;
  static constexpr std::string_view kTokenInvalid = "the time-stamp authority's token does not verify against --tsa-ca";

 private:
  std::string host_, port_, host_header_, target_, ca_pem_;
  std::chrono::seconds timeout_;
  std::shared_ptr<boost::asio::ssl::context> tls_;  // null: plain http
};

}  // namespace evidence::ingest
