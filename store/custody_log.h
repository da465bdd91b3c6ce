// The custody log as an interface: an append-only RFC 6962 Merkle log of custody
// entries, with proofs and signed checkpoints. Engine-neutral: the LMDB engine is
// store/lmdb/, and any other engine answers the same calls with the same errors
// (tests/store/conformance*.cpp).
//
// Contracts every engine keeps:
//   - entries are numbered 0, 1, 2 ... in commit order, with no gaps, and never change;
//   - an entry that names an item (CustodyEvent::evidence) is found by
//     entries_for_evidence in the same commit that appends it;
//   - chains (DESIGN.md, "Gaps are visible offline"): the engine sets each appended
//     entry's `prev` to the index of the newest earlier entry naming the same item and
//     `case_prev` likewise for its case, whatever the caller put there, including for
//     entries earlier in the same append_events/write commit;
//   - roots and proofs are RFC 6962's over the exact leaf bytes (LogEntry::leaf).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/codec.h"
#include "store/merkle.h"
#include "store/records.h"

namespace evidence {

// A custody entry as stored: its position and its exact leaf bytes.
struct LogEntry {
  std::uint64_t index = 0;
  std::string leaf;  // the bytes hashed as the Merkle leaf (CustodyEvent::encode())
};

struct StoredCheckpoint {
  std::uint64_t size = 0;
  std::string note;  // signed note text (C2SP tlog-checkpoint + signature lines)
  Bytes root_timestamp;  // RFC 3161 token over the root hash (may be empty)
};

class CustodyLog {
 public:
  virtual ~CustodyLog() = default;

  // Appends in one commit; returns the entry indexes. Error(permission_denied) when
  // the index is read-only.
  virtual std::vector<std::uint64_t> append_events(const std::vector<CustodyEvent>& events) = 0;
  std::uint64_t append_event(const CustodyEvent& event) { return append_events({event}).front(); }

  virtual std::uint64_t log_size() const = 0;
  // Entries with start <= index < end that exist, in order (a damaged log may have gaps).
  virtual std::vector<LogEntry> log_entries(std::uint64_t start, std::uint64_t end) const = 0;
  std::optional<LogEntry> log_entry(std::uint64_t index) const {
    auto e = log_entries(index, index + 1);
    if (e.empty()) return std::nullopt;
    return e.front();
  }
  // Indexes of the entries that name `evidence_id`, in order.
  virtual std::vector<std::uint64_t> entries_for_evidence(const std::string& evidence_id) const = 0;
  // The index of the newest entry naming `case_number` (its case_prev chain leads back
  // through every earlier one written since chains existed); nullopt when none.
  virtual std::optional<std::uint64_t> newest_entry_for_case(const std::string& case_number) const = 0;

  // Error(invalid_argument) if size > log_size.
  virtual merkle::Hash log_root(std::uint64_t size) const = 0;
  // Error(invalid_argument) unless index < size <= log_size.
  virtual std::vector<merkle::Hash> inclusion_proof(std::uint64_t index, std::uint64_t size) const = 0;
  // Error(invalid_argument) unless 0 < old_size <= new_size <= log_size.
  virtual std::vector<merkle::Hash> consistency_proof(std::uint64_t old_size, std::uint64_t new_size) const = 0;
  // The engine's stored hash of the perfect subtree of 2^level leaves starting at
  // leaf index*2^level, the hashes proofs are built from; nullopt when the engine has
  // none for it. For the audit, which recomputes them from the leaves and compares.
  // Error(corrupt) when what is stored is not a hash.
  virtual std::optional<merkle::Hash> stored_subtree(unsigned level, std::uint64_t index) const = 0;

  // Stores (or replaces) the checkpoint signed at cp.size.
  virtual void put_checkpoint(const StoredCheckpoint& cp) = 0;
  virtual std::optional<StoredCheckpoint> latest_checkpoint() const = 0;  // largest size
  virtual std::optional<StoredCheckpoint> checkpoint_at(std::uint64_t size) const = 0;
  virtual std::vector<StoredCheckpoint> checkpoints() const = 0;  // ascending size
};

}  // namespace evidence
