// Search cursors as the API hands them out: the index's position (which names the
// last item it looked at, possibly one the caller may not see) sealed with
// AES-256-GCM under a key that lives only in this daemon's memory, with the caller's
// name as associated data. A cursor thus reveals nothing, cannot be forged or edited,
// and is refused when another user presents it. A restart makes old cursors invalid
// (400 invalid_cursor: search again), which a paging client survives.
#pragma once

#include <optional>
#include <string>

#include "base/codec.h"

namespace evidence::ingest {

class CursorSealer {
 public:
  CursorSealer();  // a fresh random key
  std::string seal(const std::string& position, const std::string& caller) const;
  // nullopt for anything that is not a cursor this sealer made for `caller`.
  std::optional<std::string> open(const std::string& cursor, const std::string& caller) const;

 private:
  Bytes key_;
};

}  // namespace evidence::ingest
