// Creating a new instance (`evidenced init`): folders, keys, index and the first
// admin user. Nothing here listens on the network.
#pragma once

#include <filesystem>
#include <string>

namespace evidence::ingest {

struct InitResult {
  std::string admin_token;  // shown once; stored only as its SHA-256
  std::string log_name;
};

// `dir` must be absent or an empty folder; anything else is Error(already_exists)
// and nothing is touched. Writes DIR/admin.token (0600) last, after the keys and the
// index are durable.
InitResult init_instance(const std::filesystem::path& dir);

// A fresh 256-bit bearer token (unpadded base64url, 43 characters).
std::string new_token();

}  // namespace evidence::ingest
