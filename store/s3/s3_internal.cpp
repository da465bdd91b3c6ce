#include "store/s3/s3_internal.h"

#include <fcntl.h>

#include <algorithm>
#include <boost/property_tree/xml_parser.hpp>
#include <cstdlib>
#include <exception>
#include <sstream>

namespace evidence::s3::detail {

namespace fs = std::filesystem;
namespace pt = boost::property_tree;

Fd open_read(const fs::path& p) {
  Fd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw system_error(errno, "open " + p.string());
  return fd;
}

void pread_all(int fd, std::uint8_t* p, std::size_t n, std::uint64_t off, const std::string& what) {
  while (n > 0) {
    ssize_t r = ::pread(fd, p, n, static_cast<off_t>(off));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw system_error(errno, "read " + what);
    if (r == 0) throw Error(Errc::io_error, what + " is shorter than expected");
    p += r;
    n -= static_cast<std::size_t>(r);
    off += static_cast<std::uint64_t>(r);
  }
}

[[noreturn]] void fail(const s3::Response& r, const std::string& what) {
  Errc code = Errc::io_error;
  if (r.status == 404 || r.status == 405) code = Errc::not_found;  // 405: a delete marker's version
  else if (r.status == 403) code = Errc::permission_denied;
  else if (r.status >= 500 || r.status == 429) code = Errc::unavailable;
  throw Error(code, what + ": " + s3::describe_error(r));
}

pt::ptree parse_xml(const std::string& body, const std::string& what) {
  pt::ptree tree;
  try {
    std::istringstream in(body);
    pt::read_xml(in, tree);
  } catch (const std::exception& e) {
    throw Error(Errc::corrupt, what + ": the answer is not XML (" + e.what() + ")");
  }
  return tree;
}

std::uint64_t to_u64(const std::string& s, const std::string& what) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (s.empty() || errno != 0 || *end != '\0') throw Error(Errc::corrupt, what + ": '" + s + "' is not a size");
  return v;
}

bool is_lower_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::optional<ContentId> id_of_key(std::string_view key) {
  constexpr std::string_view prefix = "sha256/";
  if (key.size() != prefix.size() + 64 || key.substr(0, prefix.size()) != prefix) return std::nullopt;
  auto hex = key.substr(prefix.size());
  if (!is_lower_hex(hex)) return std::nullopt;
  return ContentId::from_hex(hex);
}

std::string upper(std::string s) {
  for (char& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return s;
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n\"'");
  if (b == std::string::npos) return {};
  auto e = s.find_last_not_of(" \t\r\n\"'");
  return s.substr(b, e - b + 1);
}

}  // namespace evidence::s3::detail
