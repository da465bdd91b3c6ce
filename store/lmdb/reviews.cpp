// The LMDB index's case-file reviews (store/review_index.h): each review's bytes by
// id, and each case's review ids (dupsort, so id = creation order), keyed as
// store/format.h says. Index::commit_review (store/index.cpp) pairs put_review with
// the review's custody entry in one transaction.
#include "base/error.h"
#include "store/ids.h"
#include "store/lmdb/engine.h"

namespace evidence {

using namespace lmdb_engine;

void LmdbIndex::Impl::open_reviews(Txn& t) {
  struct Spec {
    const char* name;
    unsigned flags;
    MDB_dbi* handle;
  };
  const Spec specs[] = {{"reviews", 0, &reviews}, {"case_reviews", MDB_DUPSORT, &case_reviews}};
  for (const auto& s : specs) {
    MDB_dbi dbi{};
    int r = mdb_dbi_open(t.get(), s.name, s.flags, &dbi);
    if (r == MDB_NOTFOUND) {
      if (read_only) return;  // an older store, read as it is (has_reviews stays false)
      lmdb::check(mdb_dbi_open(t.get(), s.name, s.flags | MDB_CREATE, &dbi), "mdb_dbi_open");
    } else {
      lmdb::check(r, "mdb_dbi_open");
    }
    *s.handle = dbi;
    dbs[s.name] = dbi;
  }
  has_reviews = true;
}

std::vector<std::string> LmdbIndex::reviews_in_case(const std::string& case_number) const {
  if (!impl_->has_reviews || case_number.empty() || case_number.size() > 511) return {};
  return impl_->read([&](Txn& t) { return impl_->dup_values(t, impl_->case_reviews, case_number); });
}

std::optional<CaseReview> LmdbIndex::get_review(const std::string& id) const {
  auto bytes = review_bytes(id);
  if (!bytes) return std::nullopt;
  return CaseReview::decode(*bytes);
}

std::optional<Bytes> LmdbIndex::review_bytes(const std::string& id) const {
  if (!impl_->has_reviews || !is_review_id(id)) return std::nullopt;
  return impl_->get_copy(impl_->reviews, as_bytes(id));
}

void LmdbIndex::for_each_review(const std::function<void(const std::string& id)>& fn) const {
  if (!impl_->has_reviews) return;
  auto ids = impl_->read([&](Txn& t) {
    std::vector<std::string> out;
    lmdb::Cursor c(t, impl_->reviews);
    MDB_val k{}, v{};
    for (bool ok = c.get(k, v, MDB_FIRST); ok; ok = c.get(k, v, MDB_NEXT)) out.emplace_back(lmdb::chars(k));
    return out;
  });
  for (const auto& id : ids) fn(id);
}

namespace lmdb_engine {

Bytes LmdbWriteTxn::put_review(const CaseReview& review) {
  if (!impl_.has_reviews) throw Error(Errc::permission_denied, "the index is open read-only");
  if (!is_review_id(review.id)) throw Error(Errc::invalid_argument, "not a review id: " + review.id);
  if (t_.get(impl_.reviews, val(review.id))) throw Error(Errc::already_exists, "review " + review.id + " exists");
  Bytes bytes = review.encode();
  t_.put(impl_.reviews, val(review.id), val(bytes), MDB_NOOVERWRITE);
  t_.put(impl_.case_reviews, val(review.case_number), val(review.id));
  return bytes;
}

}  // namespace lmdb_engine

}  // namespace evidence
