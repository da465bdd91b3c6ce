// Creating and reading the data directory's own files (not blobs, index or uploads,
// which have their owners): the folder tree of a new instance, the first admin token,
// the embedded TSA's CA certificate. Paths come from Layout.
#pragma once

#include <string>

#include "store/layout.h"

namespace evidence {

// Creates DIR and DIR/{blobs/sha256,incoming,index} with their modes (0750, 0755,
// 0700, 0700). DIR must be absent or an empty folder: anything else is
// Error(already_exists) and nothing is touched. Error(io_error) when a folder cannot
// be made.
void create_data_directory(const Layout& layout);

// The last step of creating an instance, after keys and index are durable: fsyncs the
// blobs folder's parent and DIR, then writes DIR/admin.token (0600, create-once:
// Error(already_exists) if present) durably.
void finish_data_directory(const Layout& layout, const std::string& admin_token_line);

// Whether keys/ holds the embedded TSA's certificate.
bool has_embedded_tsa(const Layout& layout);

// keys/tsa-ca.pem (the embedded TSA's CA certificate), empty when absent or unreadable.
std::string read_embedded_tsa_ca(const Layout& layout);

}  // namespace evidence
