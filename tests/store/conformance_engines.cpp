// The engines the conformance suite runs against: one line each.
#include "store/lmdb/lmdb_index.h"
#include "tests/store/conformance.h"

namespace evidence::conformance {

const std::vector<Engine>& engines() {
  static const std::vector<Engine> all = {
      {"lmdb", [](const std::filesystem::path& dir, OpenMode mode) { return open_index(Layout(dir), mode); }},
  };
  return all;
}

}  // namespace evidence::conformance
