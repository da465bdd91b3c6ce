// HTTPS: the daemon with a certificate made here by the openssl CLI; an upload and a
// download over TLS with the certificate checked (as a client pinning it would), and
// TLS 1.1 refused while 1.2 and 1.3 are accepted.
#include <catch2/catch.hpp>
#include <curl/curl.h>

#include "tests/ingest/daemon_fixture.h"

using namespace evidence;
using namespace evidence::test;

namespace {

struct Reply {
  CURLcode rc = CURLE_OK;
  long status = 0;
  std::string body;
};

// One request with the certificate verified against `ca` (host name included).
Reply https(const std::string& method, const std::string& url, const std::string& ca, const std::string& token,
            const std::string& body = {}) {
  CURL* curl = curl_easy_init();
  REQUIRE(curl);
  Reply out;
  curl_slist* h = nullptr;
  h = curl_slist_append(h, ("Authorization: Bearer " + token).c_str());
  h = curl_slist_append(h, "Expect:");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl, CURLOPT_CAINFO, ca.c_str());
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, +[](char* d, size_t s, size_t n, void* u) {
    static_cast<std::string*>(u)->append(d, s * n);
    return s * n;
  });
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out.body);
  if (method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  out.rc = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out.status);
  curl_slist_free_all(h);
  curl_easy_cleanup(curl);
  return out;
}

}  // namespace

TEST_CASE("HTTPS with a certificate made in the test: upload, download, TLS 1.1 refused", "[daemon][tls]") {
  TempDir dir;
  const auto cert = dir.path() / "cert.pem", key = dir.path() / "key.pem";
  auto made = run_process({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                           "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key.string(), "-out", cert.string(),
                           "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"});
  REQUIRE(made.exit_code == 0);
  Daemon d(dir.path() / "data", {"--tls-cert", cert.string(), "--tls-key", key.string()});
  REQUIRE(d.url().rfind("https://127.0.0.1:", 0) == 0);

  const std::string data = random_bytes_string(2 << 20, 3);
  auto up = https("POST",
                  d.api("/evidence?officer=TLS&device=cam-t&filename=t.mp4&case=" + pct("TLS-1")), cert.string(),
                  d.admin_token(), data);
  INFO(curl_easy_strerror(up.rc) << " " << up.body);
  REQUIRE(up.rc == CURLE_OK);
  REQUIRE(up.status == 201);
  const auto receipt = boost::json::parse(up.body).as_object();
  CHECK(receipt.at("sha256").as_string() == sha256_hex(data));
  const std::string id(receipt.at("evidence_id").as_string());

  auto down = https("GET", d.api("/evidence/" + id + "/content"), cert.string(), d.admin_token());
  REQUIRE(down.rc == CURLE_OK);
  CHECK(down.status == 200);
  CHECK(down.body == data);
  // The test support's client (verification off) speaks TLS to it too.
  CHECK(http("GET", d.api("/healthz")).status == 200);

  // Plain HTTP to the TLS port is not served.
  const std::string plain = "http://" + d.url().substr(std::string("https://").size()) + "/api/v1/healthz";
  bool plain_served = false;
  try {
    plain_served = http("GET", plain).status == 200;
  } catch (const std::exception&) {
  }
  CHECK(!plain_served);

  const std::string health = d.api("/healthz");
  auto curl_cli = [&](std::vector<std::string> flags) {
    std::vector<std::string> argv{"/usr/bin/curl", "-sS", "--noproxy", "*", "--cacert", cert.string(), "-o", "/dev/null",
                                  "-w", "%{http_code}"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.push_back(health);
    return run_process(argv, {}, {}, 30);
  };
  auto v12 = curl_cli({"--tlsv1.2", "--tls-max", "1.2"});
  CHECK(v12.exit_code == 0);
  CHECK(v12.out == "200");
  auto v13 = curl_cli({"--tlsv1.3"});
  CHECK(v13.exit_code == 0);
  auto v11 = curl_cli({"--tlsv1.1", "--tls-max", "1.1"});
  INFO("curl --tls-max 1.1: " << v11.err);
  CHECK(v11.exit_code != 0);

  // The same refusal from the server's side: an OpenSSL client that is allowed to
  // offer TLS 1.1 (security level 0) still gets no session.
  const std::string hostport = d.url().substr(std::string("https://").size());
  auto s11 = run_process({"/usr/bin/openssl", "s_client", "-connect", hostport, "-tls1_1", "-cipher",
                          "DEFAULT:@SECLEVEL=0", "-CAfile", cert.string()},
                         "", {}, 30);
  INFO("openssl s_client -tls1_1: " << s11.out << s11.err);
  CHECK(s11.exit_code != 0);
  CHECK(s11.err.find("no protocols available") == std::string::npos);  // the client did offer 1.1
  auto s12 = run_process({"/usr/bin/openssl", "s_client", "-connect", hostport, "-tls1_2", "-CAfile", cert.string()},
                         "", {}, 30);
  CHECK(s12.out.find("Verify return code: 0 (ok)") != std::string::npos);
}
