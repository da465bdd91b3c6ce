// The LMDB index's environment: opening it (databases, schema version), the idle
// reader pool, map resizing, Index::write over one LMDB transaction, maintenance and
// the raw accessors for tests.
#include <sys/stat.h>

#include <filesystem>

#include "base/error.h"
#include "store/format.h"
#include "store/lmdb/engine.h"

namespace evidence {

using lmdb_engine::LmdbWriteTxn;
using lmdb::Txn;
using lmdb::val;

namespace {

struct DbSpec {
  const char* name;
  unsigned flags;
};

constexpr DbSpec kDbs[] = {
    {"meta", 0},          {"evidence", 0},       {"timestamps", 0},      {"case_items", MDB_DUPSORT},
    {"item_cases", MDB_DUPSORT}, {"content", MDB_DUPSORT}, {"by_officer", 0}, {"by_device", 0},
    {"by_time", 0},       {"users", 0},          {"user_names", 0},      {"uploads", 0},
    {"log", 0},           {"tree", 0},           {"checkpoints", 0},     {"checkpoint_ts", 0},
    {"item_events", MDB_DUPSORT}, {"derived", 0},
};

}  // namespace

LmdbIndex::Impl::~Impl() {
  for (MDB_txn* t : idle_readers) mdb_txn_abort(t);
  if (env) mdb_env_close(env);
}

MDB_txn* LmdbIndex::Impl::take_reader() const {
  MDB_txn* t = nullptr;
  {
    std::lock_guard lock(idle_mu);
    if (!idle_readers.empty()) {
      t = idle_readers.back();
      idle_readers.pop_back();
    }
  }
  if (t) {
    const int rc = mdb_txn_renew(t);
    if (rc == MDB_SUCCESS) return t;
    mdb_txn_abort(t);
    if (rc == MDB_MAP_RESIZED) throw lmdb::MapFull{};
    lmdb::fail(rc, "mdb_txn_renew");
  }
  return lmdb::Txn(env, true).release();
}

void LmdbIndex::Impl::give_back(MDB_txn* t) const noexcept {
  mdb_txn_reset(t);
  {
    std::lock_guard lock(idle_mu);
    if (idle_readers.size() < kIdleReaders) {
      idle_readers.push_back(t);
      return;
    }
  }
  mdb_txn_abort(t);
}

MDB_dbi LmdbIndex::Impl::db(std::string_view name) const {
  auto it = dbs.find(name);
  if (it == dbs.end()) throw Error(Errc::invalid_argument, "no database named " + std::string(name));
  return it->second;
}

void LmdbIndex::Impl::resize(bool grow) {
  std::unique_lock lock(resize_mu);
  MDB_envinfo info{};
  mdb_env_info(env, &info);
  std::size_t size = grow ? info.me_mapsize * 2 : 0;
  int rc = mdb_env_set_mapsize(env, size);
  if (rc != MDB_SUCCESS) lmdb::fail(rc, "mdb_env_set_mapsize");
}

std::optional<Bytes> LmdbIndex::Impl::get_copy(MDB_dbi db, std::span<const std::uint8_t> key) const {
  return read([&](Txn& t) -> std::optional<Bytes> {
    auto v = t.get(db, val(key));
    if (!v) return std::nullopt;
    auto b = lmdb::bytes(*v);
    return Bytes(b.begin(), b.end());
  });
}

LmdbIndex::LmdbIndex(const Layout& layout, OpenMode mode, std::size_t initial_map_size)
    : impl_(std::make_unique<Impl>()) {
  auto dir = layout.index_dir();
  impl_->read_only = mode == OpenMode::read_only;
  if (!impl_->read_only) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw Error(Errc::io_error, "create " + dir.string() + ": " + ec.message());
  } else if (!std::filesystem::exists(dir / "data.mdb")) {
    throw Error(Errc::not_found, "no evidence index at " + dir.string());
  }
  lmdb::check(mdb_env_create(&impl_->env), "mdb_env_create");
  mdb_env_set_maxdbs(impl_->env, 32);
  mdb_env_set_maxreaders(impl_->env, 1024);
  mdb_env_set_mapsize(impl_->env, initial_map_size);
  // MDB_NOTLS: read transactions belong to our Txn objects, not to threads, so any
  // I/O thread may run one. Every write transaction is synced (no MDB_NOSYNC).
  unsigned flags = MDB_NOTLS | (impl_->read_only ? MDB_RDONLY : 0u);
  int rc = mdb_env_open(impl_->env, dir.c_str(), flags, 0640);
  if (rc != MDB_SUCCESS) lmdb::fail(rc, "open index " + dir.string());
  // Slots of readers that died (a killed `evidenced verify`) would pin old pages, and
  // the file would grow for ever: free them now, and again from time to time.
  if (!impl_->read_only) clear_stale_readers();

  auto open_all = [&](Txn& t) {
    for (auto& spec : kDbs) {
      MDB_dbi dbi{};
      unsigned f = spec.flags | (impl_->read_only ? 0u : static_cast<unsigned>(MDB_CREATE));
      int r = mdb_dbi_open(t.get(), spec.name, f, &dbi);
      if (r == MDB_NOTFOUND) throw Error(Errc::corrupt, std::string("index lacks database ") + spec.name);
      lmdb::check(r, "mdb_dbi_open");
      impl_->dbs[spec.name] = dbi;
    }
    {
      // case_last (since chains): opened apart because older stores lack it. A
      // read-only open of such a store leaves it absent (nothing is appended); a
      // writable one creates it and fills it from the log, so the first new entry
      // naming an old case still gets case_prev.
      MDB_dbi dbi{};
      int r = mdb_dbi_open(t.get(), "case_last", 0, &dbi);
      if (r == MDB_NOTFOUND && !impl_->read_only) {
        lmdb::check(mdb_dbi_open(t.get(), "case_last", MDB_CREATE, &dbi), "mdb_dbi_open");
        impl_->case_last = dbi;
        impl_->has_case_last = true;
        lmdb::Cursor c(t, impl_->db("log"));
        MDB_val k{}, v{};
        for (bool ok = c.get(k, v, MDB_FIRST); ok; ok = c.get(k, v, MDB_NEXT)) {
          auto e = CustodyEvent::decode(lmdb::chars(v));
          if (e.case_number) t.put(dbi, val(*e.case_number), lmdb::val(lmdb::bytes(k)));
        }
      } else if (r != MDB_NOTFOUND) {
        lmdb::check(r, "mdb_dbi_open");
        impl_->case_last = dbi;
        impl_->has_case_last = true;
      }
    }
    auto& m = *impl_;
    m.meta = m.db("meta"), m.evidence = m.db("evidence"), m.timestamps = m.db("timestamps");
    m.case_items = m.db("case_items"), m.item_cases = m.db("item_cases"), m.content = m.db("content");
    m.by_officer = m.db("by_officer"), m.by_device = m.db("by_device"), m.by_time = m.db("by_time");
    m.users = m.db("users"), m.user_names = m.db("user_names"), m.uploads = m.db("uploads");
    m.log = m.db("log"), m.tree = m.db("tree"), m.checkpoints = m.db("checkpoints");
    m.checkpoint_ts = m.db("checkpoint_ts"), m.item_events = m.db("item_events"), m.derived = m.db("derived");
    m.open_lifecycle(t);
    m.open_reviews(t);
    auto version = t.get(m.meta, val("schema_version"));
    if (!version) {
      if (!impl_->read_only) t.put(m.meta, val("schema_version"), val(format::kSchemaVersion));
    } else if (lmdb::chars(*version) != format::kSchemaVersion) {
      throw Error(Errc::corrupt, "index schema version " + std::string(lmdb::chars(*version)) + " is not supported");
    }
  };
  if (impl_->read_only) {
    impl_->read([&](Txn& t) {
      open_all(t);
      t.commit();
      return 0;
    });
  } else {
    impl_->write([&](Txn& t) { open_all(t); });
  }
}

LmdbIndex::~LmdbIndex() = default;

void LmdbIndex::write(const std::function<void(WriteTxn&)>& fn) {
  impl_->write([&](Txn& t) {
    LmdbWriteTxn w(*impl_, t);
    fn(w);
  });
}

int LmdbIndex::clear_stale_readers() {
  int dead = 0;
  lmdb::check(mdb_reader_check(impl_->env, &dead), "mdb_reader_check");
  return dead;
}

std::uint64_t LmdbIndex::map_size() const {
  MDB_envinfo info{};
  mdb_env_info(impl_->env, &info);
  return info.me_mapsize;
}

void LmdbIndex::raw_put(const std::string& db, std::span<const std::uint8_t> key,
                        std::span<const std::uint8_t> value) {
  impl_->write([&](Txn& t) { t.put(impl_->db(db), val(key), val(value)); });
}

void LmdbIndex::raw_del(const std::string& db, std::span<const std::uint8_t> key) {
  impl_->write([&](Txn& t) { t.del(impl_->db(db), val(key)); });
}

std::optional<Bytes> LmdbIndex::raw_get(const std::string& db, std::span<const std::uint8_t> key) const {
  return impl_->get_copy(impl_->db(db), key);
}

std::unique_ptr<Index> open_index(const Layout& layout, OpenMode mode, std::size_t initial_map_size) {
  return std::make_unique<LmdbIndex>(layout, mode, initial_map_size);
}

}  // namespace evidence
