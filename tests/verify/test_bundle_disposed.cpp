// A case bundle that holds a disposed item's tombstone (its `dispose` entry) says so:
// verify_bundle lists the item as disposed, with its disposition, approver and entry,
// and the bundle stays intact (DESIGN.md, "Lifecycle").
#include <catch2/catch.hpp>
#include <fstream>

#include "store/disposal.h"
#include "tests/verify/test_audit_fixture.h"
#include "verify/bundle.h"

using namespace evidence;
using namespace evidence::test::audit;

TEST_CASE("bundle: a disposed item's dispose entry is reported as disposed, not as a problem", "[bundle][disposal]") {
  Store s;
  const std::string kCase = "CASE-D";
  s.add("bodycam shared bytes", {kCase});
  // Same bytes: the blob stays for the live item, so the export can still be written.
  const auto gone = s.add_blob(BlobInfo{s.items[0].record.sha256, s.items[0].record.size, {}, true}, {kCase});
  const Actor ada{"ada", "admin"}, bob{"bob", "admin"};
  const auto now = format_rfc3339(now_us());
  const auto d = request_disposition(*s.index, {gone.record.id}, "retention over", ada, now);
  const auto done = execute_disposition(*s.index, *s.blobs, d.id, bob, now);
  s.checkpoint();

  const auto tar = s.dir.path() / "bundle.tar";
  {
    std::ofstream out(tar, std::ios::binary);
    write_bundle(*s.index, *s.blobs, s.layout, kCase, [&](std::span<const std::uint8_t> b) {
      out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    });
  }
  const auto rep = verify_bundle(tar, std::nullopt);
  INFO(boost::json::serialize(rep.to_json()));
  CHECK(rep.ok);
  REQUIRE(rep.disposed.size() == 1);
  CHECK(rep.disposed[0].evidence == gone.record.id);
  CHECK(rep.disposed[0].disposition == d.id);
  CHECK(rep.disposed[0].actor == "bob");
  CHECK(rep.disposed[0].log_index == done.entries.at(1));
  CHECK(rep.to_json().at("disposed").as_array().size() == 1);
}
