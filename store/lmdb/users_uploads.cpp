// The LMDB index's users (keyed by token hash, found by name through user_names) and
// tus upload sessions: reads here, and the WriteTxn operations the combined calls in
// store/index.cpp are built from.
#include "base/error.h"
#include "store/lmdb/engine.h"

namespace evidence {

using namespace lmdb_engine;

namespace {

// A name LMDB cannot hold as a key is no user's name.
bool storable_name(const std::string& name) { return !name.empty() && name.size() <= 511; }

// A user's record found by name: the key it is stored under (the token's hash) and
// its bytes, both copied out of the map (a put in the same transaction may move them).
struct StoredUser {
  Bytes key;
  Bytes record;
};
std::optional<StoredUser> find_user(const lmdb::Txn& t, MDB_dbi users, MDB_dbi user_names, const std::string& name) {
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

// --- users ---------------------------------------------------------------------------

std::optional<User> LmdbIndex::user_by_token_hash(const ContentId& token_hash) const {
  return impl_->read([&](Txn& t) -> std::optional<User> {
    auto v = t.get(impl_->users, val(token_hash.bytes));
    if (!v) return std::nullopt;
    return User::decode(lmdb::bytes(*v));
  });
}

std::optional<User> LmdbIndex::user_by_name(const std::string& name) const {
  return impl_->read([&](Txn& t) -> std::optional<User> {
    auto found = find_user(t, impl_->users, impl_->user_names, name);
    if (!found) return std::nullopt;
    return User::decode(found->record);
  });
}

std::vector<User> LmdbIndex::users() const {
  return impl_->read([&](Txn& t) {
    std::vector<User> out;
    lmdb::Cursor c(t, impl_->users);
    MDB_val k{}, v{};
    for (bool ok = c.get(k, v, MDB_FIRST); ok; ok = c.get(k, v, MDB_NEXT)) out.push_back(User::decode(lmdb::bytes(v)));
    return out;
  });
}

// --- uploads -------------------------------------------------------------------------

std::optional<UploadSession> LmdbIndex::get_upload(const std::string& id) const {
  return impl_->read([&](Txn& t) -> std::optional<UploadSession> {
    auto v = t.get(impl_->uploads, val(id));
    if (!v) return std::nullopt;
    return UploadSession::decode(lmdb::bytes(*v));
  });
}

std::vector<UploadSession> LmdbIndex::uploads() const {
  return impl_->read([&](Txn& t) {
    std::vector<UploadSession> out;
    lmdb::Cursor c(t, impl_->uploads);
    MDB_val k{}, v{};
    for (bool ok = c.get(k, v, MDB_FIRST); ok; ok = c.get(k, v, MDB_NEXT))
      out.push_back(UploadSession::decode(lmdb::bytes(v)));
    return out;
  });
}

// --- inside one write transaction ----------------------------------------------------

namespace lmdb_engine {

void LmdbWriteTxn::put_user(const User& user, const ContentId& token_hash) {
  if (!storable_name(user.name)) throw Error(Errc::invalid_argument, "a user name must be 1 to 511 bytes");
  if (t_.get(impl_.user_names, val(user.name))) throw Error(Errc::already_exists, "user " + user.name + " exists");
  auto bytes = user.encode();
  t_.put(impl_.users, val(token_hash.bytes), val(bytes), MDB_NOOVERWRITE);
  t_.put(impl_.user_names, val(user.name), val(token_hash.bytes));
}

std::optional<User> LmdbWriteTxn::user_by_name(const std::string& name) const {
  auto found = find_user(t_, impl_.users, impl_.user_names, name);
  if (!found) return std::nullopt;
  return User::decode(found->record);
}

void LmdbWriteTxn::update_user(const User& user) {
  auto found = find_user(t_, impl_.users, impl_.user_names, user.name);
  if (!found) throw Error(Errc::not_found, "no user " + user.name);
  auto bytes = user.encode();
  t_.put(impl_.users, val(found->key), val(bytes));
}

void LmdbWriteTxn::replace_user_token(const std::string& name, const ContentId& new_token_hash) {
  auto found = find_user(t_, impl_.users, impl_.user_names, name);
  if (!found) throw Error(Errc::not_found, "no user " + name);
  t_.del(impl_.users, val(found->key));
  t_.put(impl_.users, val(new_token_hash.bytes), val(found->record), MDB_NOOVERWRITE);
  t_.put(impl_.user_names, val(name), val(new_token_hash.bytes));
}

void LmdbWriteTxn::put_upload(const UploadSession& s) {
  auto bytes = s.encode();
  t_.put(impl_.uploads, val(s.id), val(bytes));
}

void LmdbWriteTxn::delete_upload(const std::string& id) { t_.del(impl_.uploads, val(id)); }

}  // namespace lmdb_engine

}  // namespace evidence
