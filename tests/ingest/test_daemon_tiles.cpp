// C2SP tlog-tiles served by the daemon, checked by an independent implementation: a
// Python 3 script (hashlib and urllib only) fetches the public checkpoint and the hash
// tiles without a token, rebuilds the RFC 6962 root and compares it with the
// checkpoint's, and checks that the auditor's entry bundles hash to the level-0 tiles.
#include <catch2/catch.hpp>

#include "tests/ingest/daemon_fixture.h"

using namespace evidence;
using namespace evidence::test;

namespace {

constexpr const char* kRebuild = R"PY(
import base64, hashlib, sys, urllib.request, urllib.error
base, token = sys.argv[1], sys.argv[2]
def get(path, auth=False):
    req = urllib.request.Request(base + path)
    if auth:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req) as r:
        return r.read(), r.headers
def tile_path(level, n, width):
    s = "%03d" % (n % 1000)
    n //= 1000
    while n > 0:
        s = "x%03d/" % (n % 1000) + s
        n //= 1000
    return "/log/tile/%s/%s%s" % (level, s, "" if width == 256 else ".p/%d" % width)
def h(b): return hashlib.sha256(b).digest()
def mth(hs):
    if len(hs) == 1: return hs[0]
    k = 1
    while k * 2 < len(hs): k *= 2
    return h(b"\x01" + mth(hs[:k]) + mth(hs[k:]))
note, headers = get("/log/checkpoint")
lines = note.decode().split("\n")
size, root = int(lines[1]), base64.b64decode(lines[2])
assert size > 256, size
leaves = []
for n in range((size + 255) // 256):
    width = min(256, size - 256 * n)
    body, hd = get(tile_path(0, n, width))
    assert len(body) == 32 * width, (n, len(body))
    if width == 256:
        assert "immutable" in hd["Cache-Control"], hd["Cache-Control"]
    leaves += [body[i:i + 32] for i in range(0, len(body), 32)]
    bundle, _ = get(tile_path("entries", n, width), auth=True)
    at, i = 0, 0
    while at < len(bundle):
        ln = int.from_bytes(bundle[at:at + 2], "big")
        assert h(b"\x00" + bundle[at + 2:at + 2 + ln]) == leaves[256 * n + i], (n, i)
        at, i = at + 2 + ln, i + 1
    assert i == width, (i, width)
assert mth(leaves) == root, "root mismatch"
full = size // 256
up, _ = get(tile_path(1, 0, full))
for n in range(full):
    assert up[32 * n:32 * n + 32] == mth(leaves[256 * n:256 * n + 256]), n
try:
    get(tile_path(0, (size + 255) // 256, 1))
    raise SystemExit("a tile beyond the log was served")
except urllib.error.HTTPError as e:
    assert e.code == 404, e.code
try:
    get(tile_path("entries", 0, 1))
    raise SystemExit("an entry bundle was served without a token")
except urllib.error.HTTPError as e:
    assert e.code == 401, e.code
print("root ok", size)
)PY";

}  // namespace

TEST_CASE("tiles rebuild the checkpoint's root in an independent implementation", "[daemon][tiles]") {
  TempDir dir;
  Daemon d(dir.path() / "data");
  for (int i = 0; i < 270; ++i) {
    auto r = http("POST", d.api("/evidence?officer=o&device=c"), d.admin_token(), "tile item " + std::to_string(i));
    REQUIRE(r.status == 201);
  }
  auto py = run_process({"/usr/bin/python3", "-c", kRebuild, d.api(""), d.admin_token()});
  INFO(py.out << py.err);
  CHECK(py.exit_code == 0);
  CHECK(py.out.find("root ok") != std::string::npos);
  // Malformed tile paths are 404s (static-file semantics), never 5xx.
  for (const char* bad : {"/log/tile/0/5", "/log/tile/64/000", "/log/tile/0/000.p/0", "/log/tile/0/x001"}) {
    INFO(bad);
    CHECK(http("GET", d.api(bad)).status == 404);
  }
  CHECK(http("GET", d.api("/log/tile/entries/0/000"), d.admin_token()).status == 404);
}
