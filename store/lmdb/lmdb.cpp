#include "store/lmdb/lmdb.h"

namespace evidence::lmdb {

void fail(int rc, const std::string& what) {
  Errc code = Errc::io_error;
  switch (rc) {
    case MDB_NOTFOUND: code = Errc::not_found; break;
    case MDB_KEYEXIST: code = Errc::already_exists; break;
    case MDB_MAP_FULL: code = Errc::no_space; break;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH: code = Errc::corrupt; break;
    case ENOSPC: code = Errc::no_space; break;
    case EACCES:
    case EROFS: code = Errc::permission_denied; break;
    default: break;
  }
  throw Error(code, what + ": " + mdb_strerror(rc));
}

Txn::Txn(MDB_env* env, bool read_only) {
  int rc = mdb_txn_begin(env, nullptr, read_only ? MDB_RDONLY : 0, &txn_);
  if (rc != MDB_SUCCESS) {
    txn_ = nullptr;
    if (rc == MDB_MAP_RESIZED) throw MapFull{};  // caller adopts the new size and retries
    fail(rc, "mdb_txn_begin");
  }
}

void Txn::commit() {
  int rc = mdb_txn_commit(std::exchange(txn_, nullptr));
  check(rc, "mdb_txn_commit");
}

std::optional<MDB_val> Txn::get(MDB_dbi db, MDB_val key) const {
  MDB_val v{};
  int rc = mdb_get(txn_, db, &key, &v);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  check(rc, "mdb_get");
  return v;
}

void Txn::put(MDB_dbi db, MDB_val key, MDB_val value, unsigned flags) {
  check(mdb_put(txn_, db, &key, &value, flags), "mdb_put");
}

bool Txn::del(MDB_dbi db, MDB_val key, const MDB_val* value) {
  MDB_val v = value ? *value : MDB_val{};
  int rc = mdb_del(txn_, db, &key, value ? &v : nullptr);
  if (rc == MDB_NOTFOUND) return false;
  check(rc, "mdb_del");
  return true;
}

Cursor::Cursor(const Txn& txn, MDB_dbi db) { check(mdb_cursor_open(txn.get(), db, &cur_), "mdb_cursor_open"); }

bool Cursor::get(MDB_val& key, MDB_val& value, MDB_cursor_op op) {
  int rc = mdb_cursor_get(cur_, &key, &value, op);
  if (rc == MDB_NOTFOUND) return false;
  check(rc, "mdb_cursor_get");
  return true;
}

}  // namespace evidence::lmdb
