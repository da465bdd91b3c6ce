// Internal to the bundle reader (bundle_verify.cpp and the checks in files of their
// own, such as bundle_reviews.cpp): what verify_bundle's checks share, the state read
// from the tar and the report they add findings to. Not for other callers; use
// verify/bundle.h.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "store/records.h"
#include "verify/bundle.h"
#include "verify/signed_note.h"

namespace evidence::bundle_detail {

struct FileSeen {
  ContentId hash;
  std::uint64_t size = 0;
};

inline Problem finding(std::string evidence, ProblemKind kind, std::string detail) {
  Problem p;
  p.evidence = std::move(evidence);
  p.kind = kind;
  p.detail = std::move(detail);
  return p;
}

// What the checks share: the report, the bundle's files, and what earlier checks
// established (keys, the checkpoint, the custody entries that prove into it).
struct BundleCheck {
  BundleReport rep;
  std::map<std::string, FileSeen> contents;  // hex name -> what it hashed to
  std::map<std::string, std::string> small;  // path -> bytes
  boost::json::object manifest;
  std::optional<note::Verifier> verifier;
  std::string ca_pem;
  std::optional<note::Checkpoint> cp;
  std::map<std::uint64_t, CustodyEvent> events;  // only entries that prove
  std::set<std::string> listed_files;            // content the manifest lists
  std::set<std::uint64_t> unproved;              // entries custody.json has that do not prove

  void problem(Problem p) {
    rep.ok = false;
    rep.problems.push_back(std::move(p));
  }
  void hint(Problem p) { rep.hints.push_back(std::move(p)); }
  const std::string* get(const std::string& path) const {
    auto it = small.find(path);
    return it == small.end() ? nullptr : &it->second;
  }
};

// The case-file reviews (bundle_reviews.cpp): each review the manifest lists is in the
// bundle and its bytes hash to the record_hash of its proved `review` entry; every
// proved `review` entry of the case has its review (review_mismatch). Run after
// check_custody.
void check_reviews(BundleCheck& c);

}  // namespace evidence::bundle_detail
