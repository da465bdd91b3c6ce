// The audit and disposition (DESIGN.md, "Lifecycle"): a disposed item's absent blob is
// not reported; a blob gone without a `dispose` entry is still blob_missing; and every
// `dispose` entry needs an earlier request and an approval by a different admin, else
// disposal_unapproved (pass 9, verify/audit_disposals.cpp).
#include <catch2/catch.hpp>

#include "store/disposal.h"
#include "tests/verify/test_audit_fixture.h"

using namespace evidence;
using namespace evidence::test::audit;

namespace {

const Actor kAda{"ada", "admin"};
const Actor kBob{"bob", "admin"};

std::string now() { return format_rfc3339(now_us()); }

// Writes a disposal the way a forger with the index would: tombstone and `dispose`
// entry, after the given request/approval entries (or none), then deletes the blob.
void forge_disposal(Store& s, std::size_t item, const std::vector<std::pair<std::string, Actor>>& before) {
  const auto id = s.items.at(item).record.id;
  const auto disp = new_disposition_id();
  s.index->write([&](WriteTxn& t) {
    for (const auto& [action, who] : before) t.append(disposal_event(action, who, disp, now()));
    t.mark_disposed(id, Disposed{now(), disp, "ada", "ada", "forged"});
    t.append(disposal_event(kDisposeAction, kAda, disp, now(), id));
  });
  std::filesystem::remove(s.blob_path(item));
}

}  // namespace

TEST_CASE("audit: items disposed of by two admins leave a clean report without their blobs",
          "[audit][disposal]") {
  Store s;
  s.populate();
  const auto& gone = s.items[2].record;
  auto d = request_disposition(*s.index, {gone.id}, "retention ended", kAda, now());
  auto done = execute_disposition(*s.index, *s.blobs, d.id, kBob, now());
  REQUIRE(done.blobs.removed.size() == 1);
  REQUIRE_FALSE(s.blobs->exists(gone.sha256));
  s.checkpoint();
  const auto r = s.audit();
  INFO(describe(r));
  CHECK(r.ok);
  CHECK(r.problems.empty());
  CHECK(s.audit(AuditScope::of_evidence(gone.id)).ok);
  CHECK(s.cli().code == 0);
}

TEST_CASE("audit: a blob deleted by hand without a disposition is still blob_missing", "[audit][disposal]") {
  Store s;
  s.populate();
  // A tombstone alone (an index edit) does not excuse the missing blob: the log decides.
  s.index->write([&](WriteTxn& t) {
    t.mark_disposed(s.items[1].record.id, Disposed{now(), new_disposition_id(), "ada", "bob", "no log entry"});
  });
  std::filesystem::remove(s.blob_path(1));
  const auto r = s.audit();
  INFO(describe(r));
  CHECK_FALSE(r.ok);
  CHECK(has(r.problems, "blob_missing", s.items[1].record.id));
  CHECK_FALSE(has(r.problems, "disposal_unapproved"));
}

TEST_CASE("audit: a dispose entry without two-admin approval is disposal_unapproved", "[audit][disposal]") {
  SECTION("no request or approval at all") {
    Store s;
    s.populate();
    forge_disposal(s, 0, {});
    const auto r = s.audit();
    INFO(describe(r));
    CHECK_FALSE(r.ok);
    CHECK(has(r.problems, "disposal_unapproved", s.items[0].record.id));
    CHECK_FALSE(has(r.problems, "blob_missing"));
  }
  SECTION("requested and approved by the same admin") {
    Store s;
    s.populate();
    forge_disposal(s, 0, {{kDisposeRequestAction, kAda}, {kDisposeApproveAction, kAda}});
    const auto r = s.audit();
    INFO(describe(r));
    CHECK(has(r.problems, "disposal_unapproved", s.items[0].record.id));
    CHECK(s.cli().code == 1);
  }
  SECTION("approved by someone who is not an admin") {
    Store s;
    s.populate();
    forge_disposal(s, 0, {{kDisposeRequestAction, kAda}, {kDisposeApproveAction, Actor{"rita", "reviewer"}}});
    CHECK(has(s.audit().problems, "disposal_unapproved", s.items[0].record.id));
  }
  SECTION("requested but never approved") {
    Store s;
    s.populate();
    forge_disposal(s, 0, {{kDisposeRequestAction, kAda}});
    const auto r = s.audit(AuditScope::of_evidence(s.items[0].record.id));
    CHECK(has(r.problems, "disposal_unapproved", s.items[0].record.id));
    // Another item's scope does not see it.
    CHECK_FALSE(has(s.audit(AuditScope::of_evidence(s.items[1].record.id)).problems, "disposal_unapproved"));
  }
  SECTION("request and approval by two admins: clean") {
    Store s;
    s.populate();
    forge_disposal(s, 0, {{kDisposeRequestAction, kAda}, {kDisposeApproveAction, kBob}});
    const auto r = s.audit();
    INFO(describe(r));
    CHECK(r.ok);
  }
}
