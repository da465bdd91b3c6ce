// The LMDB index's lifecycle side (store/lifecycle_index.h): retention categories,
// current categories, tombstones and dispositions, each a database of its own keyed as
// store/format.h says, and the due and live-content queries.
#include <algorithm>

#include "base/error.h"
#include "base/timefmt.h"
#include "store/ids.h"
#include "store/lmdb/engine.h"

namespace evidence {

using namespace lmdb_engine;

namespace {

constexpr const char* kLifecycleDbs[] = {"retention", "item_category", "disposed", "dispositions"};

std::size_t clamp_limit(std::size_t limit) { return std::clamp<std::size_t>(limit, 1, 1000); }

}  // namespace

void LmdbIndex::Impl::open_lifecycle(Txn& t) {
  MDB_dbi* handles[] = {&retention, &item_category, &disposed, &dispositions};
  bool created_retention = false;
  for (std::size_t i = 0; i < 4; ++i) {
    MDB_dbi dbi{};
    int r = mdb_dbi_open(t.get(), kLifecycleDbs[i], 0, &dbi);
    if (r == MDB_NOTFOUND) {
      if (read_only) return;  // an older store, read as it is (has_lifecycle stays false)
      lmdb::check(mdb_dbi_open(t.get(), kLifecycleDbs[i], MDB_CREATE, &dbi), "mdb_dbi_open");
      if (i == 0) created_retention = true;
    } else {
      lmdb::check(r, "mdb_dbi_open");
    }
    *handles[i] = dbi;
    dbs[kLifecycleDbs[i]] = dbi;
  }
  has_lifecycle = true;
  // A new data directory (init) and an older one opened for writing alike get the
  // defaults, in the transaction that creates the database: never a store without them.
  if (created_retention) {
    for (const auto& c : default_retention_categories()) {
      auto bytes = c.encode();
      t.put(retention, val(c.name), val(bytes));
    }
  }
}

std::optional<RetentionCategory> LmdbIndex::Impl::category(const Txn& t, const std::string& name) const {
  if (!has_lifecycle) {
    for (auto& c : default_retention_categories())
      if (c.name == name) return c;
    return std::nullopt;
  }
  if (name.empty() || name.size() > 511) return std::nullopt;
  auto v = t.get(retention, val(name));
  if (!v) return std::nullopt;
  return RetentionCategory::decode(lmdb::bytes(*v));
}

std::optional<Disposed> LmdbIndex::Impl::tombstone(const Txn& t, std::string_view id) const {
  if (!has_lifecycle || id.empty() || id.size() > 511) return std::nullopt;
  auto v = t.get(disposed, val(id));
  if (!v) return std::nullopt;
  return Disposed::decode(lmdb::bytes(*v));
}

std::optional<Disposition> LmdbIndex::Impl::disposition(const Txn& t, std::string_view id) const {
  if (!has_lifecycle || !is_disposition_id(id)) return std::nullopt;
  auto v = t.get(dispositions, val(id));
  if (!v) return std::nullopt;
  return Disposition::decode(lmdb::bytes(*v));
}

// --- reads ---------------------------------------------------------------------------

std::vector<RetentionCategory> LmdbIndex::retention_categories() const {
  if (!impl_->has_lifecycle) {
    auto all = default_retention_categories();
    std::sort(all.begin(), all.end(), [](auto& a, auto& b) { return a.name < b.name; });
    return all;
  }
  return impl_->read([&](Txn& t) {
    std::vector<RetentionCategory> out;
    lmdb::Cursor c(t, impl_->retention);
    MDB_val k{}, v{};
    for (bool ok = c.get(k, v, MDB_FIRST); ok; ok = c.get(k, v, MDB_NEXT))
      out.push_back(RetentionCategory::decode(lmdb::bytes(v)));
    return out;
  });
}

std::optional<RetentionCategory> LmdbIndex::retention_category(const std::string& name) const {
  return impl_->read([&](Txn& t) { return impl_->category(t, name); });
}

namespace {

// The current category of an item whose record is `rec`, inside a transaction.
std::string current_category(const LmdbIndex::Impl& impl, const Txn& t, const EvidenceRecord& rec) {
  if (impl.has_lifecycle) {
    if (auto v = t.get(impl.item_category, val(rec.id))) return std::string(lmdb::chars(*v));
  }
  return rec.category.empty() ? std::string(kDefaultCategory) : rec.category;
}

}  // namespace

std::optional<std::string> LmdbIndex::item_category(const std::string& id) const {
  if (id.empty() || id.size() > 511) return std::nullopt;
  return impl_->read([&](Txn& t) -> std::optional<std::string> {
    auto rec = impl_->record(t, id);
    if (!rec) return std::nullopt;
    return current_category(*impl_, t, *rec);
  });
}

std::optional<Disposed> LmdbIndex::disposed(const std::string& id) const {
  return impl_->read([&](Txn& t) { return impl_->tombstone(t, id); });
}

std::vector<std::string> LmdbIndex::disposed_items() const {
  if (!impl_->has_lifecycle) return {};
  return impl_->read([&](Txn& t) {
    std::vector<std::string> out;
    lmdb::Cursor c(t, impl_->disposed);
    MDB_val k{}, v{};
    for (bool ok = c.get(k, v, MDB_FIRST); ok; ok = c.get(k, v, MDB_NEXT)) out.emplace_back(lmdb::chars(k));
    return out;
  });
}

std::optional<Disposition> LmdbIndex::get_disposition(const std::string& id) const {
  return impl_->read([&](Txn& t) { return impl_->disposition(t, id); });
}

DispositionPage LmdbIndex::dispositions(std::size_t limit, const std::string& cursor) const {
  if (!cursor.empty() && !is_disposition_id(cursor)) throw Error(Errc::invalid_argument, "bad cursor");
  DispositionPage page;
  if (!impl_->has_lifecycle) return page;
  limit = clamp_limit(limit);
  return impl_->read([&](Txn& t) {
    lmdb::Cursor c(t, impl_->dispositions);
    MDB_val k{}, v{};
    bool ok;
    if (cursor.empty()) {
      ok = c.get(k, v, MDB_LAST);
    } else {
      // Newest first: the page after `cursor` starts at the greatest key below it.
      k = val(cursor);
      ok = c.get(k, v, MDB_SET_RANGE) ? c.get(k, v, MDB_PREV) : c.get(k, v, MDB_LAST);
      while (ok && lmdb::chars(k) >= cursor) ok = c.get(k, v, MDB_PREV);
    }
    for (; ok; ok = c.get(k, v, MDB_PREV)) {
      if (page.items.size() == limit) {
        page.next = page.items.back().id;
        break;
      }
      page.items.push_back(Disposition::decode(lmdb::bytes(v)));
    }
    return page;
  });
}

DuePage LmdbIndex::due(const std::string& now, std::size_t limit, const std::string& cursor) const {
  const auto when = parse_rfc3339(now);
  if (!when) throw Error(Errc::invalid_argument, "now is not an RFC 3339 time");
  if (!cursor.empty() && !is_evidence_id(cursor)) throw Error(Errc::invalid_argument, "bad cursor");
  limit = clamp_limit(limit);
  return impl_->read([&](Txn& t) {
    DuePage page;
    std::map<std::string, std::optional<RetentionCategory>> categories;  // read once each
    lmdb::Cursor c(t, impl_->evidence);
    MDB_val k{}, v{};
    bool ok;
    if (cursor.empty()) {
      ok = c.get(k, v, MDB_FIRST);
    } else {
      k = val(cursor);
      ok = c.get(k, v, MDB_SET_RANGE);
      if (ok && lmdb::chars(k) == cursor) ok = c.get(k, v, MDB_NEXT);
    }
    std::string last;
    for (; ok; ok = c.get(k, v, MDB_NEXT)) {
      const std::string id(lmdb::chars(k));
      EvidenceRecord rec;
      try {
        rec = EvidenceRecord::decode(lmdb::bytes(v));
      } catch (const Error&) {
        continue;  // a damaged record is the audit's finding, never disposable
      }
      if (impl_->tombstone(t, id)) continue;
      const std::string name = current_category(*impl_, t, rec);
      auto it = categories.find(name);
      if (it == categories.end()) it = categories.emplace(name, impl_->category(t, name)).first;
      if (!it->second || it->second->permanent()) continue;
      std::optional<std::string> until;
      try {
        until = retain_until(rec.received_at, *it->second);
      } catch (const Error&) {
        continue;
      }
      if (!until || !(*parse_rfc3339(*until) < *when)) continue;
      if (page.items.size() == limit) {
        page.next = last;
        break;
      }
      page.items.push_back(DueItem{id, name, *until});
      last = id;
    }
    return page;
  });
}

bool LmdbIndex::content_live(const ContentId& sha256) const {
  return impl_->read([&](Txn& t) {
    for (const auto& id : impl_->dup_values(t, impl_->content, as_chars(sha256.bytes)))
      if (!impl_->tombstone(t, id)) return true;
    return false;
  });
}

// --- writes --------------------------------------------------------------------------

namespace lmdb_engine {

namespace {

void need_lifecycle(const LmdbIndex::Impl& impl) {
  if (!impl.has_lifecycle) throw Error(Errc::permission_denied, "the index is open read-only");
}

void need_item(const LmdbIndex::Impl& impl, const Txn& t, const std::string& id) {
  if (id.empty() || id.size() > 511 || !t.get(impl.evidence, val(id))) throw Error(Errc::not_found, "no evidence " + id);
}

}  // namespace

void LmdbWriteTxn::put_retention_category(const RetentionCategory& category) {
  need_lifecycle(impl_);
  if (auto p = retention_name_problem(category.name); !p.empty()) throw Error(Errc::invalid_argument, p);
  auto bytes = category.encode();
  t_.put(impl_.retention, val(category.name), val(bytes));
}

std::optional<RetentionCategory> LmdbWriteTxn::retention_category(const std::string& name) const {
  return impl_.category(t_, name);
}

void LmdbWriteTxn::set_item_category(const std::string& id, const std::string& category) {
  need_lifecycle(impl_);
  need_item(impl_, t_, id);
  if (!impl_.category(t_, category)) throw Error(Errc::not_found, "no retention category '" + category + "'");
  t_.put(impl_.item_category, val(id), val(category));
}

void LmdbWriteTxn::mark_disposed(const std::string& id, const Disposed& tombstone) {
  need_lifecycle(impl_);
  need_item(impl_, t_, id);
  if (impl_.tombstone(t_, id)) throw Error(Errc::conflict, "evidence " + id + " is already disposed of");
  auto bytes = tombstone.encode();
  t_.put(impl_.disposed, val(id), val(bytes));
}

std::optional<Disposed> LmdbWriteTxn::disposed(const std::string& id) const { return impl_.tombstone(t_, id); }

void LmdbWriteTxn::put_disposition(const Disposition& d) {
  need_lifecycle(impl_);
  if (!is_disposition_id(d.id)) throw Error(Errc::invalid_argument, "not a disposition id: " + d.id);
  if (t_.get(impl_.dispositions, val(d.id))) throw Error(Errc::already_exists, "disposition " + d.id + " exists");
  auto bytes = d.encode();
  t_.put(impl_.dispositions, val(d.id), val(bytes));
}

void LmdbWriteTxn::update_disposition(const Disposition& d) {
  need_lifecycle(impl_);
  if (!impl_.disposition(t_, d.id)) throw Error(Errc::not_found, "no disposition " + d.id);
  auto bytes = d.encode();
  t_.put(impl_.dispositions, val(d.id), val(bytes));
}

std::optional<Disposition> LmdbWriteTxn::get_disposition(const std::string& id) const {
  return impl_.disposition(t_, id);
}

}  // namespace lmdb_engine

}  // namespace evidence
