#include "ingest/instance.h"

#include <sys/stat.h>

#include <system_error>

#include "store/blob_store.h"
#include "store/codec.h"
#include "store/content_id.h"
#include "store/error.h"
#include "store/index.h"
#include "store/layout.h"
#include "store/timefmt.h"
#include "verify/keys.h"
#include "verify/tsa.h"

namespace evidence::ingest {
namespace fs = std::filesystem;

std::string new_token() { return to_base64url(random_bytes(32)); }

namespace {

void make_dir(const fs::path& p, unsigned mode) {
  std::error_code ec;
  fs::create_directories(p, ec);
  if (ec) throw Error(Errc::io_error, "create " + p.string() + ": " + ec.message());
  ::chmod(p.c_str(), mode);
}

}  // namespace

InitResult init_instance(const fs::path& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec)) throw Error(Errc::already_exists, dir.string() + " exists and is not a folder");
    if (!fs::is_empty(dir, ec)) {
      throw Error(Errc::already_exists, dir.string() + " is not empty; refusing to touch an existing instance");
    }
  }
  const Layout layout(dir);
  make_dir(layout.root(), 0750);
  make_dir(layout.blobs_dir(), 0755);
  make_dir(layout.incoming_dir(), 0700);
  make_dir(layout.index_dir(), 0700);

  InitResult result;
  result.log_name = "evidence.local/" + to_hex(random_bytes(8));
  create_instance_keys(layout, result.log_name);
  // create_instance_keys is documented to create the embedded TSA too; make sure.
  if (!fs::exists(layout.tsa_cert())) tsa::create_embedded_tsa(layout, "Evidence instance");

  result.admin_token = new_token();
  {
    auto index = open_index(layout, OpenMode::read_write);
    User admin;
    admin.name = "admin";
    admin.role = Role::admin;
    admin.created_at = format_rfc3339(now_us());
    index->put_user(admin, Sha256::of(result.admin_token));
  }
  fsync_path(layout.blobs_dir().parent_path());
  fsync_path(layout.root());
  const std::string line = result.admin_token + "\n";
  write_file_durably(layout.admin_token_path(), as_bytes(line), 0600, true);
  return result;
}

}  // namespace evidence::ingest
