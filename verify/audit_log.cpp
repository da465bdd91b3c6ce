// Pass 6: the custody log. We trust nothing the index derived from the entries: the
// leaves are re-hashed and the tree is rebuilt here from them alone, then compared
// with the index's stored tree and with every signed checkpoint.

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "base/codec.h"
#include "store/content_id.h"
#include "base/error.h"
#include "verify/audit_passes.h"
#include "verify/merkle_verify.h"
#include "verify/tsa.h"

namespace evidence::audit_detail {

namespace {

using merkle::Hash;

// RFC 6962 hashing done here with SHA-256 directly, so that a bug in the store's
// Merkle code cannot hide itself from the audit that checks it.
Hash leaf_hash(std::string_view leaf) {
  Sha256 h;
  const std::uint8_t prefix = 0x00;
  h.update(std::span<const std::uint8_t>(&prefix, 1));
  h.update(leaf);
  return h.finish().bytes;
}

Hash node_hash(const Hash& l, const Hash& r) {
  Sha256 h;
  const std::uint8_t prefix = 0x01;
  h.update(std::span<const std::uint8_t>(&prefix, 1));
  h.update(l);
  h.update(r);
  return h.finish().bytes;
}

// The right edge of the tree as we rebuild it: perfect subtrees, largest first.
class Edge {
 public:
  // `completed(level, index, hash)` is told of every perfect subtree the leaf
  // completes (the leaf itself at level 0), as the index stores them.
  template <typename Fn>
  void push(const Hash& leaf, Fn&& completed) {
    const std::uint64_t i = size_++;
    stack_.push_back({0, leaf});
    completed(0u, i, leaf);
    while (stack_.size() >= 2 && stack_[stack_.size() - 2].level == stack_.back().level) {
      Node right = stack_.back();
      stack_.pop_back();
      Node& left = stack_.back();
      left.hash = node_hash(left.hash, right.hash);
      ++left.level;
      completed(left.level, i >> left.level, left.hash);
    }
  }
  // RFC 6962 MTH of everything pushed so far: the subtrees folded from the right.
  Hash root() const {
    if (stack_.empty()) return Sha256::of(std::string_view{}).bytes;
    Hash h = stack_.back().hash;
    for (auto it = stack_.rbegin() + 1; it != stack_.rend(); ++it) h = node_hash(it->hash, h);
    return h;
  }

 private:
  struct Node {
    unsigned level;
    Hash hash;
  };
  std::uint64_t size_ = 0;
  std::vector<Node> stack_;
};

// The index's stored hash of one perfect subtree; nullopt when it has none or what
// it has is not a hash (both are reported the same way).
std::optional<Hash> stored_node(const Index& index, unsigned level, std::uint64_t i) {
  try {
    return index.stored_subtree(level, i);
  } catch (const Error& e) {
    if (e.code() != Errc::corrupt) throw;
    return std::nullopt;
  }
}

constexpr std::size_t kMaxNodeReports = 8;

std::string b64(const Hash& h) { return to_base64(h); }

Problem log_problem(ProblemKind kind, std::string detail, std::optional<std::uint64_t> at = {}) {
  Problem p;
  p.kind = kind;
  p.detail = std::move(detail);
  p.log_index = at;
  return p;
}

struct ParsedCheckpoint {
  std::uint64_t key_size = 0;  // the size it is stored under
  std::optional<note::Checkpoint> cp;
};

// The note's text before the signature block (used when the signature fails, so the
// root can still be compared and the report says everything that is wrong).
std::string unsigned_text(const std::string& note_text) {
  auto pos = note_text.find("\n\n");
  return pos == std::string::npos ? std::string{} : note_text.substr(0, pos + 1);
}

constexpr std::uint64_t kPage = 1024;

}  // namespace

LogFacts check_log(const Index& index, const note::Verifier& verifier, const std::string& tsa_ca_pem,
                   AuditReport& report, const std::atomic<bool>* cancel) {
  LogFacts facts;
  // Checkpoints before the size: a daemon appending meanwhile can only make the log
  // longer than every checkpoint we read, never shorter.
  const auto stored_cps = index.checkpoints();
  const std::uint64_t n = index.log_size();
  report.checkpoints = stored_cps.size();

  // Checkpoints first: signature and body. Roots are compared once rebuilt.
  std::vector<ParsedCheckpoint> cps;
  for (const auto& s : stored_cps) {
    ParsedCheckpoint pc;
    pc.key_size = s.size;
    auto text = note::open(s.note, verifier);
    if (!text) {
      add_problem(report, log_problem(ProblemKind::signature_invalid,
                                      "checkpoint stored at size " + std::to_string(s.size) +
                                          ": no valid signature by log key " + verifier.name));
      text = unsigned_text(s.note);
    }
    pc.cp = note::Checkpoint::parse(*text);
    if (!pc.cp) {
      add_problem(report, log_problem(ProblemKind::log_inconsistent, "checkpoint stored at size " +
                                                              std::to_string(s.size) +
                                                              " is not a C2SP tlog-checkpoint"));
    } else {
      if (pc.cp->origin != verifier.name) {
        add_problem(report, log_problem(ProblemKind::log_inconsistent,
                                        "checkpoint stored at size " + std::to_string(s.size) +
                                            " has origin '" + pc.cp->origin + "', this log is '" +
                                            verifier.name + "'"));
      }
      if (pc.cp->size != s.size) {
        add_problem(report, log_problem(ProblemKind::log_inconsistent,
                                        "checkpoint stored at size " + std::to_string(s.size) +
                                            " says size " + std::to_string(pc.cp->size)));
      }
      if (pc.cp->size > n) {
        facts.complete = false;
        add_problem(report,
                    log_problem(ProblemKind::log_inconsistent,
                                "checkpoint of size " + std::to_string(pc.cp->size) +
                                    " but the log holds only " + std::to_string(n) +
                                    " entries: entries were removed after it was signed"));
      }
      if (!s.root_timestamp.empty()) {
        ContentId root;
        root.bytes = pc.cp->root;
        try {
          tsa::verify(s.root_timestamp, root, tsa_ca_pem);
        } catch (const std::exception& e) {
          Problem p = log_problem(ProblemKind::timestamp_invalid, "timestamp of checkpoint root at size " +
                                                           std::to_string(s.size) + ": " + e.what());
          add_problem(report, std::move(p));
        }
      }
    }
    cps.push_back(std::move(pc));
  }

  // The sizes at which we need the rebuilt root.
  std::set<std::uint64_t> wanted;
  for (const auto& pc : cps) {
    if (pc.cp && pc.cp->size <= n) wanted.insert(pc.cp->size);
  }
  std::map<std::uint64_t, Hash> roots;
  Edge edge;
  roots[0] = edge.root();

  // Stream the leaves in pages; a gap ends the rebuild (roots past it are unknown).
  std::uint64_t next = 0;
  bool broken = false;
  std::size_t bad_nodes = 0;
  while (next < n && !broken) {
    check_cancel(cancel);
    const std::uint64_t end = std::min(n, next + kPage);
    const auto page = index.log_entries(next, end);
    std::size_t k = 0;
    for (std::uint64_t i = next; i < end; ++i) {
      if (k >= page.size() || page[k].index != i) {
        add_problem(report, log_problem(ProblemKind::log_inconsistent,
                                        "custody entry " + std::to_string(i) + " of " +
                                            std::to_string(n) + " is missing",
                                        i));
        broken = true;
        facts.complete = false;
        break;
      }
      const LogEntry& e = page[k++];
      // Every stored subtree must be the one the leaves give: proofs for receipts
      // and auditors are built from them, and most never touch the root's path.
      edge.push(leaf_hash(e.leaf), [&](unsigned level, std::uint64_t at, const Hash& mine) {
        const auto stored = stored_node(index, level, at);
        if (stored && *stored == mine) return;
        if (++bad_nodes > kMaxNodeReports) return;
        add_problem(report, log_problem(ProblemKind::log_inconsistent,
                                        "the index's stored Merkle subtree (level " + std::to_string(level) +
                                            ", index " + std::to_string(at) + ") " +
                                            (stored ? "differs from" : "is missing; expected") +
                                            " the hash of its entries " + b64(mine) +
                                            ": inclusion and consistency proofs built from it are wrong"));
      });
      ++facts.entries;
      try {
        auto ev = CustodyEvent::decode(e.leaf);
        if (ev.action == "ingest") {
          if (!ev.evidence || !ev.record_hash) {
            add_problem(report, log_problem(ProblemKind::log_inconsistent,
                                            "ingest entry " + std::to_string(i) +
                                                " lacks its evidence or record_hash",
                                            i));
          } else {
            facts.ingest[*ev.evidence].push_back({i, *ev.record_hash, ev.sha256, ev.size});
          }
        }
        note_membership(i, ev, facts.membership);
        note_disposal(i, ev, facts);
        note_review(i, ev, facts);
      } catch (const std::exception& ex) {
        add_problem(report, log_problem(ProblemKind::log_inconsistent,
                                        "custody entry " + std::to_string(i) +
                                            " does not decode: " + ex.what(),
                                        i));
      }
      if (wanted.count(i + 1)) roots[i + 1] = edge.root();
    }
    next = end;
  }
  report.log_entries = facts.entries;
  if (bad_nodes > kMaxNodeReports) {
    add_problem(report, log_problem(ProblemKind::log_inconsistent, std::to_string(bad_nodes - kMaxNodeReports) +
                                                            " more stored Merkle subtrees are wrong"));
  }

  if (!broken) {
    const Hash mine = edge.root();
    roots[n] = mine;
    try {
      const Hash stored = index.log_root(n);
      if (stored != mine) {
        add_problem(report,
                    log_problem(ProblemKind::log_inconsistent,
                                "the index's Merkle tree at size " + std::to_string(n) + " has root " +
                                    b64(stored) + " but the entries give " + b64(mine) +
                                    ": an entry or the stored tree was altered"));
      }
    } catch (const std::exception& ex) {
      add_problem(report, log_problem(ProblemKind::log_inconsistent, "the index's Merkle tree at size " +
                                                              std::to_string(n) +
                                                              " cannot be read: " + ex.what()));
    }
  }

  // Each checkpoint against the rebuilt tree, then successive checkpoints against each
  // other with the index's consistency proofs (what the API serves to auditors).
  const ParsedCheckpoint* prev = nullptr;
  for (const auto& pc : cps) {
    if (!pc.cp || pc.cp->size > n) continue;
    const auto size = pc.cp->size;
    auto it = roots.find(size);
    if (it == roots.end()) {
      add_problem(report, log_problem(ProblemKind::log_inconsistent,
                                      "checkpoint of size " + std::to_string(size) +
                                          " cannot be checked: the log has a gap before it"));
      continue;
    }
    if (it->second != pc.cp->root) {
      add_problem(report, log_problem(ProblemKind::log_inconsistent,
                                      "checkpoint of size " + std::to_string(size) + " has root " +
                                          b64(pc.cp->root) + " but the entries give " +
                                          b64(it->second)));
    }
    if (prev && prev->cp->size > 0 && prev->cp->size < size) {
      bool consistent = false;
      std::string why;
      try {
        auto proof = index.consistency_proof(prev->cp->size, size);
        consistent = merkle::verify_consistency(prev->cp->size, size, prev->cp->root,
                                                pc.cp->root, proof);
      } catch (const std::exception& ex) {
        why = std::string(": ") + ex.what();
      }
      if (!consistent) {
        add_problem(report, log_problem(ProblemKind::log_inconsistent,
                                        "no valid consistency proof from checkpoint " +
                                            std::to_string(prev->cp->size) + " to " +
                                            std::to_string(size) + why));
      }
    }
    prev = &pc;
  }
  return facts;
}

}  // namespace evidence::audit_detail
