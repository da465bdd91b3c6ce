#include "store/layout.h"

#include "base/error.h"

namespace evidence {

std::filesystem::path Layout::blob_folder(const ContentId& id) const {
  return blobs_dir() / id.hex().substr(0, 2);
}

std::filesystem::path Layout::blob_path(const ContentId& id) const {
  auto hex = id.hex();
  return blobs_dir() / hex.substr(0, 2) / hex;
}

std::filesystem::path Layout::upload_path(const std::string& upload_id) const {
  bool ok = !upload_id.empty() && upload_id.size() <= 64;
  for (char c : upload_id) {
    ok = ok && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '_');
  }
  if (!ok) throw Error(Errc::invalid_argument, "not an upload id");
  return incoming_dir() / ("upload-" + upload_id);
}

}  // namespace evidence
