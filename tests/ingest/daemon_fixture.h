// Shared bits for the tests that run the real daemon (tests/ingest/test_daemon_*).
#pragma once

#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "base/codec.h"
#include "store/content_id.h"
#include "tests/support/daemon.h"
#include "tests/tempdir.h"

namespace evidence::test {

inline std::string random_bytes_string(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  unsigned x = seed * 2654435761u + 1;
  for (auto& c : s) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 16);
  }
  return s;
}

inline std::string sha256_hex(const std::string& data) { return Sha256::of(data).hex(); }
inline std::string sha256_b64(const std::string& data) { return to_base64(Sha256::of(data).bytes); }

// Percent-encodes everything but unreserved characters (for query values and path
// segments).
inline std::string pct(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

inline std::string b64(const std::string& s) { return to_base64(as_bytes(s)); }

// Number of files under DIR/blobs and DIR/incoming: "nothing stored" checks.
inline std::size_t stored_files(const std::filesystem::path& data) {
  std::size_t n = 0;
  for (const char* sub : {"blobs", "incoming"}) {
    for (auto& e : std::filesystem::recursive_directory_iterator(data / sub)) {
      if (e.is_regular_file()) ++n;
    }
  }
  return n;
}

inline boost::json::object obj(const HttpResponse& r) { return r.json().as_object(); }

inline const Headers kJson{{"Content-Type", "application/json"}};

// Polls GET /evidence/{id} until the record carries "media" (bounded: the probe runs
// in the background, on a machine that may be busy).
inline boost::json::object wait_for_media(const Daemon& d, const std::string& token, const std::string& id) {
  for (int i = 0; i < 1200; ++i) {
    auto r = http("GET", d.api("/evidence/" + id), token);
    REQUIRE(r.status == 200);
    auto rec = obj(r);
    if (rec.contains("media")) return rec;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  FAIL("no media information for " << id << " after 4 minutes\n" << d.stderr_text());
  return {};
}

}  // namespace evidence::test
