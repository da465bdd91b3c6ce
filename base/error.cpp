#include "base/error.h"

#include <cerrno>
#include <cstring>

namespace evidence {

const char* errc_name(Errc code) noexcept {
  switch (code) {
    case Errc::invalid_argument: return "invalid_argument";
    case Errc::not_found: return "not_found";
    case Errc::already_exists: return "already_exists";
    case Errc::conflict: return "conflict";
    case Errc::digest_mismatch: return "digest_mismatch";
    case Errc::no_space: return "no_space";
    case Errc::io_error: return "io_error";
    case Errc::permission_denied: return "permission_denied";
    case Errc::corrupt: return "corrupt";
    case Errc::crypto: return "crypto";
    case Errc::unavailable: return "unavailable";
    case Errc::internal: return "internal";
  }
  return "internal";
}

Error system_error(int err, const std::string& what) {
  Errc code = Errc::io_error;
  switch (err) {
    case ENOSPC:
    case EDQUOT: code = Errc::no_space; break;
    case EACCES:
    case EPERM:
    case EROFS: code = Errc::permission_denied; break;
    case ENOENT: code = Errc::not_found; break;
    case EEXIST: code = Errc::already_exists; break;
    default: break;
  }
  return Error(code, what + ": " + std::strerror(err));
}

}  // namespace evidence
