// Verify throughput against `openssl dgst -sha256` over the same bytes, in the same
// run. Hidden from normal runs (tag [.bench]); run it with
//   EVIDENCE_BENCH_GIB=3 test_verify "[.bench]"
// It prints its measurements and asserts nothing about time (results go to
// bench/verify-throughput.md by hand).
#include <sys/resource.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "tests/verify/test_audit_fixture.h"

using namespace evidence;
using namespace evidence::test::audit;

namespace {

double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double seconds_of(const std::function<void()>& fn) {
  const auto t0 = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int shell(const std::string& cmd) {
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p);
  char buf[4096];
  while (std::fread(buf, 1, sizeof buf, p) > 0) {
  }
  return ::pclose(p);
}

}  // namespace

TEST_CASE("bench: audit re-hash throughput against openssl dgst -sha256", "[.bench]") {
  const char* env = std::getenv("EVIDENCE_BENCH_GIB");
  const double gib = env ? std::atof(env) : 2.0;
  constexpr int kBlobs = 8;
  const std::uint64_t per_blob = static_cast<std::uint64_t>(gib * double(1ull << 30) / kBlobs);

  Store s;
  std::vector<std::uint8_t> buf(1 << 20);
  std::uint64_t x = 0x9e3779b97f4a7c15ull;
  for (int b = 0; b < kBlobs; ++b) {
    auto w = s.blobs->begin_write();
    for (std::uint64_t done = 0; done < per_blob; done += buf.size()) {
      for (std::size_t i = 0; i + 8 <= buf.size(); i += 8) {  // xorshift: distinct, incompressible
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        std::memcpy(&buf[i], &x, 8);
      }
      w->write(std::span(buf.data(), static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), per_blob - done))));
    }
    s.add_blob(w->commit());
  }
  s.checkpoint();
  std::string files;
  for (const auto& c : s.items) files += " '" + s.layout.blob_path(c.record.sha256).string() + "'";
  const double bytes = double(per_blob) * kBlobs;

  shell("cat" + files + " > /dev/null");  // same page-cache state for every contender
  const double ssl1 = seconds_of([&] { REQUIRE(shell("openssl dgst -sha256" + files) == 0); });
  AuditReport all;
  const double cpu0 = cpu_seconds();
  const double ours = seconds_of([&] { all = s.audit(); });
  const double ours_cpu = cpu_seconds() - cpu0;
  AuditOptions one;
  one.threads = 1;
  const double ours1 = seconds_of([&] { REQUIRE(s.audit(AuditScope::all(), one).ok); });
  const double ssl2 = seconds_of([&] { REQUIRE(shell("openssl dgst -sha256" + files) == 0); });
  REQUIRE(all.ok);
  const double ssl = (ssl1 + ssl2) / 2;
  auto mbs = [&](double t) { return bytes / t / 1e6; };
  std::printf(
      "bench verify: %.2f GiB in %d blobs, %u threads\n"
      "  openssl dgst -sha256 : %.2f s  %.0f MB/s (runs %.2f s, %.2f s)\n"
      "  audit, all threads   : %.2f s  %.0f MB/s  ratio %.2f  (CPU %.2f s: %.2f cores busy)\n"
      "  audit, 1 thread      : %.2f s  %.0f MB/s  ratio %.2f\n",
      bytes / double(1ull << 30), kBlobs, std::thread::hardware_concurrency(), ssl, mbs(ssl), ssl1, ssl2, ours,
      mbs(ours), ssl / ours, ours_cpu, ours_cpu / ours, ours1, mbs(ours1), ssl / ours1);
}
