// The LMDB index's custody log: entries keyed by index, the Merkle tree kept as the
// stored hashes of its perfect subtrees (appends update them through the frontier in
// the same transaction), proofs answered from those, and signed checkpoints.
#include "base/error.h"
#include "store/lmdb/engine.h"

namespace evidence {

using namespace lmdb_engine;

std::uint64_t LmdbIndex::Impl::next_log_index(const Txn& t) const {
  lmdb::Cursor c(t, log);
  MDB_val k{}, v{};
  if (!c.get(k, v, MDB_LAST)) return 0;
  return from_be64(lmdb::bytes(k)) + 1;
}

merkle::SubtreeSource LmdbIndex::Impl::subtrees(const Txn& t) const {
  return [this, &t](unsigned level, std::uint64_t index) {
    auto key = tree_key(level, index);
    auto v = t.get(tree, val(key));
    if (!v || v->mv_size != 32) throw Error(Errc::corrupt, "custody log: missing tree node");
    merkle::Hash h;
    std::copy_n(static_cast<const std::uint8_t*>(v->mv_data), 32, h.begin());
    return h;
  };
}

LmdbIndex::Impl::Appender::Appender(Impl& impl, Txn& t)
    : impl_(impl), t_(t), next_(impl.next_log_index(t)), frontier_(merkle::Frontier::load(impl.subtrees(t), next_)) {}

std::uint64_t LmdbIndex::Impl::Appender::append(const CustodyEvent& event) {
  // Chains: the engine, not the caller, says which entry came before. Earlier appends
  // in this transaction (a group-commit batch) are already in item_events/case_last.
  CustodyEvent e = event;
  e.prev.reset();
  e.case_prev.reset();
  if (e.evidence) {
    lmdb::Cursor c(t_, impl_.item_events);
    MDB_val k = val(*e.evidence), v{};
    if (c.get(k, v, MDB_SET_KEY) && c.get(k, v, MDB_LAST_DUP)) e.prev = from_be64(lmdb::bytes(v));
  }
  if (e.case_number && impl_.has_case_last) {
    if (auto v = t_.get(impl_.case_last, val(*e.case_number))) e.case_prev = from_be64(lmdb::bytes(*v));
  }
  const std::string leaf = e.encode();
  const std::uint64_t index = next_++;
  auto k = be64(index);
  t_.put(impl_.log, val(k), val(leaf), MDB_NOOVERWRITE);
  frontier_.append(merkle::leaf_hash(as_bytes(leaf)), [&](unsigned level, std::uint64_t i, const merkle::Hash& h) {
    auto key = tree_key(level, i);
    t_.put(impl_.tree, val(key), val(h));
  });
  if (e.evidence) t_.put(impl_.item_events, val(*e.evidence), val(k));
  if (e.case_number && impl_.has_case_last) t_.put(impl_.case_last, val(*e.case_number), val(k));
  return index;
}

std::uint64_t LmdbWriteTxn::append(const CustodyEvent& event) {
  if (!log_) log_.emplace(impl_, t_);
  return log_->append(event);
}

std::uint64_t LmdbWriteTxn::next_log_index() {
  if (!log_) log_.emplace(impl_, t_);
  return log_->next();
}

std::uint64_t LmdbIndex::log_size() const {
  return impl_->read([&](Txn& t) { return impl_->next_log_index(t); });
}

std::vector<LogEntry> LmdbIndex::log_entries(std::uint64_t start, std::uint64_t end) const {
  return impl_->read([&](Txn& t) {
    std::vector<LogEntry> out;
    if (end <= start) return out;
    lmdb::Cursor c(t, impl_->log);
    auto sk = be64(start);
    MDB_val k = val(sk), v{};
    for (bool ok = c.get(k, v, MDB_SET_RANGE); ok; ok = c.get(k, v, MDB_NEXT)) {
      auto i = from_be64(lmdb::bytes(k));
      if (i >= end) break;
      out.push_back(LogEntry{i, std::string(lmdb::chars(v))});
    }
    return out;
  });
}

std::vector<std::uint64_t> LmdbIndex::entries_for_evidence(const std::string& evidence_id) const {
  return impl_->read([&](Txn& t) {
    std::vector<std::uint64_t> out;
    for (auto& v : impl_->dup_values(t, impl_->item_events, evidence_id)) out.push_back(from_be64(as_bytes(v)));
    return out;
  });
}

std::optional<std::uint64_t> LmdbIndex::newest_entry_for_case(const std::string& case_number) const {
  return impl_->read([&](Txn& t) -> std::optional<std::uint64_t> {
    if (!impl_->has_case_last) {
      // An older store opened read-only: no case_last yet; find it in the log.
      lmdb::Cursor c(t, impl_->log);
      MDB_val k{}, v{};
      for (bool ok = c.get(k, v, MDB_LAST); ok; ok = c.get(k, v, MDB_PREV)) {
        if (CustodyEvent::decode(lmdb::chars(v)).case_number == case_number) return from_be64(lmdb::bytes(k));
      }
      return std::nullopt;
    }
    auto v = t.get(impl_->case_last, val(case_number));
    if (!v) return std::nullopt;
    return from_be64(lmdb::bytes(*v));
  });
}

merkle::Hash LmdbIndex::log_root(std::uint64_t size) const {
  return impl_->read([&](Txn& t) {
    if (size > impl_->next_log_index(t)) throw Error(Errc::invalid_argument, "size is beyond the log");
    return merkle::root(impl_->subtrees(t), size);
  });
}

std::vector<merkle::Hash> LmdbIndex::inclusion_proof(std::uint64_t index, std::uint64_t size) const {
  return impl_->read([&](Txn& t) {
    if (size > impl_->next_log_index(t) || index >= size)
      throw Error(Errc::invalid_argument, "need index < size <= log size");
    return merkle::inclusion_proof(impl_->subtrees(t), index, size);
  });
}

std::optional<merkle::Hash> LmdbIndex::stored_subtree(unsigned level, std::uint64_t index) const {
  if (level > 63) return std::nullopt;
  auto b = impl_->get_copy(impl_->tree, tree_key(level, index));
  if (!b) return std::nullopt;
  if (b->size() != 32) throw Error(Errc::corrupt, "custody log: a stored tree node is not 32 bytes");
  merkle::Hash h;
  std::copy_n(b->begin(), 32, h.begin());
  return h;
}

std::vector<merkle::Hash> LmdbIndex::consistency_proof(std::uint64_t old_size, std::uint64_t new_size) const {
  return impl_->read([&](Txn& t) {
    if (new_size > impl_->next_log_index(t) || old_size == 0 || old_size > new_size)
      throw Error(Errc::invalid_argument, "need 0 < old <= new <= log size");
    return merkle::consistency_proof(impl_->subtrees(t), old_size, new_size);
  });
}

void LmdbIndex::put_checkpoint(const StoredCheckpoint& cp) {
  impl_->write([&](Txn& t) {
    auto k = be64(cp.size);
    t.put(impl_->checkpoints, val(k), val(cp.note));
    t.put(impl_->checkpoint_ts, val(k), val(cp.root_timestamp));
  });
}

namespace {

StoredCheckpoint checkpoint_from(const Txn& t, MDB_dbi ts, const MDB_val& k, const MDB_val& v) {
  StoredCheckpoint cp;
  cp.size = from_be64(lmdb::bytes(k));
  cp.note = std::string(lmdb::chars(v));
  if (auto tv = t.get(ts, k)) {
    auto b = lmdb::bytes(*tv);
    cp.root_timestamp.assign(b.begin(), b.end());
  }
  return cp;
}

}  // namespace

std::optional<StoredCheckpoint> LmdbIndex::latest_checkpoint() const {
  return impl_->read([&](Txn& t) -> std::optional<StoredCheckpoint> {
    lmdb::Cursor c(t, impl_->checkpoints);
    MDB_val k{}, v{};
    if (!c.get(k, v, MDB_LAST)) return std::nullopt;
    return checkpoint_from(t, impl_->checkpoint_ts, k, v);
  });
}

std::optional<StoredCheckpoint> LmdbIndex::checkpoint_at(std::uint64_t size) const {
  return impl_->read([&](Txn& t) -> std::optional<StoredCheckpoint> {
    auto key = be64(size);
    MDB_val k = val(key);
    auto v = t.get(impl_->checkpoints, k);
    if (!v) return std::nullopt;
    return checkpoint_from(t, impl_->checkpoint_ts, k, *v);
  });
}

std::vector<StoredCheckpoint> LmdbIndex::checkpoints() const {
  return impl_->read([&](Txn& t) {
    std::vector<StoredCheckpoint> out;
    lmdb::Cursor c(t, impl_->checkpoints);
    MDB_val k{}, v{};
    for (bool ok = c.get(k, v, MDB_FIRST); ok; ok = c.get(k, v, MDB_NEXT))
      out.push_back(checkpoint_from(t, impl_->checkpoint_ts, k, v));
    return out;
  });
}

}  // namespace evidence
