#include "store/data_dir.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "store/blob_store.h"
#include "base/codec.h"
#include "base/error.h"

namespace evidence {

namespace fs = std::filesystem;

namespace {

void make_dir(const fs::path& p, unsigned mode) {
  std::error_code ec;
  fs::create_directories(p, ec);
  if (ec) throw Error(Errc::io_error, "create " + p.string() + ": " + ec.message());
  ::chmod(p.c_str(), mode);
}

}  // namespace

void create_data_directory(const Layout& layout) {
  const fs::path& dir = layout.root();
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec)) throw Error(Errc::already_exists, dir.string() + " exists and is not a folder");
    if (!fs::is_empty(dir, ec)) {
      throw Error(Errc::already_exists, dir.string() + " is not empty; refusing to touch an existing instance");
    }
  }
  make_dir(layout.root(), 0750);
  make_dir(layout.blobs_dir(), 0755);
  make_dir(layout.incoming_dir(), 0700);
  make_dir(layout.index_dir(), 0700);
}

void finish_data_directory(const Layout& layout, const std::string& admin_token_line) {
  fsync_path(layout.blobs_dir().parent_path());
  fsync_path(layout.root());
  write_file_durably(layout.admin_token_path(), as_bytes(admin_token_line), 0600, true);
}

bool has_embedded_tsa(const Layout& layout) {
  std::error_code ec;
  return fs::exists(layout.tsa_cert(), ec);
}

std::string read_embedded_tsa_ca(const Layout& layout) {
  std::ifstream in(layout.tsa_ca_cert(), std::ios::binary);
  if (!in) return {};
  std::ostringstream o;
  o << in.rdbuf();
  return o.str();
}

}  // namespace evidence
