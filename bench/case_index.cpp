// Case listing at scale: fills an index with N tiny fake items through the store API
// (Index::commit_evidence_batch, BATCH items per transaction), CASE_SIZE items per
// case, then times what GET /api/v1/cases/{C} does inside the daemon.
//
//   bench_case_index --data DIR [--items N] [--case-size 20] [--batch 10000]
//                    [--queries 2000]
//
// DIR is a data folder made by `evidenced init` (the daemon is NOT running while this
// writes). Items are named cases BENCH-0 .. BENCH-(N/CASE_SIZE - 1). The fake
// records point at no blob (a content hash derived from the item number) and carry a
// 1-byte "timestamp token": the listing only reads records, not content.
//
// Prints key=value: items, build_s, items_per_s_build, ids_p50_ms, ids_p99_ms (the
// Index::items_in_case lookup alone), list_p50_ms, list_p99_ms (lookup plus every
// record, as the route reads them), cases (the number of cases, for {r} in bench_load).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "store/content_id.h"
#include "store/ids.h"
#include "store/index.h"
#include "store/layout.h"
#include "base/timefmt.h"

using Clock = std::chrono::steady_clock;

namespace {

double pct(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto i = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) try {
  std::string data;
  long items = 1000000, case_size = 20, batch = 10000, queries = 2000;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i], v = argv[i + 1];
    if (a == "--data") data = v;
    else if (a == "--items") items = std::stol(v);
    else if (a == "--case-size") case_size = std::stol(v);
    else if (a == "--batch") batch = std::stol(v);
    else if (a == "--queries") queries = std::stol(v);
    else throw std::runtime_error("unknown option " + a);
  }
  if (data.empty() || items < case_size || case_size < 1 || batch < 1) {
    std::fprintf(stderr, "usage: bench_case_index --data DIR [--items N] [--case-size K] [--batch B]\n");
    return 2;
  }
  evidence::Layout layout(data);
  const auto opened = evidence::open_index(layout, evidence::OpenMode::read_write);
  evidence::Index& index = *opened;
  const long cases = items / case_size;
  const std::string now = evidence::format_rfc3339(evidence::now_us());
  const evidence::Bytes token{0x30};

  const auto t0 = Clock::now();
  for (long done = 0; done < items;) {
    std::vector<evidence::NewEvidence> group;
    const long n = std::min(batch, items - done);
    group.reserve(static_cast<std::size_t>(n));
    for (long k = 0; k < n; ++k) {
      const long i = done + k;
      evidence::NewEvidence e;
      auto& r = e.record;
      r.id = evidence::new_evidence_id();
      r.sha256 = evidence::Sha256::of("bench item " + std::to_string(i));
      r.size = 1;
      // Consecutive items go to different cases, as uploads from many recorders do.
      r.cases.push_back("BENCH-" + std::to_string(i % cases));
      r.officer = "officer" + std::to_string(i % 500);
      r.device = "cam" + std::to_string(i % 2000);
      r.recorded_at = now;
      r.received_at = now;
      r.filename = "clip.mp4";
      r.uploaded_by = "bench";
      e.timestamp_token = token;
      e.event.time = now;
      e.event.actor = "bench";
      e.event.role = "officer";
      e.event.action = "ingest";
      e.event.case_number = r.cases.front();
      group.push_back(std::move(e));
    }
    index.commit_evidence_batch(std::move(group));
    done += n;
  }
  const double build = std::chrono::duration<double>(Clock::now() - t0).count();

  std::mt19937_64 rng(11);
  std::vector<double> ids_ms, list_ms;
  std::size_t seen = 0;
  for (long q = 0; q < queries; ++q) {
    const std::string c = "BENCH-" + std::to_string(static_cast<long>(rng() % static_cast<std::uint64_t>(cases)));
    auto a = Clock::now();
    auto ids = index.items_in_case(c);
    auto b = Clock::now();
    for (const auto& id : ids) {
      if (auto rec = index.get_evidence(id)) seen += rec->cases.size();
      seen += index.cases_of(id).size();
      if (index.get_derived("media", id)) ++seen;
    }
    auto d = Clock::now();
    ids_ms.push_back(std::chrono::duration<double, std::milli>(b - a).count());
    list_ms.push_back(std::chrono::duration<double, std::milli>(d - a).count());
  }
  std::printf(
      "items=%ld cases=%ld build_s=%.2f items_per_s_build=%.0f ids_p50_ms=%.4f ids_p99_ms=%.4f list_p50_ms=%.4f "
      "list_p99_ms=%.4f checked=%zu\n",
      items, cases, build, static_cast<double>(items) / build, pct(ids_ms, 0.5), pct(ids_ms, 0.99),
      pct(list_ms, 0.5), pct(list_ms, 0.99), seen);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench_case_index: %s\n", e.what());
  return 1;
}
