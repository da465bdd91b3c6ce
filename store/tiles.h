// C2SP tlog-tiles (https://c2sp.org/tlog-tiles) over a custody log: the tile paths,
// hash tiles built from the engine's stored perfect subtrees, and entry bundles of the
// exact leaf bytes. What ingest serves at /api/v1/log/tile/...; no network here.
//
// A hash tile at level L, index N holds up to 256 hashes: hash i is the root of the
// perfect subtree of 256^L leaves at N*256 + i (our subtree level 8*L). A full tile
// has 256 and never changes; a partial one (".p/W") the first W of them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/codec.h"
#include "store/custody_log.h"

namespace evidence::tiles {

constexpr unsigned kWidth = 256;
constexpr unsigned kMaxLevel = 63;

struct TileRef {
  bool entries = false;  // an entry bundle (tile/entries/N) rather than a hash tile
  unsigned level = 0;    // hash tiles only: 0..63
  std::uint64_t index = 0;
  unsigned width = kWidth;  // 1..255 for a partial tile, 256 for a full one

  bool partial() const { return width < kWidth; }
  std::string path() const;  // "0/x001/234.p/7", "entries/005"
};

// Parses what follows "tile/": "<L>/<N>[.p/<W>]" or "entries/<N>[.p/<W>]", with N in
// 3-digit groups ("x001/x234/067"). nullopt for anything else: a level above 63 or
// with leading zeros, a group that is not 3 digits, W outside 1..255, a ".p/" anywhere
// but the end.
std::optional<TileRef> parse_path(std::string_view path);

// The tile's bytes in a log of `size` entries: 32 bytes per hash, or for a bundle each
// leaf as a big-endian uint16 length and its bytes. nullopt when the log is not yet big
// enough to hold it (a full tile not yet complete, a partial one wider than the log).
// A partial tile stays available after its full tile exists (it is a prefix of it).
// Error(corrupt) when a stored subtree or entry is missing.
std::optional<Bytes> read_tile(const CustodyLog& log, const TileRef& ref, std::uint64_t size);

}  // namespace evidence::tiles
