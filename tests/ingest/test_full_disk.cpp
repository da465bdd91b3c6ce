// A full disk: the daemon's data folder on a 64 MiB tmpfs, filled by the test.
// Uploads fail with 507 and a JSON error, nothing committed is damaged, reads keep
// working while there is room for their custody entries (and never answer 500 when
// there is not), the index survives LMDB writes that hit ENOSPC, and uploads work
// again once space is freed. Needs permission to mount (root); otherwise it WARNs
// and skips.
#include <sys/statvfs.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "tests/ingest/daemon_fixture.h"

using namespace evidence;
using namespace evidence::test;
namespace json = boost::json;

namespace {

// Mounts a tmpfs of `size` at `dir` for its lifetime; unmounts however the test ends.
class TmpfsMount {
 public:
  TmpfsMount(std::filesystem::path dir, const std::string& size) : dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_);
    auto r = run_process({"/bin/mount", "-t", "tmpfs", "-o", "size=" + size + ",mode=0700", "tmpfs", dir_.string()});
    mounted_ = r.exit_code == 0;
    why_ = r.err + r.out;
  }
  ~TmpfsMount() {
    if (mounted_) run_process({"/bin/umount", "-l", dir_.string()});
  }
  bool mounted() const { return mounted_; }
  const std::string& why() const { return why_; }

 private:
  std::filesystem::path dir_;
  bool mounted_ = false;
  std::string why_;
};

std::uint64_t free_bytes(const std::filesystem::path& p) {
  struct statvfs s{};
  REQUIRE(::statvfs(p.c_str(), &s) == 0);
  return static_cast<std::uint64_t>(s.f_bavail) * s.f_frsize;
}

// Writes zeros to `file` until `limit` bytes or ENOSPC; returns the bytes written.
std::uint64_t write_filler(const std::filesystem::path& file, std::uint64_t limit) {
  FILE* f = std::fopen(file.c_str(), "ab");
  REQUIRE(f);
  std::setvbuf(f, nullptr, _IONBF, 0);
  static const std::string block(64 * 1024, '\0');
  std::uint64_t written = 0;
  while (written < limit) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(block.size(), limit - written));
    const std::size_t w = std::fwrite(block.data(), 1, n, f);
    written += w;
    if (w < n) break;  // ENOSPC
  }
  std::fclose(f);
  return written;
}

std::string upload_url(const Daemon& d, const std::string& name) {
  return d.api("/evidence?officer=" + pct("Full Disk") + "&device=cam-1&filename=" + name);
}

void expect_no_space(const HttpResponse& r) {
  INFO("status " << r.status << ": " << r.body);
  REQUIRE(r.status == 507);
  auto o = obj(r);
  CHECK(o.at("error").as_string() == "no_space");
  CHECK(!o.at("message").as_string().empty());
}

struct Item {
  std::string id, data;
};

void check_reads(const Daemon& d, const std::vector<Item>& items, bool room_for_custody) {
  for (const auto& it : items) {
    auto r = http("GET", d.api("/evidence/" + it.id + "/content"), d.admin_token());
    INFO("item " << it.id << ": " << r.status << " " << (r.status == 200 ? "" : r.body));
    if (room_for_custody) {
      REQUIRE(r.status == 200);
    } else {
      // Every read is a custody entry: with no room to record it, the read is refused
      // (507), never served unrecorded and never a 500.
      REQUIRE((r.status == 200 || r.status == 507));
    }
    if (r.status == 200) CHECK(r.body == it.data);
  }
}

}  // namespace

TEST_CASE("full disk: uploads get 507, committed items stay intact, uploads resume after space is freed",
          "[daemon][full_disk]") {
  TempDir dir;
  const auto mnt = dir.path() / "mnt";
  TmpfsMount mount(mnt, "64m");
  if (!mount.mounted()) {
    WARN("SKIPPED: cannot mount a tmpfs (needs root or CAP_SYS_ADMIN): " << mount.why());
    return;
  }
  const auto data = mnt / "data";
  {
    Daemon d(data);
    std::vector<Item> items;
    for (unsigned i = 0; i < 3; ++i) {
      Item it{"", random_bytes_string(1 << 20, 100 + i)};
      auto r = http("POST", upload_url(d, "a" + std::to_string(i)), d.admin_token(), it.data);
      REQUIRE(r.status == 201);
      it.id = std::string(obj(r)["evidence_id"].as_string());
      items.push_back(std::move(it));
    }
    // A tus upload begun before the disk fills.
    const std::string tus_data = random_bytes_string(3 << 20, 7);
    const Headers tus{{"Tus-Resumable", "1.0.0"}};
    auto created = http("POST", d.api("/uploads"), d.admin_token(), "",
                        {{"Tus-Resumable", "1.0.0"},
                         {"Upload-Length", std::to_string(tus_data.size())},
                         {"Upload-Metadata", "officer " + b64("Full Disk") + ",device " + b64("dock")}});
    REQUIRE(created.status == 201);
    const std::string upload = d.api("/uploads/" + created.header("location").substr(created.header("location").rfind('/') + 1));
    auto patch = [&](std::size_t offset, std::size_t n) {
      return http("PATCH", upload, d.admin_token(), tus_data.substr(offset, n),
                  {{"Tus-Resumable", "1.0.0"},
                   {"Upload-Offset", std::to_string(offset)},
                   {"Content-Type", "application/offset+octet-stream"}});
    };
    REQUIRE(patch(0, 1 << 20).status == 204);

    // Nearly full: about 1 MiB left, room for custody entries but not for footage.
    const std::uint64_t leave = 1 << 20;
    const std::uint64_t avail = free_bytes(mnt);
    REQUIRE(avail > leave);
    write_filler(mnt / "filler", avail - leave);
    INFO("free after filling: " << free_bytes(mnt));

    expect_no_space(http("POST", upload_url(d, "big"), d.admin_token(), random_bytes_string(4 << 20, 9)));
    expect_no_space(patch(1 << 20, 2 << 20));
    check_reads(d, items, true);
    CHECK(http("GET", d.api("/evidence/" + items[0].id), d.admin_token()).status == 200);
    // The upload is still at its durable offset: the failed chunk counted nothing.
    auto head = http("HEAD", upload, d.admin_token(), "", tus);
    REQUIRE(head.status == 200);
    CHECK(head.header("upload-offset") == std::to_string(1 << 20));

    // Completely full, then a little room: small uploads run out of space wherever
    // they do (blob, time stamp, LMDB commit); each is 201 or 507, never anything else.
    write_filler(mnt / "pad", 256 * 1024);
    write_filler(mnt / "filler2", std::numeric_limits<std::uint64_t>::max());
    expect_no_space(http("POST", upload_url(d, "tiny"), d.admin_token(), "tiny"));
    check_reads(d, items, false);
    std::filesystem::remove(mnt / "pad");
    unsigned refused = 0;
    for (unsigned i = 0; i < 200 && refused < 3; ++i) {
      const std::string body = random_bytes_string(6000, 1000 + i);
      auto r = http("POST", upload_url(d, "s" + std::to_string(i)), d.admin_token(), body);
      INFO("small upload " << i << ": " << r.status << " " << r.body);
      REQUIRE((r.status == 201 || r.status == 507));
      if (r.status == 507) {
        expect_no_space(r);
        ++refused;
      } else {
        items.push_back({std::string(obj(r)["evidence_id"].as_string()), body});
      }
    }
    CHECK(refused > 0);
    CHECK(http("GET", d.api("/healthz")).status == 200);

    // Space returns: uploads work again, the tus upload resumes where it was.
    std::filesystem::remove(mnt / "filler");
    std::filesystem::remove(mnt / "filler2");
    check_reads(d, items, true);
    Item after{"", random_bytes_string(2 << 20, 11)};
    auto r = http("POST", upload_url(d, "after"), d.admin_token(), after.data);
    REQUIRE(r.status == 201);
    after.id = std::string(obj(r)["evidence_id"].as_string());
    items.push_back(after);
    head = http("HEAD", upload, d.admin_token(), "", tus);
    REQUIRE(head.status == 200);
    REQUIRE(head.header("upload-offset") == std::to_string(1 << 20));
    auto last = patch(1 << 20, tus_data.size() - (1 << 20));
    REQUIRE(last.status == 204);
    REQUIRE(!last.header("evidence-id").empty());
    items.push_back({last.header("evidence-id"), tus_data});
    check_reads(d, items, true);
    REQUIRE(d.stop() == 0);
  }
  // The offline audit finds nothing damaged: at most stray blobs from refused commits.
  auto v = run_process({EVIDENCED_PATH, "verify", "--data", data.string(), "--json"}, {}, {}, 300);
  INFO("evidenced verify: exit " << v.exit_code << "\n" << v.out << v.err);
  REQUIRE(v.exit_code == 0);
  auto report = json::parse(v.out).as_object();
  CHECK(report.at("problems").as_array().empty());
  for (const auto& h : report.at("hints").as_array()) CHECK(h.as_object().at("kind").as_string() == "blob_orphan");
}
