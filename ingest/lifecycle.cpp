#include "ingest/lifecycle.h"

#include <algorithm>
#include <charconv>

#include "base/error.h"
#include "base/timefmt.h"
#include "ingest/api_common.h"
#include "ingest/logging.h"
#include "store/ids.h"
#include "store/disposal.h"
#include "store/retention.h"

namespace evidence::ingest {

namespace {
constexpr std::string_view kEvidenceCategory = "evidence";
}

std::mutex& category_mutex() {
  static std::mutex mu;
  return mu;
}

void refuse_if_disposed(const Index& index, const std::string& id) {
  if (const auto d = index.disposed(id)) {
    throw HttpError{http::status::gone, "disposed",
                    id + " was disposed of at " + d->at + " (disposition " + d->disposition + "): its content is gone"};
  }
}

void add_lifecycle_json(const Index& index, const EvidenceRecord& rec, json::object& o) {
  const std::string name = index.item_category(rec.id).value_or(std::string(kDefaultCategory));
  json::object r{{"category", name}, {"retain_until", nullptr}};
  if (const auto c = index.retention_category(name); c && !c->permanent()) {
    try {
      if (auto until = retain_until(rec.received_at, *c)) r["retain_until"] = *until;
    } catch (const Error&) {
      // A received_at that is not RFC 3339 cannot be counted from: shown as unknown.
    }
  }
  o["retention"] = std::move(r);
  if (const auto d = index.disposed(rec.id)) {
    o["disposed"] = json::object{{"at", d->at},
                                 {"disposition", d->disposition},
                                 {"requested_by", d->requested_by},
                                 {"approved_by", d->approved_by},
                                 {"reason", d->reason}};
  }
}

void check_upload_category(const Index& index, const IngestMeta& meta) {
  if (meta.category.empty()) return;
  if (!index.retention_category(meta.category)) {
    throw HttpError{http::status::bad_request, "unknown_category",
                    "category: no retention category named " + meta.category + " (GET /api/v1/retention/categories)"};
  }
}

std::string ingest_category(const Index& index, const IngestMeta& meta) {
  check_upload_category(index, meta);
  std::string name = meta.category.empty() ? std::string(kDefaultCategory) : meta.category;
  if (meta.case_number) {
    const auto c = index.retention_category(name);
    if (!c || !c->permanent()) name = std::string(kEvidenceCategory);
  }
  // The default is left implicit so that records without a category keep their bytes.
  return name == kDefaultCategory && meta.category.empty() ? std::string() : name;
}

std::optional<std::chrono::system_clock::time_point> upload_lock_until(const Index& index, const IngestMeta& meta) {
  std::string name = ingest_category(index, meta);
  if (name.empty()) name = std::string(kDefaultCategory);
  const auto category = index.retention_category(name);
  if (!category || category->permanent()) return std::nullopt;
  const auto now = std::chrono::system_clock::now();
  return std::max(now + std::chrono::hours(24) * static_cast<std::int64_t>(*category->days),
                  now + std::chrono::minutes(1));
}

void extend_blob_lock(const Index& index, BlobStore& blobs, const EvidenceRecord& rec) {
  ObjectLocks* locks = blobs.object_locks();
  if (!locks) return;
  try {
    if (index.disposed(rec.id)) return;
    const std::string name = index.item_category(rec.id).value_or(std::string(kDefaultCategory));
    const auto category = index.retention_category(name);
    std::optional<std::chrono::system_clock::time_point> until;
    if (category && !category->permanent()) {
      const auto date = retain_until(rec.received_at, *category);
      const auto at = date ? parse_rfc3339(*date) : std::nullopt;
      if (!at) return;
      until = std::chrono::time_point_cast<std::chrono::system_clock::duration>(*at);
      if (*until <= std::chrono::system_clock::now()) return;  // already due: the write's lock stays
    }
    locks->extend_lock(rec.sha256, rec.blob_version, until);
  } catch (const std::exception& e) {
    log_line("warn", "blob_lock_not_extended", {{"id", rec.id}, {"error", e.what()}});
  }
}

std::size_t relock_category(const Index& index, BlobStore& blobs, const std::string& category) {
  if (!blobs.object_locks()) return 0;
  // Ids first, then each item in its own reads: no read inside the walk's transaction.
  std::vector<std::string> ids;
  index.for_each_evidence([&ids](const std::string& id) { ids.push_back(id); });
  std::size_t n = 0;
  for (const auto& id : ids) {
    if (index.item_category(id).value_or(std::string(kDefaultCategory)) != category) continue;
    ++n;
    if (const auto rec = index.get_evidence(id)) extend_blob_lock(index, blobs, *rec);
  }
  return n;
}

bool is_late(const std::string& recorded_at, const std::string& received_at, std::chrono::seconds deadline) {
  const auto rec = parse_rfc3339(recorded_at);
  const auto got = parse_rfc3339(received_at);
  if (!rec || !got) return false;
  return to_unix_us(*got) - to_unix_us(*rec) > static_cast<std::int64_t>(deadline.count()) * 1'000'000;
}

std::optional<std::chrono::seconds> parse_deadline(std::string_view text) {
  if (text.empty() || text.size() > 12) return std::nullopt;
  std::int64_t unit = 1;
  switch (text.back()) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    default: unit = 0;
  }
  const std::string_view digits = unit ? text.substr(0, text.size() - 1) : text;
  if (!unit) unit = 1;
  std::int64_t n = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || n < 0) return std::nullopt;
  if (n > 3650LL * 86400 / unit) return std::nullopt;  // ten years: anything longer is a typo
  return std::chrono::seconds(n * unit);
}

std::uint64_t link_case_raising(Index& index, const AuthUser& who, const std::string& id,
                                const std::string& case_number, const CustodyEvent& link_event) {
  if (auto p = case_number_problem(case_number); !p.empty()) throw Error(Errc::invalid_argument, p);
  std::lock_guard lock(category_mutex());
  // A case's export and audit read its items' content: a disposed item joins no case.
  if (index.disposed(id)) throw HttpError{http::status::conflict, "disposed", id + " has been disposed of"};
  const std::string current = index.item_category(id).value_or(std::string(kDefaultCategory));
  const auto category = index.retention_category(current);
  const bool raise = !category || !category->permanent();
  CustodyEvent link = link_event;
  link.evidence = id;
  link.case_number = case_number;
  CustodyEvent retention = custody_event(who, "retention");
  retention.evidence = id;
  retention.case_number = case_number;
  retention.detail = json::object{{"category", kEvidenceCategory}, {"from", current}, {"because", "case_link"}};
  std::uint64_t at = 0;
  index.write([&](WriteTxn& t) {
    t.link_case(id, case_number);
    at = t.append(link);
    if (raise) {
      t.set_item_category(id, std::string(kEvidenceCategory));
      t.append(retention);
    }
  });
  return at;
}

void reap_blobs(Index& index, BlobStore& blobs, BlobGate& gate) {
  try {
    ReapReport r;
    {
      std::unique_lock lock(gate);
      r = reap_disposed_blobs(index, blobs);
    }
    if (!r.removed.empty() || !r.locked.empty() || !r.errors.empty()) {
      log_line(r.errors.empty() ? "info" : "warn", "disposed_blobs_reaped",
               {{"removed", std::to_string(r.removed.size())},
                {"locked", std::to_string(r.locked.size())},
                {"errors", std::to_string(r.errors.size())},
                {"first_error", r.errors.empty() ? std::string() : r.errors.front()}});
    }
  } catch (const std::exception& e) {
    log_line("error", "reap_failed", {{"error", e.what()}});
  }
}

}  // namespace evidence::ingest
