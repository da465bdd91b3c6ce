#include "store/s3/s3_blob_store.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>
#include <boost/url/parse.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "base/codec.h"
#include "base/error.h"
#include "base/timefmt.h"
#include "store/s3/s3_internal.h"

namespace evidence::s3 {

namespace fs = std::filesystem;
namespace pt = boost::property_tree;
using namespace detail;

// ---- options ----------------------------------------------------------------------------

std::string parse_s3_url(const std::string& url) {
  auto r = boost::urls::parse_uri(url);
  if (!r || r->scheme() != "s3")
    throw Error(Errc::invalid_argument, "'" + url + "' is not an s3://BUCKET URL");
  if (r->has_query() || r->has_fragment() || r->has_userinfo() || r->has_port() ||
      (!r->path().empty() && r->path() != "/"))
    throw Error(Errc::invalid_argument, "'" + url + "' must be s3://BUCKET with nothing after the bucket name");
  std::string b(r->host());
  bool ok = b.size() >= 3 && b.size() <= 63;
  for (char c : b) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-');
  ok = ok && std::isalnum(static_cast<unsigned char>(b.front())) && std::isalnum(static_cast<unsigned char>(b.back()));
  if (!ok)
    throw Error(Errc::invalid_argument,
                "'" + b + "' is not a valid bucket name (3-63 of a-z 0-9 . -, letter or digit at both ends)");
  return b;
}

void load_s3_credentials(S3Options& o, const std::optional<fs::path>& file) {
  if (file) {
    struct stat st{};
    if (::stat(file->c_str(), &st) != 0) throw system_error(errno, "credentials file " + file->string());
    if (st.st_mode & 077)
      throw Error(Errc::permission_denied, "credentials file " + file->string() +
                                               " is readable by group or others; chmod 600 it");
    std::ifstream in(*file);
    std::string line;
    while (std::getline(in, line)) {
      auto eq = line.find('=');
      if (line.empty() || line[0] == '#' || line[0] == '[' || eq == std::string::npos) continue;
      std::string name = upper(trim(line.substr(0, eq)));
      if (name.rfind("EXPORT ", 0) == 0) name = trim(name.substr(7));
      std::string value = trim(line.substr(eq + 1));
      if (name == "AWS_ACCESS_KEY_ID") o.access_key = value;
      if (name == "AWS_SECRET_ACCESS_KEY") o.secret_key = value;
    }
  } else {
    if (const char* k = std::getenv("AWS_ACCESS_KEY_ID")) o.access_key = k;
    if (const char* s = std::getenv("AWS_SECRET_ACCESS_KEY")) o.secret_key = s;
  }
  if (o.access_key.empty() || o.secret_key.empty())
    throw Error(Errc::invalid_argument,
                std::string("S3 credentials missing: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY") +
                    (file ? " in " + file->string() : " in the environment, or name a credentials file"));
}

std::string retain_until(std::chrono::system_clock::time_point t, unsigned days) {
  const auto until = std::chrono::floor<std::chrono::seconds>(t) + std::chrono::hours(24) * days;
  return format_utc(until, "%Y-%m-%dT%H:%M:%S.000Z");
}

std::string expected_etag(const std::vector<Md5Digest>& md5s, bool multipart) {
  if (!multipart) return "\"" + to_hex(md5s.at(0)) + "\"";
  Md5 all;
  for (auto& d : md5s) all.update(d);
  return "\"" + to_hex(all.finish()) + "-" + std::to_string(md5s.size()) + "\"";
}

std::string s3_key(const ContentId& id) { return "sha256/" + id.hex(); }

std::unique_ptr<BlobStore> open_s3_blob_store(const S3Options& options) {
  return std::make_unique<S3BlobStore>(options);
}

}  // namespace evidence::s3
