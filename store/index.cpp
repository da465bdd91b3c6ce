// The index's combined operations, once for every engine: each is a few calls on one
// WriteTxn, so the custody entry commits with the change it records.
#include "store/index.h"

#include "base/error.h"
#include "store/ids.h"

namespace evidence {

std::uint64_t Index::link_case(const std::string& id, const std::string& case_number, CustodyEvent event) {
  if (auto p = case_number_problem(case_number); !p.empty()) throw Error(Errc::invalid_argument, p);
  event.evidence = id;
  event.case_number = case_number;
  std::uint64_t at = 0;
  write([&](WriteTxn& t) {
    t.link_case(id, case_number);
    at = t.append(event);
  });
  return at;
}

std::uint64_t Index::unlink_case(const std::string& id, const std::string& case_number, CustodyEvent event) {
  event.evidence = id;
  event.case_number = case_number;
  std::uint64_t at = 0;
  write([&](WriteTxn& t) {
    t.unlink_case(id, case_number);
    at = t.append(event);
  });
  return at;
}

std::uint64_t Index::put_derived(const std::string& kind, const std::string& id, const std::string& value,
                                 const CustodyEvent& event) {
  std::uint64_t at = 0;
  write([&](WriteTxn& t) {
    t.put_derived(kind, id, value);
    at = t.append(event);
  });
  return at;
}

std::vector<std::uint64_t> Index::append_events(const std::vector<CustodyEvent>& events) {
  std::vector<std::uint64_t> out;
  write([&](WriteTxn& t) {
    out.clear();  // a re-run starts again
    for (const auto& e : events) out.push_back(t.append(e));
  });
  return out;
}

void Index::put_user(const User& user, const ContentId& token_hash, const CustodyEvent* event) {
  if (auto p = user_name_problem(user.name); !p.empty()) throw Error(Errc::invalid_argument, p);
  write([&](WriteTxn& t) {
    t.put_user(user, token_hash);
    if (event) t.append(*event);
  });
}

std::uint64_t Index::update_user(const std::string& name, const std::function<void(User&)>& change,
                                 const CustodyEvent& event) {
  std::uint64_t at = 0;
  write([&](WriteTxn& t) {
    auto u = t.user_by_name(name);
    if (!u) throw Error(Errc::not_found, "no user " + name);
    change(*u);
    u->name = name;  // a change never renames
    t.update_user(*u);
    at = t.append(event);
  });
  return at;
}

std::uint64_t Index::replace_user_token(const std::string& name, const ContentId& new_token_hash,
                                        const CustodyEvent& event) {
  std::uint64_t at = 0;
  write([&](WriteTxn& t) {
    t.replace_user_token(name, new_token_hash);
    at = t.append(event);
  });
  return at;
}

void Index::touch_users(const std::vector<std::pair<std::string, std::string>>& seen) {
  if (seen.empty()) return;
  write([&](WriteTxn& t) {
    for (const auto& [name, when] : seen) {
      auto u = t.user_by_name(name);
      if (!u || u->last_seen >= when) continue;
      u->last_seen = when;
      t.update_user(*u);
    }
  });
}

void Index::put_upload(const UploadSession& s) {
  write([&](WriteTxn& t) { t.put_upload(s); });
}

void Index::delete_upload(const std::string& id) {
  write([&](WriteTxn& t) { t.delete_upload(id); });
}

CommittedReview Index::commit_review(CaseReview review, CustodyEvent event) {
  if (auto p = review_problem(review); !p.empty()) throw Error(Errc::invalid_argument, p);
  CommittedReview out;
  write([&](WriteTxn& t) {
    // Re-run safe: every value is rebuilt from the caller's.
    CaseReview r = review;
    r.log_index = t.next_log_index();
    Bytes bytes = t.put_review(r);
    CustodyEvent e = event;
    e.action = "review";
    e.evidence.reset();
    e.case_number = r.case_number;
    e.record_hash = Sha256::of(bytes).hex();
    boost::json::object detail = e.detail.value_or(boost::json::object{});
    detail["review"] = r.id;
    e.detail = std::move(detail);
    const std::uint64_t at = t.append(e);
    // The bytes name their entry: an engine that numbered otherwise would store a
    // review that can never verify.
    if (at != r.log_index) throw Error(Errc::internal, "review entry appended at an index other than announced");
    out = CommittedReview{std::move(r), bytes, *e.record_hash, at};
  });
  return out;
}

}  // namespace evidence
