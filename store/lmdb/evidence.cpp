// The LMDB index's evidence side: committing items (record, token, case, content and
// search indexes, ingest entry, completed upload: one transaction), reading them,
// case links, search paging, and derived data.
#include <algorithm>

#include "base/error.h"
#include "store/ids.h"
#include "store/lmdb/engine.h"
#include "base/timefmt.h"

namespace evidence {

using namespace lmdb_engine;

namespace {

void validate_record(const EvidenceRecord& r) {
  if (!is_evidence_id(r.id)) throw Error(Errc::invalid_argument, "not an evidence id: " + r.id);
  for (auto& c : r.cases)
    if (auto p = case_number_problem(c); !p.empty()) throw Error(Errc::invalid_argument, p);
  if (auto p = name_problem("officer", r.officer); !p.empty()) throw Error(Errc::invalid_argument, p);
  if (auto p = name_problem("device", r.device); !p.empty()) throw Error(Errc::invalid_argument, p);
  if (!parse_rfc3339(r.recorded_at)) throw Error(Errc::invalid_argument, "recorded_at is not an RFC 3339 time");
  if (!r.category.empty())
    if (auto p = retention_name_problem(r.category); !p.empty()) throw Error(Errc::invalid_argument, p);
}

std::string bytes_str(std::span<const std::uint8_t> b) { return std::string(as_chars(b)); }

}  // namespace

Committed LmdbIndex::Impl::commit_one(Txn& t, Appender& log_appender, NewEvidence& item) {
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

std::vector<std::string> LmdbIndex::Impl::dup_values(const Txn& t, MDB_dbi db, std::string_view key) const {
  std::vector<std::string> out;
  lmdb::Cursor c(t, db);
  MDB_val k = val(key), v{};
  if (!c.get(k, v, MDB_SET_KEY)) return out;
  do {
    out.emplace_back(lmdb::chars(v));
  } while (c.get(k, v, MDB_NEXT_DUP));
  return out;
}

std::optional<EvidenceRecord> LmdbIndex::Impl::record(const Txn& t, std::string_view id) const {
  auto v = t.get(evidence, val(id));
  if (!v) return std::nullopt;
  return EvidenceRecord::decode(lmdb::bytes(*v));
}

std::vector<Committed> LmdbIndex::commit_evidence_batch(std::vector<NewEvidence> items) {
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

std::optional<EvidenceRecord> LmdbIndex::get_evidence(const std::string& id) const {
  return impl_->read([&](Txn& t) { return impl_->record(t, id); });
}

std::optional<Bytes> LmdbIndex::evidence_bytes(const std::string& id) const {
  return impl_->get_copy(impl_->evidence, as_bytes(id));
}

std::optional<Bytes> LmdbIndex::timestamp_token(const std::string& id) const {
  return impl_->get_copy(impl_->timestamps, as_bytes(id));
}

std::vector<std::string> LmdbIndex::cases_of(const std::string& id) const {
  return impl_->read([&](Txn& t) { return impl_->dup_values(t, impl_->item_cases, id); });
}

std::vector<std::string> LmdbIndex::items_in_case(const std::string& case_number) const {
  return impl_->read([&](Txn& t) { return impl_->dup_values(t, impl_->case_items, case_number); });
}

std::vector<std::string> LmdbIndex::items_with_content(const ContentId& id) const {
  return impl_->read([&](Txn& t) { return impl_->dup_values(t, impl_->content, as_chars(id.bytes)); });
}

std::vector<std::string> LmdbIndex::list_cases(const std::string& prefix, std::size_t limit) const {
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

SearchPage LmdbIndex::search(const SearchQuery& q) const {
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

void LmdbIndex::for_each_evidence(const std::function<void(const std::string& id)>& fn) const {
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

std::uint64_t LmdbIndex::evidence_count() const {
  return impl_->read([&](Txn& t) {
    MDB_stat st{};
    lmdb::check(mdb_stat(t.get(), impl_->evidence, &st), "mdb_stat");
    return static_cast<std::uint64_t>(st.ms_entries);
  });
}

std::optional<std::string> LmdbIndex::get_derived(const std::string& kind, const std::string& id) const {
  auto b = impl_->get_copy(impl_->derived, as_bytes(derived_key(kind, id)));
  if (!b) return std::nullopt;
  return std::string(as_chars(*b));
}

namespace lmdb_engine {

void LmdbWriteTxn::link_case(const std::string& id, const std::string& case_number) {
  if (!t_.get(impl_.evidence, val(id))) throw Error(Errc::not_found, "no evidence " + id);
  auto cases = impl_.dup_values(t_, impl_.item_cases, id);
  if (std::find(cases.begin(), cases.end(), case_number) != cases.end())
    throw Error(Errc::conflict, "evidence " + id + " is already linked to that case");
  t_.put(impl_.case_items, val(case_number), val(id));
  t_.put(impl_.item_cases, val(id), val(case_number));
}

void LmdbWriteTxn::unlink_case(const std::string& id, const std::string& case_number) {
  MDB_val cv = val(case_number), iv = val(id);
  if (!t_.del(impl_.item_cases, val(id), &cv))
    throw Error(Errc::not_found, "evidence " + id + " is not linked to that case");
  t_.del(impl_.case_items, val(case_number), &iv);
}

void LmdbWriteTxn::put_derived(const std::string& kind, const std::string& id, const std::string& value) {
  t_.put(impl_.derived, val(derived_key(kind, id)), val(value));
}

std::optional<std::string> LmdbWriteTxn::get_derived(const std::string& kind, const std::string& id) const {
  auto v = t_.get(impl_.derived, val(derived_key(kind, id)));
  if (!v) return std::nullopt;
  return std::string(lmdb::chars(*v));
}

}  // namespace lmdb_engine

}  // namespace evidence
