#include "verify/merkle_verify.h"

#include <bit>

namespace evidence::merkle {

std::optional<Hash> root_from_inclusion(const Hash& leaf_hash, std::uint64_t index, std::uint64_t size,
                                        const std::vector<Hash>& proof) {
  // RFC 9162 2.1.3.2, step by step; fn walks the leaf's position up the tree and sn
  // the last leaf's, so the right edge (where a node has no right sibling) is skipped.
  if (index >= size) return std::nullopt;
  std::uint64_t fn = index;
  std::uint64_t sn = size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : proof) {
    if (sn == 0) return std::nullopt;  // more hashes than the tree has levels
    if ((fn & 1) != 0 || fn == sn) {
      r = node_hash(p, r);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = node_hash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return std::nullopt;  // fewer hashes than needed
  return r;
}

bool verify_inclusion(const Hash& leaf_hash, std::uint64_t index, std::uint64_t size,
                      const std::vector<Hash>& proof, const Hash& root) {
  auto r = root_from_inclusion(leaf_hash, index, size, proof);
  return r && *r == root;
}

bool verify_consistency(std::uint64_t old_size, std::uint64_t new_size, const Hash& old_root,
                        const Hash& new_root, const std::vector<Hash>& proof) {
  if (old_size > new_size) return false;
  if (old_size == new_size) return proof.empty() && old_root == new_root;
  if (old_size == 0) return proof.empty() && old_root == empty_root();
  // RFC 9162 2.1.4.2.
  if (proof.empty()) return false;
  std::size_t next = 0;
  Hash fr, sr;
  if (std::has_single_bit(old_size)) {
    // The old tree is a perfect subtree of the new one: its root starts the path.
    fr = sr = old_root;
  } else {
    fr = sr = proof[next++];
  }
  std::uint64_t fn = old_size - 1;
  std::uint64_t sn = new_size - 1;
  while ((fn & 1) != 0) {
    fn >>= 1;
    sn >>= 1;
  }
  for (; next < proof.size(); ++next) {
    const Hash& c = proof[next];
    if (sn == 0) return false;
    if ((fn & 1) != 0 || fn == sn) {
      fr = node_hash(c, fr);
      sr = node_hash(c, sr);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = node_hash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && fr == old_root && sr == new_root;
}

}  // namespace evidence::merkle
