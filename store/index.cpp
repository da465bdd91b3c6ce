#include "store/index.h"

#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <type_traits>

#include "store/error.h"
#include "store/format.h"
#include "store/ids.h"
#include "store/lmdb.h"
#include "store/timefmt.h"

namespace evidence {

namespace {

using lmdb::Txn;
using lmdb::val;

using Key8 = std::array<std::uint8_t, 8>;

Key8 be64(std::uint64_t v) {
  Key8 k{};
  for (int i = 7; i >= 0; --i) {
    k[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v);
    v >>= 8;
  }
  return k;
}

std::uint64_t from_be64(std::span<const std::uint8_t> b) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8 && i < b.size(); ++i) v = (v << 8) | b[i];
  return v;
}

// Signed microseconds mapped to an unsigned key whose byte order is time order.
std::uint64_t time_key(std::int64_t us) { return static_cast<std::uint64_t>(us) ^ (std::uint64_t{1} << 63); }

std::string bytes_str(std::span<const std::uint8_t> b) { return std::string(as_chars(b)); }

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

void validate_record(const EvidenceRecord& r) {
  if (!is_evidence_id(r.id)) throw Error(Errc::invalid_argument, "not an evidence id: " + r.id);
  for (auto& c : r.cases)
    if (auto p = case_number_problem(c); !p.empty()) throw Error(Errc::invalid_argument, p);
  if (auto p = name_problem("officer", r.officer); !p.empty()) throw Error(Errc::invalid_argument, p);
  if (auto p = name_problem("device", r.device); !p.empty()) throw Error(Errc::invalid_argument, p);
  if (!parse_rfc3339(r.recorded_at)) throw Error(Errc::invalid_argument, "recorded_at is not an RFC 3339 time");
}

}  // namespace

struct Index::Impl {
  MDB_env* env = nullptr;
  bool read_only = false;
  std::map<std::string, MDB_dbi, std::less<>> dbs;
  MDB_dbi meta{}, evidence{}, timestamps{}, case_items{}, item_cases{}, content{}, by_officer{}, by_device{},
      by_time{}, users{}, user_names{}, uploads{}, log{}, tree{}, checkpoints{}, checkpoint_ts{}, item_events{},
      derived{};
  std::mutex write_mu;            // one writer at a time (LMDB allows one anyway)
  mutable std::shared_mutex resize_mu;  // shared by every txn; exclusive to resize the map
  // Read transactions between uses, reset (mdb_txn_reset). Renewing one reuses its
  // reader slot, whereas mdb_txn_begin takes LMDB's reader-table mutex each time:
  // a thread doing thousands of small reads (the media scan at start) then made
  // requests wait on that mutex for milliseconds.
  static constexpr std::size_t kIdleReaders = 32;
  mutable std::mutex idle_mu;
  mutable std::vector<MDB_txn*> idle_readers;

  ~Impl() {
    for (MDB_txn* t : idle_readers) mdb_txn_abort(t);
    if (env) mdb_env_close(env);
  }

  // A running read-only transaction: a renewed idle one, or a new one.
  // Throws lmdb::MapFull when another process grew the map (MDB_MAP_RESIZED).
  MDB_txn* take_reader() const {
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
  // Ends a read transaction, keeping the handle (and its reader slot) for the next.
  void give_back(MDB_txn* t) const noexcept {
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

  MDB_dbi db(std::string_view name) const {
    auto it = dbs.find(name);
    if (it == dbs.end()) throw Error(Errc::invalid_argument, "no database named " + std::string(name));
    return it->second;
  }

  // Adopts a map size changed by another process, or doubles ours when full.
  void resize(bool grow) {
    std::unique_lock lock(resize_mu);
    MDB_envinfo info{};
    mdb_env_info(env, &info);
    std::size_t size = grow ? info.me_mapsize * 2 : 0;
    int rc = mdb_env_set_mapsize(env, size);
    if (rc != MDB_SUCCESS) lmdb::fail(rc, "mdb_env_set_mapsize");
  }

  template <class F>
  auto read(F&& f) const {
    for (;;) {
      try {
        std::shared_lock lock(resize_mu);
        Txn t = Txn::adopt(take_reader());
        if constexpr (std::is_void_v<decltype(f(t))>) {
          f(t);
          give_back(t.release());
          return;
        } else {
          auto result = f(t);
          give_back(t.release());  // an exception above ends the transaction instead
          return result;
        }
      } catch (const lmdb::MapFull&) {
        // MDB_MAP_RESIZED: the writer grew the map; adopt its size and retry.
      }
      const_cast<Impl*>(this)->resize(false);
    }
  }

  template <class F>
  auto write(F&& f) {
    if (read_only) throw Error(Errc::permission_denied, "the index is open read-only");
    std::lock_guard writer(write_mu);
    for (;;) {
      try {
        std::shared_lock lock(resize_mu);
        Txn t(env, false);
        if constexpr (std::is_void_v<decltype(f(t))>) {
          f(t);
          t.commit();
          return;
        } else {
          auto result = f(t);
          t.commit();
          return result;
        }
      } catch (const lmdb::MapFull&) {
        // The transaction was aborted by Txn's destructor; grow and run it again.
      }
      resize(true);
    }
  }

  // --- custody log inside a transaction ---
  std::uint64_t next_log_index(const Txn& t) const {
    lmdb::Cursor c(t, log);
    MDB_val k{}, v{};
    if (!c.get(k, v, MDB_LAST)) return 0;
    return from_be64(lmdb::bytes(k)) + 1;
  }

  merkle::SubtreeSource subtrees(const Txn& t) const {
    return [this, &t](unsigned level, std::uint64_t index) {
      std::array<std::uint8_t, 9> key{};
      key[0] = static_cast<std::uint8_t>(level);
      auto i8 = be64(index);
      std::copy(i8.begin(), i8.end(), key.begin() + 1);
      auto v = t.get(tree, val(key));
      if (!v || v->mv_size != 32) throw Error(Errc::corrupt, "custody log: missing tree node");
      merkle::Hash h;
      std::copy_n(static_cast<const std::uint8_t*>(v->mv_data), 32, h.begin());
      return h;
    };
  }

  // Appends entries in one transaction, keeping the tree's stored subtrees current.
  class Appender {
   public:
    Appender(Impl& impl, Txn& t)
        : impl_(impl), t_(t), next_(impl.next_log_index(t)),
          frontier_(merkle::Frontier::load(impl.subtrees(t), next_)) {}

    std::uint64_t next() const { return next_; }

    std::uint64_t append(const CustodyEvent& e) {
      const std::string leaf = e.encode();
      const std::uint64_t index = next_++;
      auto k = be64(index);
      t_.put(impl_.log, val(k), val(leaf), MDB_NOOVERWRITE);
      frontier_.append(merkle::leaf_hash(as_bytes(leaf)), [&](unsigned level, std::uint64_t i, const merkle::Hash& h) {
        std::array<std::uint8_t, 9> key{};
        key[0] = static_cast<std::uint8_t>(level);
        auto i8 = be64(i);
        std::copy(i8.begin(), i8.end(), key.begin() + 1);
        t_.put(impl_.tree, val(key), val(h));
      });
      if (e.evidence) t_.put(impl_.item_events, val(*e.evidence), val(k));
      return index;
    }

   private:
    Impl& impl_;
    Txn& t_;
    std::uint64_t next_;
    merkle::Frontier frontier_;
  };

  Committed commit_one(Txn& t, Appender& log_appender, NewEvidence& item) {
    auto& r = item.record;
    if (t.get(evidence, val(r.id))) throw Error(Errc::already_exists, "evidence " + r.id + " exists");
    r.log_index = log_appender.next();
    Bytes bytes = r.encode();
    std::string record_hash = Sha256::of(bytes).hex();
    t.put(evidence, val(r.id), val(bytes), MDB_NOOVERWRITE);
    t.put(timestamps, val(r.id), val(item.timestamp_token));
    for (auto& c : r.cases) {
      t.put(case_items, val(c), val(r.id));
      t.put(item_cases, val(r.id), val(c));
    }
    t.put(content, val(r.sha256.bytes), val(r.id));
    auto tk = be64(time_key(to_unix_us(*parse_rfc3339(r.recorded_at))));
    std::string tail(reinterpret_cast<const char*>(tk.data()), tk.size());
    tail += r.id;
    t.put(by_officer, val(r.officer + '\0' + tail), val(std::string_view{}));
    t.put(by_device, val(r.device + '\0' + tail), val(std::string_view{}));
    t.put(by_time, val(tail), val(std::string_view{}));
    item.event.evidence = r.id;
    item.event.record_hash = record_hash;
    item.event.sha256 = r.sha256.hex();
    item.event.size = r.size;
    auto index = log_appender.append(item.event);
    return Committed{r, record_hash, index};
  }

  std::vector<std::string> dup_values(const Txn& t, MDB_dbi db, std::string_view key) const {
    std::vector<std::string> out;
    lmdb::Cursor c(t, db);
    MDB_val k = val(key), v{};
    if (!c.get(k, v, MDB_SET_KEY)) return out;
    do {
      out.emplace_back(lmdb::chars(v));
    } while (c.get(k, v, MDB_NEXT_DUP));
    return out;
  }

  std::optional<EvidenceRecord> record(const Txn& t, std::string_view id) const {
    auto v = t.get(evidence, val(id));
    if (!v) return std::nullopt;
    return EvidenceRecord::decode(lmdb::bytes(*v));
  }
};

Index::Index(const Layout& layout, OpenMode mode, std::size_t initial_map_size) : impl_(std::make_unique<Impl>()) {
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
    auto& m = *impl_;
    m.meta = m.db("meta"), m.evidence = m.db("evidence"), m.timestamps = m.db("timestamps");
    m.case_items = m.db("case_items"), m.item_cases = m.db("item_cases"), m.content = m.db("content");
    m.by_officer = m.db("by_officer"), m.by_device = m.db("by_device"), m.by_time = m.db("by_time");
    m.users = m.db("users"), m.user_names = m.db("user_names"), m.uploads = m.db("uploads");
    m.log = m.db("log"), m.tree = m.db("tree"), m.checkpoints = m.db("checkpoints");
    m.checkpoint_ts = m.db("checkpoint_ts"), m.item_events = m.db("item_events"), m.derived = m.db("derived");
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

Index::~Index() = default;

// --- evidence -------------------------------------------------------------------------

Committed Index::commit_evidence(NewEvidence item) {
  auto all = commit_evidence_batch({std::move(item)});
  return std::move(all.front());
}

std::vector<Committed> Index::commit_evidence_batch(std::vector<NewEvidence> items) {
  for (auto& i : items) validate_record(i.record);
  return impl_->write([&](Txn& t) {
    // Re-run safe: work on copies so a MapFull retry starts from the caller's values.
    auto copy = items;
    Impl::Appender log(*impl_, t);
    std::vector<Committed> out;
    for (auto& i : copy) {
      out.push_back(impl_->commit_one(t, log, i));
      if (i.completes_upload) {
        UploadSession done = *i.completes_upload;
        done.metadata["evidence_id"] = out.back().record.id;
        auto bytes = done.encode();
        t.put(impl_->uploads, val(done.id), val(bytes));
      }
    }
    return out;
  });
}

std::optional<EvidenceRecord> Index::get_evidence(const std::string& id) const {
  return impl_->read([&](Txn& t) { return impl_->record(t, id); });
}

std::optional<Bytes> Index::evidence_bytes(const std::string& id) const { return raw_get("evidence", as_bytes(id)); }

std::optional<Bytes> Index::timestamp_token(const std::string& id) const { return raw_get("timestamps", as_bytes(id)); }

std::vector<std::string> Index::cases_of(const std::string& id) const {
  return impl_->read([&](Txn& t) { return impl_->dup_values(t, impl_->item_cases, id); });
}

std::vector<std::string> Index::items_in_case(const std::string& case_number) const {
  return impl_->read([&](Txn& t) { return impl_->dup_values(t, impl_->case_items, case_number); });
}

std::vector<std::string> Index::items_with_content(const ContentId& id) const {
  return impl_->read([&](Txn& t) { return impl_->dup_values(t, impl_->content, as_chars(id.bytes)); });
}

std::vector<std::string> Index::list_cases(const std::string& prefix, std::size_t limit) const {
  if (prefix.size() > 511) throw Error(Errc::invalid_argument, "a case prefix longer than 511 bytes matches nothing");
  return impl_->read([&](Txn& t) {
    std::vector<std::string> out;
    lmdb::Cursor c(t, impl_->case_items);
    MDB_val k = val(prefix), v{};
    bool ok = prefix.empty() ? c.get(k, v, MDB_FIRST) : c.get(k, v, MDB_SET_RANGE);
    while (ok && out.size() < limit) {
      auto key = lmdb::chars(k);
      if (key.substr(0, prefix.size()) != prefix) break;
      out.emplace_back(key);
      ok = c.get(k, v, MDB_NEXT_NODUP);
    }
    return out;
  });
}

SearchPage Index::search(const SearchQuery& q) const {
  return impl_->read([&](Txn& t) {
    SearchPage page;
    MDB_dbi db = impl_->by_time;
    std::string prefix;
    if (q.officer) {
      db = impl_->by_officer;
      prefix = *q.officer + '\0';
    } else if (q.device) {
      db = impl_->by_device;
      prefix = *q.device + '\0';
    }
    // LMDB keys hold at most 511 bytes: a longer name can match nothing stored.
    if (prefix.size() > 511 - 8 - 26) throw Error(Errc::invalid_argument, "officer or device name too long to search for");
    std::string start = prefix;
    if (q.from_us) {
      auto k = be64(time_key(*q.from_us));
      start.append(reinterpret_cast<const char*>(k.data()), k.size());
    }
    std::string after;
    if (!q.cursor.empty()) {
      auto decoded = from_hex(q.cursor);
      if (!decoded) throw Error(Errc::invalid_argument, "bad cursor");
      after = bytes_str(*decoded);
      if (after.size() > 511) throw Error(Errc::invalid_argument, "bad cursor");
      if (after.compare(0, prefix.size(), prefix) != 0) throw Error(Errc::invalid_argument, "cursor is for another search");
      start = std::max(start, after);
    }
    std::size_t limit = std::clamp<std::size_t>(q.limit, 1, 1000);
    lmdb::Cursor c(t, db);
    MDB_val k = val(start), v{};
    // LMDB refuses a zero-length key: an unfiltered search starts at the first one.
    bool ok = start.empty() ? c.get(k, v, MDB_FIRST) : c.get(k, v, MDB_SET_RANGE);
    std::string last;
    while (ok) {
      auto key = lmdb::chars(k);
      if (key.compare(0, prefix.size(), prefix) != 0) break;
      if (!after.empty() && key == after) {
        ok = c.get(k, v, MDB_NEXT);
        continue;
      }
      auto rest = key.substr(prefix.size());
      if (rest.size() < 8 + 26) break;
      std::int64_t us = static_cast<std::int64_t>(from_be64(as_bytes(rest.substr(0, 8))) ^ (std::uint64_t{1} << 63));
      if (q.to_us && us >= *q.to_us) break;
      if (page.items.size() == limit) {
        page.next = to_hex(as_bytes(last));
        break;
      }
      auto rec = impl_->record(t, rest.substr(8));
      if (rec && (!q.device || !q.officer || rec->device == *q.device)) page.items.push_back(std::move(*rec));
      last = std::string(key);
      ok = c.get(k, v, MDB_NEXT);
    }
    return page;
  });
}

void Index::for_each_evidence(const std::function<void(const std::string& id)>& fn) const {
  // Collect ids first so the callback (which may read blobs for minutes) does not
  // hold a read transaction open.
  auto ids = impl_->read([&](Txn& t) {
    std::vector<std::string> out;
    lmdb::Cursor c(t, impl_->evidence);
    MDB_val k{}, v{};
    for (bool ok = c.get(k, v, MDB_FIRST); ok; ok = c.get(k, v, MDB_NEXT)) out.emplace_back(lmdb::chars(k));
    return out;
  });
  for (auto& id : ids) fn(id);
}

std::uint64_t Index::evidence_count() const {
  return impl_->read([&](Txn& t) {
    MDB_stat st{};
    lmdb::check(mdb_stat(t.get(), impl_->evidence, &st), "mdb_stat");
    return static_cast<std::uint64_t>(st.ms_entries);
  });
}

std::uint64_t Index::link_case(const std::string& id, const std::string& case_number, CustodyEvent event) {
  if (auto p = case_number_problem(case_number); !p.empty()) throw Error(Errc::invalid_argument, p);
  return impl_->write([&](Txn& t) {
    if (!t.get(impl_->evidence, val(id))) throw Error(Errc::not_found, "no evidence " + id);
    auto cases = impl_->dup_values(t, impl_->item_cases, id);
    if (std::find(cases.begin(), cases.end(), case_number) != cases.end())
      throw Error(Errc::conflict, "evidence " + id + " is already linked to that case");
    t.put(impl_->case_items, val(case_number), val(id));
    t.put(impl_->item_cases, val(id), val(case_number));
    auto e = event;
    e.evidence = id;
    e.case_number = case_number;
    Impl::Appender log(*impl_, t);
    return log.append(e);
  });
}

std::uint64_t Index::unlink_case(const std::string& id, const std::string& case_number, CustodyEvent event) {
  return impl_->write([&](Txn& t) {
    MDB_val cv = val(case_number), iv = val(id);
    if (!t.del(impl_->item_cases, val(id), &cv))
      throw Error(Errc::not_found, "evidence " + id + " is not linked to that case");
    t.del(impl_->case_items, val(case_number), &iv);
    auto e = event;
    e.evidence = id;
    e.case_number = case_number;
    Impl::Appender log(*impl_, t);
    return log.append(e);
  });
}

// --- custody log -------------------------------------------------------------------------

std::uint64_t Index::append_event(const CustodyEvent& event) { return append_events({event}).front(); }

std::vector<std::uint64_t> Index::append_events(const std::vector<CustodyEvent>& events) {
  return impl_->write([&](Txn& t) {
    Impl::Appender log(*impl_, t);
    std::vector<std::uint64_t> out;
    for (auto& e : events) out.push_back(log.append(e));
    return out;
  });
}

std::uint64_t Index::log_size() const {
  return impl_->read([&](Txn& t) { return impl_->next_log_index(t); });
}

std::optional<LogEntry> Index::log_entry(std::uint64_t index) const {
  auto e = log_entries(index, index + 1);
  if (e.empty()) return std::nullopt;
  return e.front();
}

std::vector<LogEntry> Index::log_entries(std::uint64_t start, std::uint64_t end) const {
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

std::vector<std::uint64_t> Index::entries_for_evidence(const std::string& evidence_id) const {
  return impl_->read([&](Txn& t) {
    std::vector<std::uint64_t> out;
    for (auto& v : impl_->dup_values(t, impl_->item_events, evidence_id)) out.push_back(from_be64(as_bytes(v)));
    return out;
  });
}

merkle::Hash Index::log_root(std::uint64_t size) const {
  return impl_->read([&](Txn& t) {
    if (size > impl_->next_log_index(t)) throw Error(Errc::invalid_argument, "size is beyond the log");
    return merkle::root(impl_->subtrees(t), size);
  });
}

std::vector<merkle::Hash> Index::inclusion_proof(std::uint64_t index, std::uint64_t size) const {
  return impl_->read([&](Txn& t) {
    if (size > impl_->next_log_index(t) || index >= size)
      throw Error(Errc::invalid_argument, "need index < size <= log size");
    return merkle::inclusion_proof(impl_->subtrees(t), index, size);
  });
}

std::vector<merkle::Hash> Index::consistency_proof(std::uint64_t old_size, std::uint64_t new_size) const {
  return impl_->read([&](Txn& t) {
    if (new_size > impl_->next_log_index(t) || old_size == 0 || old_size > new_size)
      throw Error(Errc::invalid_argument, "need 0 < old <= new <= log size");
    return merkle::consistency_proof(impl_->subtrees(t), old_size, new_size);
  });
}

void Index::put_checkpoint(const StoredCheckpoint& cp) {
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

std::optional<StoredCheckpoint> Index::latest_checkpoint() const {
  return impl_->read([&](Txn& t) -> std::optional<StoredCheckpoint> {
    lmdb::Cursor c(t, impl_->checkpoints);
    MDB_val k{}, v{};
    if (!c.get(k, v, MDB_LAST)) return std::nullopt;
    return checkpoint_from(t, impl_->checkpoint_ts, k, v);
  });
}

std::optional<StoredCheckpoint> Index::checkpoint_at(std::uint64_t size) const {
  return impl_->read([&](Txn& t) -> std::optional<StoredCheckpoint> {
    auto key = be64(size);
    MDB_val k = val(key);
    auto v = t.get(impl_->checkpoints, k);
    if (!v) return std::nullopt;
    return checkpoint_from(t, impl_->checkpoint_ts, k, *v);
  });
}

std::vector<StoredCheckpoint> Index::checkpoints() const {
  return impl_->read([&](Txn& t) {
    std::vector<StoredCheckpoint> out;
    lmdb::Cursor c(t, impl_->checkpoints);
    MDB_val k{}, v{};
    for (bool ok = c.get(k, v, MDB_FIRST); ok; ok = c.get(k, v, MDB_NEXT))
      out.push_back(checkpoint_from(t, impl_->checkpoint_ts, k, v));
    return out;
  });
}

// --- users -------------------------------------------------------------------------------

void Index::put_user(const User& user, const ContentId& token_hash, const CustodyEvent* event) {
  if (auto p = user_name_problem(user.name); !p.empty()) throw Error(Errc::invalid_argument, p);
  impl_->write([&](Txn& t) {
    if (t.get(impl_->user_names, val(user.name))) throw Error(Errc::already_exists, "user " + user.name + " exists");
    auto bytes = user.encode();
    t.put(impl_->users, val(token_hash.bytes), val(bytes), MDB_NOOVERWRITE);
    t.put(impl_->user_names, val(user.name), val(token_hash.bytes));
    if (event) {
      Impl::Appender log(*impl_, t);
      log.append(*event);
    }
  });
}

std::optional<User> Index::user_by_token_hash(const ContentId& token_hash) const {
  return impl_->read([&](Txn& t) -> std::optional<User> {
    auto v = t.get(impl_->users, val(token_hash.bytes));
    if (!v) return std::nullopt;
    return User::decode(lmdb::bytes(*v));
  });
}

namespace {
// A name LMDB cannot hold as a key is no user's name.
bool storable_name(const std::string& name) { return !name.empty() && name.size() <= 511; }

// A user's record found by name: the key it is stored under (the token's hash) and
// its bytes, both copied out of the map (a put in the same transaction may move them).
struct StoredUser {
  Bytes key;
  Bytes record;
};
std::optional<StoredUser> find_user(const Txn& t, MDB_dbi users, MDB_dbi user_names, const std::string& name) {
  if (!storable_name(name)) return std::nullopt;
  auto h = t.get(user_names, val(name));
  if (!h) return std::nullopt;
  const auto hash = lmdb::bytes(*h);
  StoredUser out{Bytes(hash.begin(), hash.end()), {}};
  auto v = t.get(users, val(out.key));
  if (!v) throw Error(Errc::corrupt, "user " + name + ": name without record");
  const auto rec = lmdb::bytes(*v);
  out.record.assign(rec.begin(), rec.end());
  return out;
}
}  // namespace

std::optional<User> Index::user_by_name(const std::string& name) const {
  return impl_->read([&](Txn& t) -> std::optional<User> {
    auto found = find_user(t, impl_->users, impl_->user_names, name);
    if (!found) return std::nullopt;
    return User::decode(found->record);
  });
}

std::uint64_t Index::update_user(const std::string& name, const std::function<void(User&)>& change,
                                 const CustodyEvent& event) {
  return impl_->write([&](Txn& t) {
    auto found = find_user(t, impl_->users, impl_->user_names, name);
    if (!found) throw Error(Errc::not_found, "no user " + name);
    User u = User::decode(found->record);
    change(u);
    u.name = name;  // a change never renames
    auto bytes = u.encode();
    t.put(impl_->users, val(found->key), val(bytes));
    Impl::Appender log(*impl_, t);
    return log.append(event);
  });
}

std::uint64_t Index::replace_user_token(const std::string& name, const ContentId& new_token_hash,
                                        const CustodyEvent& event) {
  return impl_->write([&](Txn& t) {
    auto found = find_user(t, impl_->users, impl_->user_names, name);
    if (!found) throw Error(Errc::not_found, "no user " + name);
    t.del(impl_->users, val(found->key));
    t.put(impl_->users, val(new_token_hash.bytes), val(found->record), MDB_NOOVERWRITE);
    t.put(impl_->user_names, val(name), val(new_token_hash.bytes));
    Impl::Appender log(*impl_, t);
    return log.append(event);
  });
}

void Index::touch_users(const std::vector<std::pair<std::string, std::string>>& seen) {
  if (seen.empty()) return;
  impl_->write([&](Txn& t) {
    for (const auto& [name, when] : seen) {
      auto found = find_user(t, impl_->users, impl_->user_names, name);
      if (!found) continue;
      User u = User::decode(found->record);
      if (u.last_seen >= when) continue;
      u.last_seen = when;
      auto bytes = u.encode();
      t.put(impl_->users, val(found->key), val(bytes));
    }
  });
}

std::vector<User> Index::users() const {
  return impl_->read([&](Txn& t) {
    std::vector<User> out;
    lmdb::Cursor c(t, impl_->users);
    MDB_val k{}, v{};
    for (bool ok = c.get(k, v, MDB_FIRST); ok; ok = c.get(k, v, MDB_NEXT)) out.push_back(User::decode(lmdb::bytes(v)));
    return out;
  });
}

// --- uploads -----------------------------------------------------------------------------

void Index::put_upload(const UploadSession& s) {
  auto bytes = s.encode();
  impl_->write([&](Txn& t) { t.put(impl_->uploads, val(s.id), val(bytes)); });
}

std::optional<UploadSession> Index::get_upload(const std::string& id) const {
  return impl_->read([&](Txn& t) -> std::optional<UploadSession> {
    auto v = t.get(impl_->uploads, val(id));
    if (!v) return std::nullopt;
    return UploadSession::decode(lmdb::bytes(*v));
  });
}

void Index::delete_upload(const std::string& id) {
  impl_->write([&](Txn& t) { t.del(impl_->uploads, val(id)); });
}

std::vector<UploadSession> Index::uploads() const {
  return impl_->read([&](Txn& t) {
    std::vector<UploadSession> out;
    lmdb::Cursor c(t, impl_->uploads);
    MDB_val k{}, v{};
    for (bool ok = c.get(k, v, MDB_FIRST); ok; ok = c.get(k, v, MDB_NEXT))
      out.push_back(UploadSession::decode(lmdb::bytes(v)));
    return out;
  });
}

// --- derived -----------------------------------------------------------------------------

std::uint64_t Index::put_derived(const std::string& kind, const std::string& id, const std::string& value,
                                 const CustodyEvent& event) {
  return impl_->write([&](Txn& t) {
    t.put(impl_->derived, val(kind + '\0' + id), val(value));
    Impl::Appender log(*impl_, t);
    return log.append(event);
  });
}

std::optional<std::string> Index::get_derived(const std::string& kind, const std::string& id) const {
  auto b = raw_get("derived", as_bytes(kind + '\0' + id));
  if (!b) return std::nullopt;
  return std::string(as_chars(*b));
}

// --- raw ---------------------------------------------------------------------------------

void Index::raw_put(const std::string& db, std::span<const std::uint8_t> key, std::span<const std::uint8_t> value) {
  impl_->write([&](Txn& t) { t.put(impl_->db(db), val(key), val(value)); });
}

void Index::raw_del(const std::string& db, std::span<const std::uint8_t> key) {
  impl_->write([&](Txn& t) { t.del(impl_->db(db), val(key)); });
}

std::optional<Bytes> Index::raw_get(const std::string& db, std::span<const std::uint8_t> key) const {
  return impl_->read([&](Txn& t) -> std::optional<Bytes> {
    auto v = t.get(impl_->db(db), val(key));
    if (!v) return std::nullopt;
    auto b = lmdb::bytes(*v);
    return Bytes(b.begin(), b.end());
  });
}

int Index::clear_stale_readers() {
  int dead = 0;
  lmdb::check(mdb_reader_check(impl_->env, &dead), "mdb_reader_check");
  return dead;
}

std::uint64_t Index::map_size() const {
  MDB_envinfo info{};
  mdb_env_info(impl_->env, &info);
  return info.me_mapsize;
}

}  // namespace evidence
