#include "ingest/instance.h"

#include "base/codec.h"
#include "store/content_id.h"
#include "store/data_dir.h"
#include "base/error.h"
#include "store/index.h"
#include "store/layout.h"
#include "base/timefmt.h"
#include "verify/keys.h"
#include "verify/tsa.h"

namespace evidence::ingest {

std::string new_token() { return to_base64url(random_bytes(32)); }

InitResult init_instance(const std::filesystem::path& dir) {
  const Layout layout(dir);
  create_data_directory(layout);

  InitResult result;
  result.log_name = "evidence.local/" + to_hex(random_bytes(8));
  create_instance_keys(layout, result.log_name);
  // create_instance_keys is documented to create the embedded TSA too; make sure.
  if (!has_embedded_tsa(layout)) tsa::create_embedded_tsa(layout, "Evidence instance");

  result.admin_token = new_token();
  {
    auto index = open_index(layout, OpenMode::read_write);
    User admin;
    admin.name = "admin";
    admin.role = Role::admin;
    admin.created_at = format_rfc3339(now_us());
    index->put_user(admin, Sha256::of(result.admin_token));
  }
  finish_data_directory(layout, result.admin_token + "\n");
  return result;
}

}  // namespace evidence::ingest
