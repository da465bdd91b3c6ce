#include "store/s3/open_blob_store.h"

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "store/s3/s3_blob_store.h"
#include "base/codec.h"
#include "base/error.h"

namespace evidence {
using namespace s3;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

bool has_local_blobs(const Layout& layout) {
  std::error_code ec;
  for (fs::recursive_directory_iterator it(layout.blobs_dir(), ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec)) return true;
  }
  return false;
}

S3Options s3_options(const BlobConfig& c, const Layout& layout) {
  S3Options o;
  o.endpoint = c.endpoint;
  o.bucket = c.bucket;
  o.region = c.region;
  o.lock_mode = c.lock_mode;
  o.retention_days = c.retention_days;
  o.allow_unlocked = c.allow_unlocked;
  o.spool_dir = layout.incoming_dir();
  return o;
}

}  // namespace

std::optional<BlobConfig> read_blob_config(const Layout& layout) {
  std::ifstream in(layout.blob_config(), std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!fs::exists(layout.blob_config(), ec)) return std::nullopt;
    throw Error(Errc::io_error, "cannot read " + layout.blob_config().string());
  }
  std::ostringstream text;
  text << in.rdbuf();
  const std::string where = layout.blob_config().string();
  boost::system::error_code ec;
  json::value v = json::parse(text.str(), ec);
  if (ec || !v.is_object()) throw Error(Errc::corrupt, where + " is not a JSON object");
  const auto& o = v.as_object();
  auto str = [&](const char* k, const std::string& dflt) -> std::string {
    const auto* x = o.if_contains(k);
    if (!x) return dflt;
    if (!x->is_string()) throw Error(Errc::corrupt, where + ": \"" + k + "\" is not a string");
    return std::string(x->as_string());
  };
  BlobConfig c;
  c.backend = str("backend", "local");
  if (c.backend == "local") return c;
  if (c.backend != "s3") throw Error(Errc::corrupt, where + ": unknown backend \"" + c.backend + "\"");
  c.endpoint = str("endpoint", "");
  c.bucket = str("bucket", "");
  c.region = str("region", c.region);
  c.lock_mode = str("lock_mode", c.lock_mode);
  if (const auto* d = o.if_contains("retention_days"); d && d->is_int64() && d->as_int64() > 0)
    c.retention_days = static_cast<unsigned>(d->as_int64());
  if (const auto* a = o.if_contains("allow_unlocked"); a && a->is_bool()) c.allow_unlocked = a->as_bool();
  if (c.endpoint.empty() || c.bucket.empty()) throw Error(Errc::corrupt, where + ": endpoint or bucket missing");
  return c;
}

void write_blob_config(const Layout& layout, const BlobConfig& c) {
  json::object o;
  o["backend"] = c.backend;
  if (c.backend == "s3") {
    o["endpoint"] = c.endpoint;
    o["bucket"] = c.bucket;
    o["region"] = c.region;
    o["lock_mode"] = c.lock_mode;
    o["retention_days"] = c.retention_days;
    o["allow_unlocked"] = c.allow_unlocked;
  }
  const std::string text = json::serialize(o) + "\n";
  write_file_durably(layout.blob_config(), as_bytes(text), 0644, false);
}

std::unique_ptr<BlobStore> open_serve_blob_store(const Layout& layout, const BlobBackendOptions& options) {
  const auto recorded = read_blob_config(layout);
  const bool recorded_s3 = recorded && recorded->backend == "s3";
  if (options.blobs_url.empty() && !recorded_s3) {
    if (!options.s3_endpoint.empty())
      throw Error(Errc::invalid_argument, "--s3-endpoint needs --blobs s3://BUCKET");
    return std::make_unique<LocalBlobStore>(layout);
  }
  BlobConfig c = recorded_s3 ? *recorded : BlobConfig{};
  c.backend = "s3";
  if (!options.blobs_url.empty()) {
    const std::string bucket = parse_s3_url(options.blobs_url);
    if (recorded_s3 && bucket != recorded->bucket) {
      throw Error(Errc::invalid_argument, "this instance keeps its blobs in s3://" + recorded->bucket +
                                              " (" + layout.blob_config().string() + "); refusing s3://" + bucket);
    }
    c.bucket = bucket;
  }
  if (!options.s3_endpoint.empty()) c.endpoint = options.s3_endpoint;
  if (c.endpoint.empty()) throw Error(Errc::invalid_argument, "--blobs s3://... needs --s3-endpoint URL");
  if (!options.s3_region.empty()) c.region = options.s3_region;
  if (!options.lock_mode.empty()) {
    c.lock_mode = upper(options.lock_mode);
    if (c.lock_mode != "COMPLIANCE" && c.lock_mode != "GOVERNANCE")
      throw Error(Errc::invalid_argument, "--lock-mode must be compliance or governance");
  }
  if (options.retention_days) c.retention_days = options.retention_days;
  if (options.allow_unlocked) c.allow_unlocked = true;
  if (!recorded_s3 && has_local_blobs(layout)) {
    throw Error(Errc::invalid_argument, "this instance already keeps blobs in " + layout.blobs_dir().string() +
                                            "; moving an instance's blobs to S3 is not supported");
  }
  S3Options o = s3_options(c, layout);
  load_s3_credentials(o, options.s3_credentials);
  auto store = open_s3_blob_store(o);
  // Recorded after the bucket is known good, before any blob is written to it.
  if (!recorded_s3 || recorded->endpoint != c.endpoint || recorded->region != c.region ||
      recorded->lock_mode != c.lock_mode || recorded->retention_days != c.retention_days ||
      recorded->allow_unlocked != c.allow_unlocked) {
    write_blob_config(layout, c);
  }
  return store;
}

std::unique_ptr<BlobStore> open_data_blob_store(const Layout& layout, const std::optional<fs::path>& credentials) {
  const auto c = read_blob_config(layout);
  if (!c || c->backend != "s3") return std::make_unique<LocalBlobStore>(layout);
  S3Options o = s3_options(*c, layout);
  o.create_bucket = false;
  load_s3_credentials(o, credentials);
  return open_s3_blob_store(o);
}

}  // namespace evidence
