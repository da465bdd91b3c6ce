// RAII over LMDB (lmdb++'s habit): move-only transactions whose destructor aborts,
// and one place that maps LMDB's error codes to our Error. Internal to store/lmdb/.
#pragma once

#include <lmdb.h>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "base/codec.h"
#include "base/error.h"

namespace evidence::lmdb {

// Thrown inside a write callback when the map is full; the Index grows the map and
// re-runs the callback.
struct MapFull {};

[[noreturn]] void fail(int rc, const std::string& what);
inline void check(int rc, const char* what) {
  if (rc == MDB_MAP_FULL) throw MapFull{};
  if (rc != MDB_SUCCESS) fail(rc, what);
}

inline MDB_val val(std::span<const std::uint8_t> b) {
  return MDB_val{b.size(), const_cast<std::uint8_t*>(b.data())};
}
inline MDB_val val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
inline std::span<const std::uint8_t> bytes(const MDB_val& v) {
  return {static_cast<const std::uint8_t*>(v.mv_data), v.mv_size};
}
inline std::string_view chars(const MDB_val& v) { return {static_cast<const char*>(v.mv_data), v.mv_size}; }

class Txn {
 public:
  Txn(MDB_env* env, bool read_only);
  // Takes over a read-only transaction that is already running (e.g. renewed).
  static Txn adopt(MDB_txn* running) {
    Txn t;
    t.txn_ = running;
    return t;
  }
  ~Txn() { abort(); }
  Txn(Txn&& o) noexcept : txn_(std::exchange(o.txn_, nullptr)) {}
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;

  MDB_txn* get() const { return txn_; }
  // Gives up ownership (the caller resets or ends the transaction).
  MDB_txn* release() noexcept { return std::exchange(txn_, nullptr); }
  void commit();
  void abort() noexcept {
    if (txn_) mdb_txn_abort(txn_);
    txn_ = nullptr;
  }

  std::optional<MDB_val> get(MDB_dbi db, MDB_val key) const;
  void put(MDB_dbi db, MDB_val key, MDB_val value, unsigned flags = 0);
  // Returns false when the key (or key/value pair for dupsort) was absent.
  bool del(MDB_dbi db, MDB_val key, const MDB_val* value = nullptr);

 private:
  Txn() = default;
  MDB_txn* txn_ = nullptr;
};

class Cursor {
 public:
  Cursor(const Txn& txn, MDB_dbi db);
  ~Cursor() {
    if (cur_) mdb_cursor_close(cur_);
  }
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;
  // Positions the cursor; returns false on MDB_NOTFOUND.
  bool get(MDB_val& key, MDB_val& value, MDB_cursor_op op);

 private:
  MDB_cursor* cur_ = nullptr;
};

}  // namespace evidence::lmdb
