#include "store/merkle.h"

#include <bit>

#include "store/content_id.h"
#include "base/error.h"

namespace evidence::merkle {

Hash leaf_hash(std::span<const std::uint8_t> leaf) {
  Sha256 h;
  const std::uint8_t prefix = 0x00;
  h.update(std::span<const std::uint8_t>(&prefix, 1));
  h.update(leaf);
  return h.finish().bytes;
}

Hash node_hash(const Hash& left, const Hash& right) {
  Sha256 h;
  const std::uint8_t prefix = 0x01;
  h.update(std::span<const std::uint8_t>(&prefix, 1));
  h.update(left);
  h.update(right);
  return h.finish().bytes;
}

Hash empty_root() { return Sha256::of(std::string_view{}).bytes; }

namespace {

// Largest power of two strictly less than n (n >= 2), as RFC 6962's split point.
std::uint64_t split_point(std::uint64_t n) { return std::bit_floor(n - 1); }

}  // namespace

Hash range_hash(const SubtreeSource& src, std::uint64_t begin, std::uint64_t end) {
  if (end <= begin) throw Error(Errc::invalid_argument, "empty Merkle range");
  const std::uint64_t n = end - begin;
  if (std::has_single_bit(n) && begin % n == 0) {
    return src(static_cast<unsigned>(std::countr_zero(n)), begin / n);
  }
  const std::uint64_t k = split_point(n);
  return node_hash(range_hash(src, begin, begin + k), range_hash(src, begin + k, end));
}

Hash root(const SubtreeSource& src, std::uint64_t size) {
  return size == 0 ? empty_root() : range_hash(src, 0, size);
}

namespace {

void path(const SubtreeSource& src, std::uint64_t m, std::uint64_t begin, std::uint64_t n,
          std::vector<Hash>& out) {
  if (n == 1) return;
  const std::uint64_t k = split_point(n);
  if (m < k) {
    path(src, m, begin, k, out);
    out.push_back(range_hash(src, begin + k, begin + n));
  } else {
    path(src, m - k, begin + k, n - k, out);
    out.push_back(range_hash(src, begin, begin + k));
  }
}

void subproof(const SubtreeSource& src, std::uint64_t m, std::uint64_t begin, std::uint64_t n,
              bool whole, std::vector<Hash>& out) {
  if (m == n) {
    if (!whole) out.push_back(range_hash(src, begin, begin + n));
    return;
  }
  const std::uint64_t k = split_point(n);
  if (m <= k) {
    subproof(src, m, begin, k, whole, out);
    out.push_back(range_hash(src, begin + k, begin + n));
  } else {
    subproof(src, m - k, begin + k, n - k, false, out);
    out.push_back(range_hash(src, begin, begin + k));
  }
}

}  // namespace

std::vector<Hash> inclusion_proof(const SubtreeSource& src, std::uint64_t index, std::uint64_t size) {
  if (index >= size) throw Error(Errc::invalid_argument, "inclusion proof: index must be below size");
  std::vector<Hash> out;
  path(src, index, 0, size, out);
  return out;
}

std::vector<Hash> consistency_proof(const SubtreeSource& src, std::uint64_t old_size,
                                    std::uint64_t new_size) {
  if (old_size == 0 || old_size > new_size)
    throw Error(Errc::invalid_argument, "consistency proof: need 0 < old <= new");
  std::vector<Hash> out;
  subproof(src, old_size, 0, new_size, true, out);
  return out;
}

void Frontier::append(const Hash& leaf,
                      const std::function<void(unsigned, std::uint64_t, const Hash&)>& completed) {
  const std::uint64_t i = size_;
  stack_.push_back({0, leaf});
  if (completed) completed(0, i, leaf);
  while (stack_.size() >= 2 && stack_[stack_.size() - 2].level == stack_.back().level) {
    Subtree right = stack_.back();
    stack_.pop_back();
    Subtree& left = stack_.back();
    left.hash = node_hash(left.hash, right.hash);
    left.level += 1;
    if (completed) completed(left.level, i >> left.level, left.hash);
  }
  size_ = i + 1;
}

Hash Frontier::root() const {
  if (stack_.empty()) return empty_root();
  Hash h = stack_.back().hash;
  for (std::size_t j = stack_.size() - 1; j-- > 0;) h = node_hash(stack_[j].hash, h);
  return h;
}

Frontier Frontier::load(const SubtreeSource& src, std::uint64_t size) {
  Frontier f;
  std::uint64_t start = 0;
  for (int level = 63; level >= 0; --level) {
    const std::uint64_t bit = std::uint64_t{1} << level;
    if (size & bit) {
      f.stack_.push_back({static_cast<unsigned>(level), src(static_cast<unsigned>(level), start >> level)});
      start += bit;
    }
  }
  f.size_ = size;
  return f;
}

}  // namespace evidence::merkle
