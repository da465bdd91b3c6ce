// Checking RFC 9162 Merkle proofs (sections 2.1.3.2 and 2.1.4.2): what auditors and
// the client run against a checkpoint they trust. Generating proofs is store/merkle.h.
//
// Contract: every function is pure, never throws, and answers false/nullopt for any
// proof that is malformed (too short, too long, wrong hashes) or for sizes and
// indexes that cannot describe a tree (index >= size, old_size > new_size).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "store/merkle.h"

namespace evidence::merkle {

// The root that `proof` yields for leaf `index` (whose leaf hash is `leaf_hash`) in a
// tree of `size` leaves; nullopt when the proof has the wrong length for that
// position or index >= size.
std::optional<Hash> root_from_inclusion(const Hash& leaf_hash, std::uint64_t index, std::uint64_t size,
                                        const std::vector<Hash>& proof);

// True when `proof` shows leaf `index` with hash `leaf_hash` is in the tree of `size`
// leaves whose root is `root`.
bool verify_inclusion(const Hash& leaf_hash, std::uint64_t index, std::uint64_t size,
                      const std::vector<Hash>& proof, const Hash& root);

// True when `proof` shows the tree of `new_size` leaves with root `new_root` extends
// the tree of `old_size` leaves with root `old_root`. Equal sizes need an empty proof
// and equal roots; old_size 0 needs an empty proof and old_root == empty_root().
bool verify_consistency(std::uint64_t old_size, std::uint64_t new_size, const Hash& old_root,
                        const Hash& new_root, const std::vector<Hash>& proof);

}  // namespace evidence::merkle
