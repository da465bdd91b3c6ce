// The index conformance suite's harness: the engines it runs against, a fresh index
// per test, item and event builders, and RFC 6962 hashing and proofs computed here
// from the leaves alone (an independent check of what an engine stores and serves).
//
// Every conformance test is written against store/index.h only and runs once per
// engine in engines() (conformance_engines.cpp), each engine as a Catch section named
// after it. A new engine passes the suite by adding one line there.
#pragma once

#include <catch2/catch.hpp>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "store/content_id.h"
#include "base/error.h"
#include "store/ids.h"
#include "store/index.h"
#include "base/timefmt.h"
#include "tests/tempdir.h"

namespace evidence::conformance {

// Opens (read_write: creates when absent) the engine's index for the data directory `dir`.
using OpenEngine = std::function<std::unique_ptr<Index>(const std::filesystem::path& dir, OpenMode mode)>;

struct Engine {
  std::string name;
  OpenEngine open;
};

const std::vector<Engine>& engines();

// One engine's index in a fresh temporary data directory.
class Subject {
 public:
  explicit Subject(const Engine& engine) : engine_(engine), index_(engine.open(dir_.path(), OpenMode::read_write)) {}
  Index& operator*() { return *index_; }
  Index* operator->() { return index_.get(); }
  // Closes the index and opens the same data again.
  void reopen(OpenMode mode = OpenMode::read_write) {
    index_.reset();
    index_ = engine_.open(dir_.path(), mode);
  }
  const std::filesystem::path& dir() const { return dir_.path(); }

 private:
  test::TempDir dir_;
  const Engine& engine_;
  std::unique_ptr<Index> index_;
};

// Runs the block once per engine, each as its own section:
//   CONFORMANCE_FOR_EACH_ENGINE(engine) { Subject s(engine); ... }
#define CONFORMANCE_FOR_EACH_ENGINE(engine_var) \
  for (const auto& engine_var : ::evidence::conformance::engines()) DYNAMIC_SECTION("engine " << engine_var.name)

inline NewEvidence item(const std::string& content, std::vector<std::string> cases = {},
                        std::string officer = "officer-1", std::string device = "cam-7",
                        std::string recorded_at = "2026-11-01T10:00:00Z") {
  NewEvidence n;
  n.record.id = new_evidence_id();
  n.record.sha256 = Sha256::of(content);
  n.record.size = content.size();
  n.record.cases = std::move(cases);
  n.record.officer = std::move(officer);
  n.record.device = std::move(device);
  n.record.recorded_at = std::move(recorded_at);
  n.record.received_at = format_rfc3339(now_us());
  n.record.filename = "clip.mp4";
  n.record.uploaded_by = n.record.officer;
  n.timestamp_token = {0x30, 0x03, 0x02, 0x01, 0x07};  // opaque to the index
  n.event.time = n.record.received_at;
  n.event.actor = n.record.officer;
  n.event.role = "officer";
  n.event.action = "ingest";
  return n;
}

inline CustodyEvent event(const std::string& actor, const std::string& action = "view") {
  CustodyEvent e;
  e.time = "2026-11-27T00:00:00.000Z";
  e.actor = actor;
  e.role = "reviewer";
  e.action = action;
  return e;
}

inline User user(const std::string& name, Role role = Role::officer) {
  User u;
  u.name = name;
  u.role = role;
  u.created_at = "2026-11-01T00:00:00Z";
  return u;
}

inline UploadSession upload(const std::string& id, std::uint64_t offset = 0) {
  UploadSession s;
  s.id = id;
  s.length = 100;
  s.offset = offset;
  s.metadata["officer"] = "officer-1";
  s.created_at = "2026-11-01T00:00:00Z";
  s.expires_at = "2026-11-02T00:00:00Z";
  s.owner = "officer-1";
  s.owner_role = "officer";
  return s;
}

// Runs `f` and returns the code of the Error it throws; fails the test if it throws
// nothing or something else.
template <class F>
Errc error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  } catch (const std::exception& e) {
    FAIL("threw a non-Error: " << e.what());
  }
  FAIL("did not throw");
  return Errc::internal;
}

// --- RFC 6962, from the leaves, with SHA-256 directly ----------------------------------

using Hash = merkle::Hash;

inline Hash leaf_hash(const std::string& leaf) {
  Sha256 h;
  const std::uint8_t zero = 0x00;
  h.update(std::span<const std::uint8_t>(&zero, 1));
  h.update(leaf);
  return h.finish().bytes;
}

inline Hash node_hash(const Hash& l, const Hash& r) {
  Sha256 h;
  const std::uint8_t one = 0x01;
  h.update(std::span<const std::uint8_t>(&one, 1));
  h.update(l);
  h.update(r);
  return h.finish().bytes;
}

// The largest power of two smaller than n (n > 1).
inline std::size_t split(std::size_t n) {
  std::size_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

// MTH(D[begin:end]); the empty tree's root is SHA-256 of nothing.
inline Hash mth(const std::vector<Hash>& leaves, std::size_t begin, std::size_t end) {
  if (end == begin) return Sha256::of(std::string_view{}).bytes;
  if (end - begin == 1) return leaves[begin];
  const std::size_t k = split(end - begin);
  return node_hash(mth(leaves, begin, begin + k), mth(leaves, begin + k, end));
}

// RFC 6962 2.1.1 PATH(m, D[begin:end]).
inline std::vector<Hash> path(const std::vector<Hash>& leaves, std::size_t m, std::size_t begin, std::size_t end) {
  if (end - begin <= 1) return {};
  const std::size_t k = split(end - begin);
  std::vector<Hash> out;
  if (m < k) {
    out = path(leaves, m, begin, begin + k);
    out.push_back(mth(leaves, begin + k, end));
  } else {
    out = path(leaves, m - k, begin + k, end);
    out.push_back(mth(leaves, begin, begin + k));
  }
  return out;
}

// RFC 6962 2.1.2 SUBPROOF(m, D[begin:end], b).
inline std::vector<Hash> subproof(const std::vector<Hash>& leaves, std::size_t m, std::size_t begin, std::size_t end,
                                  bool complete) {
  const std::size_t n = end - begin;
  if (m == n) {
    if (complete) return {};
    return {mth(leaves, begin, end)};
  }
  const std::size_t k = split(n);
  std::vector<Hash> out;
  if (m <= k) {
    out = subproof(leaves, m, begin, begin + k, complete);
    out.push_back(mth(leaves, begin + k, end));
  } else {
    out = subproof(leaves, m - k, begin + k, end, false);
    out.push_back(mth(leaves, begin, begin + k));
  }
  return out;
}

// Leaf hashes of the engine's whole log, from the stored leaf bytes.
inline std::vector<Hash> leaf_hashes(const Index& index) {
  std::vector<Hash> out;
  for (const auto& e : index.log_entries(0, index.log_size())) out.push_back(leaf_hash(e.leaf));
  return out;
}

}  // namespace evidence::conformance
