#include "store/disposal.h"

#include <algorithm>
#include <optional>
#include <set>

#include "base/error.h"

namespace evidence {

namespace {

constexpr const char* kThumbnailKind = "thumbnail";  // ingest/media_jobs.cpp's poster frames

void need_admin(const Actor& a, const char* what) {
  if (a.role != "admin") throw Error(Errc::permission_denied, std::string(what) + " needs an admin, not " + a.name);
}

std::optional<ContentId> poster_frame(const Index& index, const std::string& id) {
  auto v = index.get_derived(kThumbnailKind, id);
  if (!v) return std::nullopt;
  return ContentId::from_hex(*v);  // nullopt for a recorded failure ({"error": ...})
}

// Deletes the blobs of `items` (disposed) that no live item uses.
ReapReport reap(Index& index, BlobStore& blobs, const std::vector<std::string>& items) {
  ReapReport report;
  std::set<ContentId> contents, frames;
  for (const auto& id : items) {
    if (auto rec = index.get_evidence(id)) contents.insert(rec->sha256);
    if (auto f = poster_frame(index, id)) frames.insert(*f);
  }
  std::optional<std::set<ContentId>> live_frames;
  if (!frames.empty()) {
    live_frames.emplace();
    index.for_each_evidence([&](const std::string& id) {
      if (index.disposed(id)) return;
      if (auto f = poster_frame(index, id)) live_frames->insert(*f);
    });
  }
  std::set<ContentId> considered;
  auto consider = [&](const ContentId& blob, bool frame) {
    if (!considered.insert(blob).second) return;
    if (index.content_live(blob) || (frame && live_frames->count(blob))) {
      report.shared.push_back(blob);
      return;
    }
    try {
      auto r = blobs.remove(blob);
      switch (r.outcome) {
        case BlobRemoval::Outcome::removed: report.removed.push_back(blob); break;
        case BlobRemoval::Outcome::absent: report.absent.push_back(blob); break;
        case BlobRemoval::Outcome::locked: report.locked.emplace_back(blob, r.locked_until); break;
      }
    } catch (const std::exception& e) {
      report.errors.push_back(blob.hex() + ": " + e.what());
    }
  };
  for (const auto& c : contents) consider(c, false);
  for (const auto& f : frames) consider(f, true);
  return report;
}

}  // namespace

CustodyEvent disposal_event(const std::string& action, const Actor& actor, const std::string& disposition_id,
                            const std::string& now, const std::string& evidence) {
  CustodyEvent e;
  e.time = now;
  e.actor = actor.name;
  e.role = actor.role;
  e.action = action;
  if (!evidence.empty()) e.evidence = evidence;
  e.detail = boost::json::object{{"disposition", disposition_id}};
  return e;
}

Disposition request_disposition(Index& index, const std::vector<std::string>& items, const std::string& reason,
                                const Actor& requester, const std::string& now) {
  need_admin(requester, "requesting a disposition");
  if (items.empty()) throw Error(Errc::invalid_argument, "a disposition names at least one item");
  {
    auto sorted = items;
    std::sort(sorted.begin(), sorted.end());
    if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
      throw Error(Errc::invalid_argument, "a disposition names each item once");
  }
  for (const auto& id : items)
    if (!index.get_evidence(id)) throw Error(Errc::not_found, "no evidence " + id);
  Disposition d;
  d.id = new_disposition_id();
  d.items = items;
  d.reason = reason;
  d.requested_by = requester.name;
  d.requested_at = now;
  index.write([&](WriteTxn& t) {
    for (const auto& id : items)
      if (t.disposed(id)) throw Error(Errc::conflict, "evidence " + id + " is already disposed of");
    t.put_disposition(d);
    t.append(disposal_event(kDisposeRequestAction, requester, d.id, now));
  });
  return d;
}

Disposition reject_disposition(Index& index, const std::string& disposition_id, const Actor& decider,
                               const std::string& now) {
  need_admin(decider, "rejecting a disposition");
  Disposition d;
  index.write([&](WriteTxn& t) {
    auto got = t.get_disposition(disposition_id);
    if (!got) throw Error(Errc::not_found, "no disposition " + disposition_id);
    if (got->state != DispositionState::pending)
      throw Error(Errc::conflict, "disposition " + disposition_id + " is " + disposition_state_name(got->state));
    d = *got;
    d.state = DispositionState::rejected;
    d.decided_by = decider.name;
    d.decided_at = now;
    t.update_disposition(d);
    t.append(disposal_event(kDisposeRejectAction, decider, d.id, now));
  });
  return d;
}

ExecutedDisposition execute_disposition(Index& index, BlobStore& blobs, const std::string& disposition_id,
                                        const Actor& approver, const std::string& now,
                                        const std::function<void()>& between) {
  need_admin(approver, "approving a disposition");
  ExecutedDisposition out;
  index.write([&](WriteTxn& t) {
    out.entries.clear();  // the engine may run this again
    auto got = t.get_disposition(disposition_id);
    if (!got) throw Error(Errc::not_found, "no disposition " + disposition_id);
    Disposition d = *got;
    if (d.state != DispositionState::pending)
      throw Error(Errc::conflict, "disposition " + d.id + " is " + disposition_state_name(d.state));
    if (d.requested_by == approver.name)
      throw Error(Errc::permission_denied, "four_eyes: " + approver.name + " requested disposition " + d.id +
                                               " and cannot also approve it");
    out.entries.push_back(t.append(disposal_event(kDisposeApproveAction, approver, d.id, now)));
    const Disposed tombstone{now, d.id, d.requested_by, approver.name, d.reason};
    for (const auto& id : d.items) {
      t.mark_disposed(id, tombstone);
      out.entries.push_back(t.append(disposal_event(kDisposeAction, approver, d.id, now, id)));
    }
    d.state = DispositionState::done;
    d.decided_by = approver.name;
    d.decided_at = now;
    t.update_disposition(d);
    out.disposition = d;
  });
  // Committed: the items are disposed of whatever happens to the blobs from here on.
  if (between) between();
  out.blobs = reap(index, blobs, out.disposition.items);
  return out;
}

ReapReport reap_disposed_blobs(Index& index, BlobStore& blobs) { return reap(index, blobs, index.disposed_items()); }

}  // namespace evidence
