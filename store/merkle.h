// RFC 6962 / RFC 9162 Merkle tree maths: leaf hash = SHA-256(0x00 || leaf),
// node hash = SHA-256(0x01 || left || right). Proof generation works over any
// source of perfect-subtree hashes, so the custody log can keep them in LMDB and
// answer any proof with O(log n) look-ups.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace evidence::merkle {

using Hash = std::array<std::uint8_t, 32>;

Hash leaf_hash(std::span<const std::uint8_t> leaf);
Hash node_hash(const Hash& left, const Hash& right);
Hash empty_root();  // SHA-256 of nothing

// Returns the hash of the perfect subtree of 2^level leaves that starts at leaf
// index * 2^level. Only asked for subtrees that lie wholly inside the tree.
using SubtreeSource = std::function<Hash(unsigned level, std::uint64_t index)>;

// Hash of leaves [begin, end) (end > begin), as RFC 6962's MTH over that range.
Hash range_hash(const SubtreeSource& src, std::uint64_t begin, std::uint64_t end);
Hash root(const SubtreeSource& src, std::uint64_t size);  // size 0 gives empty_root()

// RFC 9162 2.1.3.1 PATH(m, D[n]); requires index < size.
std::vector<Hash> inclusion_proof(const SubtreeSource& src, std::uint64_t index,
                                  std::uint64_t size);
// RFC 9162 2.1.4.1 PROOF(m, D[n]); requires 0 < old_size <= new_size.
std::vector<Hash> consistency_proof(const SubtreeSource& src, std::uint64_t old_size,
                                    std::uint64_t new_size);

// The right edge of a tree: for appends in O(log n). After appending leaf i the
// perfect subtrees it completes are reported through `completed(level, index, hash)`
// so they can be stored.
class Frontier {
 public:
  void append(const Hash& leaf,
              const std::function<void(unsigned, std::uint64_t, const Hash&)>& completed);
  std::uint64_t size() const { return size_; }
  Hash root() const;
  // Rebuild from stored subtrees for a tree of `size` leaves.
  static Frontier load(const SubtreeSource& src, std::uint64_t size);

 private:
  struct Subtree {
    unsigned level;
    Hash hash;
  };
  std::uint64_t size_ = 0;
  std::vector<Subtree> stack_;  // perfect subtree roots, largest (leftmost) first
};

}  // namespace evidence::merkle
