// Internal to store/lmdb/: the LMDB index's state (environment, database handles,
// idle readers), its read/write transaction runners, key helpers, the custody log's
// appender (the Merkle frontier) and the WriteTxn over one LMDB transaction.
#pragma once

#include <array>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "store/lmdb/lmdb.h"
#include "store/lmdb/lmdb_index.h"
#include "store/merkle.h"

namespace evidence::lmdb_engine {

using lmdb::Txn;
using lmdb::val;

using Key8 = std::array<std::uint8_t, 8>;

inline Key8 be64(std::uint64_t v) {
  Key8 k{};
  for (int i = 7; i >= 0; --i) {
    k[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v);
    v >>= 8;
  }
  return k;
}

inline std::uint64_t from_be64(std::span<const std::uint8_t> b) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8 && i < b.size(); ++i) v = (v << 8) | b[i];
  return v;
}

// The tree database's key: level(1) index(8) (format.h).
inline std::array<std::uint8_t, 9> tree_key(unsigned level, std::uint64_t index) {
  std::array<std::uint8_t, 9> key{};
  key[0] = static_cast<std::uint8_t>(level);
  auto i8 = be64(index);
  std::copy(i8.begin(), i8.end(), key.begin() + 1);
  return key;
}

inline std::string derived_key(const std::string& kind, const std::string& id) { return kind + '\0' + id; }

// Signed microseconds mapped to an unsigned key whose byte order is time order.
inline std::uint64_t time_key(std::int64_t us) { return static_cast<std::uint64_t>(us) ^ (std::uint64_t{1} << 63); }

}  // namespace evidence::lmdb_engine

namespace evidence {

struct LmdbIndex::Impl {
  using Txn = lmdb::Txn;

  MDB_env* env = nullptr;
  bool read_only = false;
  std::map<std::string, MDB_dbi, std::less<>> dbs;
  MDB_dbi meta{}, evidence{}, timestamps{}, case_items{}, item_cases{}, content{}, by_officer{}, by_device{},
      by_time{}, users{}, user_names{}, uploads{}, log{}, tree{}, checkpoints{}, checkpoint_ts{}, item_events{},
      derived{};
  // case bytes -> log index(8) of the newest entry naming the case (case_prev).
  MDB_dbi case_last{};
  bool has_case_last = false;
  // Lifecycle (since 0.4; lifecycle.cpp): retention categories, current categories,
  // tombstones, dispositions. Absent only in a read-only open of an older store,
  // whose reads then answer as a store with the defaults and nothing disposed.
  MDB_dbi retention{}, item_category{}, disposed{}, dispositions{};
  bool has_lifecycle = false;
  // Case-file reviews (since issue 19; reviews.cpp): reviews by id, and each case's
  // review ids. Absent only in a read-only open of an older store (no reviews then).
  MDB_dbi reviews{}, case_reviews{};
  bool has_reviews = false;
  std::mutex write_mu;            // one writer at a time (LMDB allows one anyway)
  mutable std::shared_mutex resize_mu;  // shared by every txn; exclusive to resize the map
  // Read transactions between uses, reset (mdb_txn_reset). Renewing one reuses its
  // reader slot, whereas mdb_txn_begin takes LMDB's reader-table mutex each time:
  // a thread doing thousands of small reads (the media scan at start) then made
  // requests wait on that mutex for milliseconds.
  static constexpr std::size_t kIdleReaders = 32;
  mutable std::mutex idle_mu;
  mutable std::vector<MDB_txn*> idle_readers;

  ~Impl();

  // A running read-only transaction: a renewed idle one, or a new one.
  // Throws lmdb::MapFull when another process grew the map (MDB_MAP_RESIZED).
  MDB_txn* take_reader() const;
  // Ends a read transaction, keeping the handle (and its reader slot) for the next.
  void give_back(MDB_txn* t) const noexcept;
  MDB_dbi db(std::string_view name) const;
  // Adopts a map size changed by another process, or doubles ours when full.
  void resize(bool grow);

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

  // --- custody log inside a transaction (custody_log.cpp) ---
  std::uint64_t next_log_index(const Txn& t) const;
  merkle::SubtreeSource subtrees(const Txn& t) const;

  // Appends entries in one transaction, keeping the tree's stored subtrees current.
  class Appender {
   public:
    Appender(Impl& impl, Txn& t);
    std::uint64_t next() const { return next_; }
    std::uint64_t append(const CustodyEvent& e);

   private:
    Impl& impl_;
    Txn& t_;
    std::uint64_t next_;
    merkle::Frontier frontier_;
  };

  // --- evidence (evidence.cpp) ---
  Committed commit_one(Txn& t, Appender& log_appender, NewEvidence& item);
  std::vector<std::string> dup_values(const Txn& t, MDB_dbi db, std::string_view key) const;
  std::optional<EvidenceRecord> record(const Txn& t, std::string_view id) const;
  std::optional<Bytes> get_copy(MDB_dbi db, std::span<const std::uint8_t> key) const;

  // --- lifecycle (lifecycle.cpp) ---
  // Opens the lifecycle databases; a writable open creates missing ones, and puts the
  // default categories into a retention database it had to create (init and the
  // migration of older stores alike).
  void open_lifecycle(Txn& t);
  std::optional<RetentionCategory> category(const Txn& t, const std::string& name) const;
  std::optional<Disposed> tombstone(const Txn& t, std::string_view id) const;
  std::optional<Disposition> disposition(const Txn& t, std::string_view id) const;

  // --- reviews (reviews.cpp) ---
  // Opens the review databases; a writable open creates missing ones.
  void open_reviews(Txn& t);
};

namespace lmdb_engine {

// Index::write's transaction on LMDB. The custody appender (which loads the Merkle
// frontier) is made on the first append, so a write without entries does not read
// the tree.
class LmdbWriteTxn final : public WriteTxn {
 public:
  LmdbWriteTxn(LmdbIndex::Impl& impl, lmdb::Txn& t) : impl_(impl), t_(t) {}

  std::uint64_t append(const CustodyEvent& event) override;            // custody_log.cpp
  void link_case(const std::string& id, const std::string& case_number) override;    // evidence.cpp
  void unlink_case(const std::string& id, const std::string& case_number) override;  // evidence.cpp
  void put_derived(const std::string& kind, const std::string& id, const std::string& value) override;
  std::optional<std::string> get_derived(const std::string& kind, const std::string& id) const override;
  // users_uploads.cpp
  void put_user(const User& user, const ContentId& token_hash) override;
  std::optional<User> user_by_name(const std::string& name) const override;
  void update_user(const User& user) override;
  void replace_user_token(const std::string& name, const ContentId& new_token_hash) override;
  void put_upload(const UploadSession& s) override;
  void delete_upload(const std::string& id) override;
  // lifecycle.cpp
  void put_retention_category(const RetentionCategory& category) override;
  std::optional<RetentionCategory> retention_category(const std::string& name) const override;
  void set_item_category(const std::string& id, const std::string& category) override;
  void mark_disposed(const std::string& id, const Disposed& tombstone) override;
  std::optional<Disposed> disposed(const std::string& id) const override;
  void put_disposition(const Disposition& d) override;
  void update_disposition(const Disposition& d) override;
  std::optional<Disposition> get_disposition(const std::string& id) const override;
  // reviews.cpp
  Bytes put_review(const CaseReview& review) override;
  std::uint64_t next_log_index() override;  // custody_log.cpp

 private:
  LmdbIndex::Impl& impl_;
  lmdb::Txn& t_;
  std::optional<LmdbIndex::Impl::Appender> log_;
};

}  // namespace lmdb_engine

}  // namespace evidence
