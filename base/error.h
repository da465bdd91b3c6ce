// Typed errors shared by every layer.
//
// We report failures as exceptions of one type that carries a machine-readable code.
// Why not a Status/expected return value (leveldb's habit)? Our callers are Asio
// handlers and LMDB transactions held by RAII guards: unwinding aborts the open
// transaction and removes temp files on every path, which a forgotten status check
// would not. The OK path stays cheap: nothing is allocated unless something fails.
#pragma once

#include <stdexcept>
#include <string>

namespace evidence {

enum class Errc {
  invalid_argument,   // caller passed something malformed (bad case number, bad hex)
  not_found,          // the thing asked for does not exist
  already_exists,     // create-once target exists (keys, data directory)
  conflict,           // state does not allow it (wrong offset, upload busy)
  digest_mismatch,    // content did not hash to what was declared
  no_space,           // ENOSPC / EDQUOT / MDB_MAP_FULL that could not be grown
  io_error,           // EIO and other storage failures
  permission_denied,  // EACCES / EPERM
  corrupt,            // stored bytes do not decode or fail a check
  crypto,             // OpenSSL failure
  unavailable,        // a dependency (outside TSA, object store) did not answer
  internal,           // a bug
};

const char* errc_name(Errc code) noexcept;

class Error : public std::runtime_error {
 public:
  Error(Errc code, const std::string& message) : std::runtime_error(message), code_(code) {}
  Errc code() const noexcept { return code_; }

 private:
  Errc code_;
};

// Builds an Error from errno after a failed system call; `what` names the operation
// and path, e.g. "fsync /data/blobs/ab".
Error system_error(int err, const std::string& what);

}  // namespace evidence
