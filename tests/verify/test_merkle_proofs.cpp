// RFC 6962 / RFC 9162 Merkle proofs: store/merkle.h generates them, verify/merkle_verify.h
// checks them. Both are held against the published vectors and against a naive,
// independent model written here from the RFC's recursive definitions.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <sstream>

#include "base/codec.h"
#include "store/merkle.h"
#include "verify/merkle_verify.h"

using namespace evidence;
using merkle::Hash;
using Proof = std::vector<Hash>;

namespace {

// ---- The naive model (RFC 6962 section 2.1, word for word, over leaf hashes) ----

std::uint64_t split(std::uint64_t n) {  // largest power of two smaller than n (n > 1)
  std::uint64_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

Hash mth(const std::vector<Hash>& d, std::uint64_t begin, std::uint64_t end) {
  if (end - begin == 1) return d[begin];
  std::uint64_t k = split(end - begin);
  return merkle::node_hash(mth(d, begin, begin + k), mth(d, begin + k, end));
}

void ref_path(const std::vector<Hash>& d, std::uint64_t m, std::uint64_t begin, std::uint64_t end, Proof& out) {
  std::uint64_t n = end - begin;
  if (n == 1) return;
  std::uint64_t k = split(n);
  if (m < k) {
    ref_path(d, m, begin, begin + k, out);
    out.push_back(mth(d, begin + k, end));
  } else {
    ref_path(d, m - k, begin + k, end, out);
    out.push_back(mth(d, begin, begin + k));
  }
}

void ref_subproof(const std::vector<Hash>& d, std::uint64_t m, std::uint64_t begin, std::uint64_t end, bool b,
                  Proof& out) {
  std::uint64_t n = end - begin;
  if (m == n) {
    if (!b) out.push_back(mth(d, begin, end));
    return;
  }
  std::uint64_t k = split(n);
  if (m <= k) {
    ref_subproof(d, m, begin, begin + k, b, out);
    out.push_back(mth(d, begin + k, end));
  } else {
    ref_subproof(d, m - k, begin + k, end, false, out);
    out.push_back(mth(d, begin, begin + k));
  }
}

// An independent verifier: undo the recursion above, consuming the proof from its
// end (the last hash is the sibling at the top), instead of RFC 9162's bit walk.
std::optional<Hash> ref_inclusion_root(const Hash& leaf, std::uint64_t m, std::uint64_t n, const Proof& proof,
                                       std::size_t used) {
  if (n == 1) return used == proof.size() ? std::optional<Hash>(leaf) : std::nullopt;
  if (used == proof.size()) return std::nullopt;
  const Hash& sibling = proof[proof.size() - 1 - used];
  std::uint64_t k = split(n);
  if (m < k) {
    auto left = ref_inclusion_root(leaf, m, k, proof, used + 1);
    return left ? std::optional<Hash>(merkle::node_hash(*left, sibling)) : std::nullopt;
  }
  auto right = ref_inclusion_root(leaf, m - k, n - k, proof, used + 1);
  return right ? std::optional<Hash>(merkle::node_hash(sibling, *right)) : std::nullopt;
}

bool ref_verify_inclusion(const Hash& leaf, std::uint64_t m, std::uint64_t n, const Proof& proof, const Hash& root) {
  if (m >= n) return false;
  auto r = ref_inclusion_root(leaf, m, n, proof, 0);
  return r && *r == root;
}

// Returns (hash of the old tree's part, hash of the new tree's part) of this subtree.
std::optional<std::pair<Hash, Hash>> ref_consistency(std::uint64_t m, std::uint64_t n, bool b, const Hash& old_root,
                                                     const Proof& proof, std::size_t used) {
  if (m == n) {
    if (b) {
      if (used != proof.size()) return std::nullopt;
      return std::pair{old_root, old_root};
    }
    if (used + 1 != proof.size()) return std::nullopt;
    return std::pair{proof[0], proof[0]};
  }
  if (used == proof.size()) return std::nullopt;
  const Hash& sibling = proof[proof.size() - 1 - used];
  std::uint64_t k = split(n);
  if (m <= k) {
    auto sub = ref_consistency(m, k, b, old_root, proof, used + 1);
    if (!sub) return std::nullopt;
    return std::pair{sub->first, merkle::node_hash(sub->second, sibling)};
  }
  auto sub = ref_consistency(m - k, n - k, false, old_root, proof, used + 1);
  if (!sub) return std::nullopt;
  return std::pair{merkle::node_hash(sibling, sub->first), merkle::node_hash(sibling, sub->second)};
}

bool ref_verify_consistency(std::uint64_t m, std::uint64_t n, const Hash& old_root, const Hash& new_root,
                            const Proof& proof) {
  if (m == 0 || m > n) return false;
  auto r = ref_consistency(m, n, true, old_root, proof, 0);
  return r && r->first == old_root && r->second == new_root;
}

// ---- store/merkle.h over an in-memory vector of leaf hashes ----

merkle::SubtreeSource source_over(const std::vector<Hash>& leaves) {
  return [&leaves](unsigned level, std::uint64_t index) {
    std::uint64_t width = std::uint64_t{1} << level;
    REQUIRE((index + 1) * width <= leaves.size());  // only whole subtrees are asked for
    return mth(leaves, index * width, (index + 1) * width);
  };
}

std::vector<Hash> make_leaves(std::size_t n) {
  std::vector<Hash> out;
  for (std::size_t i = 0; i < n; ++i) {
    std::string leaf = "custody entry " + std::to_string(i);
    out.push_back(merkle::leaf_hash(as_bytes(leaf)));
  }
  return out;
}

Hash hash_from_hex(std::string_view hex) {
  auto b = from_hex(hex);
  REQUIRE(b);
  REQUIRE(b->size() == 32);
  Hash h;
  std::copy(b->begin(), b->end(), h.begin());
  return h;
}

Proof proof_from_json(const boost::json::array& a) {
  Proof out;
  for (const auto& v : a) out.push_back(hash_from_hex(v.as_string()));
  return out;
}

boost::json::object load_vectors() {
  std::ifstream in(std::string(EVIDENCE_SHARED_DIR) + "/testvectors/rfc6962.json");
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  return boost::json::parse(ss.str()).as_object();
}

// Every way we break a proof: each hash with a flipped bit, one hash missing from
// either end, one hash too many at either end.
std::vector<std::pair<std::string, Proof>> broken_variants(const Proof& proof, const Hash& extra) {
  std::vector<std::pair<std::string, Proof>> out;
  for (std::size_t i = 0; i < proof.size(); ++i) {
    for (std::size_t bit : {0u, 131u, 255u}) {
      Proof p = proof;
      p[i][bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
      out.emplace_back("bit " + std::to_string(bit) + " of hash " + std::to_string(i) + " flipped", p);
    }
  }
  if (!proof.empty()) {
    out.emplace_back("last hash missing", Proof(proof.begin(), proof.end() - 1));
    out.emplace_back("first hash missing", Proof(proof.begin() + 1, proof.end()));
  }
  Proof longer = proof;
  longer.push_back(extra);
  out.emplace_back("extra hash at the end", longer);
  Proof front = proof;
  front.insert(front.begin(), extra);
  out.emplace_back("extra hash at the front", front);
  return out;
}

}  // namespace

TEST_CASE("RFC 6962 vectors: roots, inclusion paths and consistency proofs", "[merkle]") {
  auto v = load_vectors();
  std::vector<Hash> leaves;
  for (const auto& leaf : v["leaves"].as_array()) {
    auto bytes = from_hex(leaf.as_string());
    REQUIRE(bytes);
    leaves.push_back(merkle::leaf_hash(*bytes));
  }
  REQUIRE(leaves.size() == 8);
  CHECK(merkle::empty_root() == hash_from_hex(v["empty_root"].as_string()));
  auto src = source_over(leaves);

  std::map<std::uint64_t, Hash> roots;
  for (const auto& [size, hex] : v["roots"].as_object()) {
    std::uint64_t n = std::stoull(std::string(size));
    roots[n] = hash_from_hex(hex.as_string());
    INFO("size " << n);
    CHECK(merkle::root(src, n) == roots[n]);
    CHECK(mth(leaves, 0, n) == roots[n]);  // the model agrees with the RFC too
  }
  REQUIRE(roots.size() == 8);

  std::size_t inclusion_cases = 0;
  for (const auto& item : v["inclusion"].as_array()) {
    const auto& o = item.as_object();
    auto m = static_cast<std::uint64_t>(o.at("index").as_int64());
    auto n = static_cast<std::uint64_t>(o.at("size").as_int64());
    Proof expected = proof_from_json(o.at("path").as_array());
    INFO("inclusion of " << m << " in " << n);
    CHECK(merkle::inclusion_proof(src, m, n) == expected);
    CHECK(merkle::verify_inclusion(leaves[m], m, n, expected, roots.at(n)));
    CHECK(merkle::root_from_inclusion(leaves[m], m, n, expected) == roots.at(n));
    ++inclusion_cases;
  }
  CHECK(inclusion_cases == 36);

  std::size_t consistency_cases = 0;
  for (const auto& item : v["consistency"].as_array()) {
    const auto& o = item.as_object();
    auto m = static_cast<std::uint64_t>(o.at("old").as_int64());
    auto n = static_cast<std::uint64_t>(o.at("new").as_int64());
    Proof expected = proof_from_json(o.at("proof").as_array());
    INFO("consistency " << m << " -> " << n);
    CHECK(merkle::consistency_proof(src, m, n) == expected);
    CHECK(merkle::verify_consistency(m, n, roots.at(m), roots.at(n), expected));
    ++consistency_cases;
  }
  CHECK(consistency_cases == 36);
}

TEST_CASE("every inclusion proof up to 64 leaves matches the model and verifies both ways", "[merkle]") {
  auto leaves = make_leaves(64);
  auto src = source_over(leaves);
  for (std::uint64_t n = 1; n <= 64; ++n) {
    const Hash root = mth(leaves, 0, n);
    REQUIRE(merkle::root(src, n) == root);
    for (std::uint64_t m = 0; m < n; ++m) {
      Proof expected;
      ref_path(leaves, m, 0, n, expected);
      Proof proof = merkle::inclusion_proof(src, m, n);
      INFO("leaf " << m << " of " << n);
      REQUIRE(proof == expected);
      REQUIRE(merkle::verify_inclusion(leaves[m], m, n, proof, root));
      REQUIRE(ref_verify_inclusion(leaves[m], m, n, proof, root));
    }
  }
}

TEST_CASE("every consistency proof up to 64 leaves matches the model and verifies both ways", "[merkle]") {
  auto leaves = make_leaves(64);
  auto src = source_over(leaves);
  for (std::uint64_t n = 1; n <= 64; ++n) {
    const Hash new_root = mth(leaves, 0, n);
    for (std::uint64_t m = 1; m <= n; ++m) {
      const Hash old_root = mth(leaves, 0, m);
      Proof expected;
      ref_subproof(leaves, m, 0, n, true, expected);
      Proof proof = merkle::consistency_proof(src, m, n);
      INFO("consistency " << m << " -> " << n);
      REQUIRE(proof == expected);
      REQUIRE(merkle::verify_consistency(m, n, old_root, new_root, proof));
      REQUIRE(ref_verify_consistency(m, n, old_root, new_root, proof));
    }
  }
}

TEST_CASE("inclusion proofs with a flipped bit, a missing or extra hash, a wrong index or size are rejected",
          "[merkle]") {
  auto leaves = make_leaves(65);  // one more, for the size n + 1 roots
  auto src = source_over(leaves);
  const Hash stray = merkle::leaf_hash(as_bytes(std::string_view("stray")));
  std::size_t attacks = 0;
  for (std::uint64_t n = 1; n <= 64; ++n) {
    const Hash root = mth(leaves, 0, n);
    for (std::uint64_t m = 0; m < n; ++m) {
      Proof proof = merkle::inclusion_proof(src, m, n);
      INFO("leaf " << m << " of " << n);
      for (const auto& [what, bad] : broken_variants(proof, stray)) {
        INFO(what);
        CHECK_FALSE(merkle::verify_inclusion(leaves[m], m, n, bad, root));
        CHECK_FALSE(ref_verify_inclusion(leaves[m], m, n, bad, root));
        ++attacks;
      }
      // Another leaf, another position, another tree size, another root.
      CHECK_FALSE(merkle::verify_inclusion(stray, m, n, proof, root));
      if (m + 1 < n) CHECK_FALSE(merkle::verify_inclusion(leaves[m], m + 1, n, proof, root));
      if (m > 0) CHECK_FALSE(merkle::verify_inclusion(leaves[m], m - 1, n, proof, root));
      // A size only means something with its root (both come from one signed
      // checkpoint): a wrong size is tried with that size's root. (With the old root
      // a wrong size can pass: leaf 0 has the same path shape in trees of 3 and 4.)
      CHECK_FALSE(merkle::verify_inclusion(leaves[m], m, n + 1, proof, mth(leaves, 0, n + 1)));
      if (m + 1 < n) CHECK_FALSE(merkle::verify_inclusion(leaves[m], m, n - 1, proof, mth(leaves, 0, n - 1)));
      CHECK_FALSE(merkle::verify_inclusion(leaves[m], n, n, proof, root));  // index == size
      if (n > 1) CHECK_FALSE(merkle::verify_inclusion(leaves[m], m, n, proof, mth(leaves, 0, n - 1)));
      attacks += 7;
    }
  }
  CHECK(attacks > 10000);
}

TEST_CASE("consistency proofs with a flipped bit, a missing or extra hash, wrong sizes or roots are rejected",
          "[merkle]") {
  auto leaves = make_leaves(65);  // one more, for the size n + 1 roots
  auto src = source_over(leaves);
  const Hash stray = merkle::leaf_hash(as_bytes(std::string_view("stray")));
  for (std::uint64_t n = 1; n <= 64; ++n) {
    const Hash new_root = mth(leaves, 0, n);
    for (std::uint64_t m = 1; m <= n; ++m) {
      const Hash old_root = mth(leaves, 0, m);
      Proof proof = merkle::consistency_proof(src, m, n);
      INFO("consistency " << m << " -> " << n);
      for (const auto& [what, bad] : broken_variants(proof, stray)) {
        INFO(what);
        CHECK_FALSE(merkle::verify_consistency(m, n, old_root, new_root, bad));
        CHECK_FALSE(ref_verify_consistency(m, n, old_root, new_root, bad));
      }
      // The old root itself prepended (as a careless server might) is still too many.
      Proof with_old = proof;
      with_old.insert(with_old.begin(), old_root);
      CHECK_FALSE(merkle::verify_consistency(m, n, old_root, new_root, with_old));
      // Wrong sizes, each with the root of that size (see the inclusion case).
      if (m > 1) CHECK_FALSE(merkle::verify_consistency(m - 1, n, mth(leaves, 0, m - 1), new_root, proof));
      if (m < n) CHECK_FALSE(merkle::verify_consistency(m + 1, n, mth(leaves, 0, m + 1), new_root, proof));
      CHECK_FALSE(merkle::verify_consistency(m, n + 1, old_root, mth(leaves, 0, n + 1), proof));
      if (m < n) CHECK_FALSE(merkle::verify_consistency(m, n - 1, old_root, mth(leaves, 0, n - 1), proof));
      CHECK_FALSE(merkle::verify_consistency(m, n, stray, new_root, proof));
      CHECK_FALSE(merkle::verify_consistency(m, n, old_root, stray, proof));
      CHECK_FALSE(merkle::verify_consistency(n + 1, n, old_root, new_root, proof));  // old > new
      if (m < n) CHECK_FALSE(merkle::verify_consistency(m, n, new_root, old_root, proof));  // swapped
    }
  }
}

TEST_CASE("for any claimed sizes, the verifier agrees with the independent model", "[merkle]") {
  // A proof offered with sizes other than its own: the RFC 9162 bit walk and the
  // recursive model must give the same answer for every combination, so neither can
  // accept a proof whose shape does not fit the sizes claimed.
  auto leaves = make_leaves(40);
  auto src = source_over(leaves);
  std::size_t accepted_elsewhere = 0;
  std::size_t disagreements = 0;  // counted, not REQUIREd: a million Catch assertions are slow
  std::string first;
  for (std::uint64_t n = 1; n <= 32; ++n) {
    const Hash root = mth(leaves, 0, n);
    for (std::uint64_t m = 0; m < n; ++m) {
      Proof proof = merkle::inclusion_proof(src, m, n);
      for (std::uint64_t claimed_n = 1; claimed_n <= 40; ++claimed_n)
        for (std::uint64_t claimed_m = 0; claimed_m < claimed_n; ++claimed_m) {
          bool ours = merkle::verify_inclusion(leaves[m], claimed_m, claimed_n, proof, root);
          bool model = ref_verify_inclusion(leaves[m], claimed_m, claimed_n, proof, root);
          if (ours != model && disagreements++ == 0)
            first = "inclusion proof for " + std::to_string(m) + " in " + std::to_string(n) + " offered as " +
                    std::to_string(claimed_m) + " in " + std::to_string(claimed_n);
          if (ours && claimed_n != n) ++accepted_elsewhere;
        }
    }
    for (std::uint64_t m = 1; m <= n; ++m) {
      const Hash old_root = mth(leaves, 0, m);
      Proof proof = merkle::consistency_proof(src, m, n);
      for (std::uint64_t claimed_n = 1; claimed_n <= 40; ++claimed_n)
        for (std::uint64_t claimed_m = 1; claimed_m <= claimed_n; ++claimed_m) {
          bool ours = merkle::verify_consistency(claimed_m, claimed_n, old_root, root, proof);
          bool model = ref_verify_consistency(claimed_m, claimed_n, old_root, root, proof);
          if (ours != model && disagreements++ == 0)
            first = "consistency proof " + std::to_string(m) + " -> " + std::to_string(n) + " offered as " +
                    std::to_string(claimed_m) + " -> " + std::to_string(claimed_n);
        }
    }
  }
  INFO("first disagreement: " << first);
  CHECK(disagreements == 0);
  // Some do fit other sizes (leaf 0 of 3 and of 4 have the same path shape): that is
  // why a size is only ever trusted together with its root from a signed checkpoint.
  CHECK(accepted_elsewhere > 0);
}

TEST_CASE("trivial and extreme tree sizes", "[merkle]") {
  const Hash a = merkle::leaf_hash(as_bytes(std::string_view("a")));
  // A one-leaf tree's root is its leaf hash; the proof is empty.
  CHECK(merkle::verify_inclusion(a, 0, 1, {}, a));
  CHECK_FALSE(merkle::verify_inclusion(a, 0, 0, {}, a));
  CHECK_FALSE(merkle::verify_inclusion(a, 1, 1, {}, a));
  // Equal sizes: empty proof, equal roots; the empty tree is consistent with any tree.
  CHECK(merkle::verify_consistency(5, 5, a, a, {}));
  CHECK_FALSE(merkle::verify_consistency(5, 5, a, merkle::empty_root(), {}));
  CHECK_FALSE(merkle::verify_consistency(5, 5, a, a, {a}));
  CHECK(merkle::verify_consistency(0, 9, merkle::empty_root(), a, {}));
  CHECK_FALSE(merkle::verify_consistency(0, 9, a, a, {}));
  CHECK_FALSE(merkle::verify_consistency(0, 9, merkle::empty_root(), a, {a}));
  CHECK_FALSE(merkle::verify_consistency(3, 9, a, a, {}));

  // Near 2^64 the bit walk must neither overflow nor accept junk.
  const std::uint64_t big = ~std::uint64_t{0};
  Proof junk(64, a);
  CHECK_FALSE(merkle::verify_inclusion(a, big - 1, big, junk, a));
  CHECK_FALSE(merkle::verify_inclusion(a, 0, big, junk, a));
  CHECK_FALSE(merkle::verify_consistency(big - 1, big, a, a, junk));
  CHECK_FALSE(merkle::verify_consistency(std::uint64_t{1} << 63, big, a, a, junk));
  CHECK_FALSE(merkle::root_from_inclusion(a, big - 1, big, Proof(200, a)));
}
