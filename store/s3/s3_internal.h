// Internal to the S3 backend (store/s3/): small file, digest and XML helpers shared by
// its writer, reader, upload and listing code. Not for use outside store/s3/.
#pragma once

#include <openssl/evp.h>
#include <unistd.h>

#include <array>
#include <boost/property_tree/ptree.hpp>
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/files.h"
#include "store/content_id.h"
#include "base/error.h"
#include "store/s3/s3_client.h"

namespace evidence::s3::detail {

using Md5Digest = std::array<std::uint8_t, 16>;


// Streaming MD5 (OpenSSL EVP). MD5 is no integrity guarantee here: it is what S3's
// Content-MD5 and ETag speak; the SHA-256 content id and the signed
// x-amz-content-sha256 carry the real weight.
class Md5 {
 public:
  Md5() : ctx_(EVP_MD_CTX_new()) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_, EVP_md5(), nullptr) != 1) throw Error(Errc::crypto, "MD5 init failed");
  }
  ~Md5() { EVP_MD_CTX_free(ctx_); }
  Md5(const Md5&) = delete;
  Md5& operator=(const Md5&) = delete;
  void update(std::span<const std::uint8_t> d) {
    if (!d.empty() && EVP_DigestUpdate(ctx_, d.data(), d.size()) != 1) throw Error(Errc::crypto, "MD5 failed");
  }
  // Returns the digest and starts over.
  Md5Digest finish() {
    Md5Digest out{};
    unsigned len = 0;
    if (EVP_DigestFinal_ex(ctx_, out.data(), &len) != 1 || EVP_DigestInit_ex(ctx_, EVP_md5(), nullptr) != 1)
      throw Error(Errc::crypto, "MD5 failed");
    return out;
  }
  static Md5Digest of(std::span<const std::uint8_t> d) {
    Md5 m;
    m.update(d);
    return m.finish();
  }

 private:
  EVP_MD_CTX* ctx_;
};

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void close_checked(const std::string& what) {
    int fd = fd_;
    fd_ = -1;
    if (fd >= 0 && ::close(fd) != 0) throw system_error(errno, "close " + what);
  }

 private:
  int fd_;
};

Fd open_read(const std::filesystem::path& p);
void pread_all(int fd, std::uint8_t* p, std::size_t n, std::uint64_t off, const std::string& what);
// Maps an S3 answer to our Error codes (404/405 not_found, 403 permission_denied, 5xx/429 unavailable).
[[noreturn]] void fail(const Response& r, const std::string& what);
boost::property_tree::ptree parse_xml(const std::string& body, const std::string& what);
std::uint64_t to_u64(const std::string& s, const std::string& what);
bool is_lower_hex(std::string_view s);
// "sha256/<64 lowercase hex>" -> the id; nullopt for any other key.
std::optional<ContentId> id_of_key(std::string_view key);
std::string upper(std::string s);
std::string trim(const std::string& s);

}  // namespace evidence::s3::detail
