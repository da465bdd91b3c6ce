// The media worker's sandbox (verify/media/sandbox.h), seen from inside the real
// worker: `evidenced media-worker selftest` tries what a decoder under an attacker's
// control would try, under exactly the confinement of probe, thumbnail and clip.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>
#include <cerrno>
#include <cstdlib>

#include "tests/verify/media_fixtures.h"
#include "tests/verify/media_worker_run.h"
#include "verify/media/clip.h"
#include "verify/media/probe.h"
#include "verify/media/sandbox.h"
#include "verify/media/segments.h"
#include "verify/media/thumbnail.h"
#include "verify/media/worker.h"

using namespace evidence;
using namespace evidence::test;
namespace media = evidence::media;
namespace json = boost::json;

namespace {

// A data directory as `evidenced init` lays it out, as far as an attacker cares.
struct DataDir {
  TempDir dir;
  DataDir() {
    fs::create_directories(dir / "keys");
    fs::create_directories(dir / "index");
    fs::create_directories(dir / "blobs");
    write_all(dir / "keys" / "signing.key", {'s', 'e', 'c', 'r', 'e', 't'});
    write_all(dir / "index" / "data.mdb", {0, 1, 2, 3});
    // World-readable on purpose: the sandbox must hold without file permissions' help.
    for (const auto& p : {dir / "keys" / "signing.key", dir / "index" / "data.mdb"})
      fs::permissions(p, fs::perms::owner_all | fs::perms::group_read | fs::perms::others_read);
  }
  fs::path path() const { return dir.path(); }
};

// A listener on 127.0.0.1 that the worker is told to connect to.
struct Listener {
  int fd = -1;
  int port = 0;
  Listener() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd, 4) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~Listener() { ::close(fd); }
  bool someone_connected() const {
    const int c = ::accept(fd, nullptr, nullptr);
    if (c >= 0) ::close(c);
    return c >= 0;
  }
};

json::object selftest(const DataDir& data, int port, std::vector<std::string> paths = {}) {
  std::vector<std::string> args{"selftest", data.path().string(), std::to_string(port)};
  args.insert(args.end(), paths.begin(), paths.end());
  std::string why;
  const auto v = run_real_worker({args}, &why);
  INFO(why);
  REQUIRE(v);
  REQUIRE(v->is_object());
  return v->as_object();
}

}  // namespace

TEST_CASE("the media worker cannot read keys or index, connect, create files or see the environment", "[media]") {
  DataDir data;
  Listener listener;
  ::setenv("EVIDENCE_TEST_SECRET", "a token the worker must not see", 1);
  const auto r = selftest(data, listener.port);
  ::unsetenv("EVIDENCE_TEST_SECRET");
  INFO(json::serialize(r));
  CHECK(r.at("open_keys") == false);
  CHECK(r.at("open_dir") == false);
  CHECK(r.at("create") == false);
  CHECK(r.at("socket") == false);
  CHECK(r.at("connect") == false);
  CHECK(r.at("fork") == false);
  CHECK(r.at("env").as_array().empty());
  CHECK(r.at("seccomp") == 2);
  CHECK(r.at("no_new_privs") == 1);
  CHECK_FALSE(listener.someone_connected());
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(data.path())) ++entries;
  CHECK(entries == 3);  // keys, index, blobs: nothing created
}

TEST_CASE("the media worker started by root runs as an unprivileged user", "[media]") {
  DataDir data;
  const auto r = selftest(data, 9);
  INFO(json::serialize(r));
  if (::geteuid() != 0) {
    CHECK(r.at("uid") == static_cast<std::uint64_t>(::getuid()));
    return;
  }
  CHECK(r.at("uid") == media::kUnprivilegedId);
  CHECK(r.at("gid") == media::kUnprivilegedId);
  CHECK(r.at("sandbox").at("user").as_string().starts_with("uid 65534"));
}

TEST_CASE("a worker cannot open a file by path, only the descriptor it was handed", "[media]") {
  DataDir data;
  const std::string footage_path = footage().mp4.string();
  const auto r = selftest(data, 9, {footage_path, "/etc/passwd", (data.path() / "keys" / "signing.key").string()});
  INFO(json::serialize(r));
  CHECK(r.at("opened").at(footage_path) == false);
  CHECK(r.at("opened").at("/etc/passwd") == false);
  CHECK(r.at("opened").at((data.path() / "keys" / "signing.key").string()) == false);
  // The same footage handed over as descriptor 3 is read; a probe without one fails.
  std::string why;
  const auto handed = run_real_worker({{"probe"}, footage().mp4}, &why);
  INFO(why);
  REQUIRE(handed);
  CHECK_FALSE(handed->as_object().contains("error"));
  const auto none = run_real_worker({{"probe"}});
  REQUIRE(none);
  CHECK(none->as_object().contains("error"));
}

TEST_CASE("the worker reports the protections in force and the limits its parent set", "[media]") {
  std::string why;
  const auto v = run_real_worker({{"status"}, {}, {}, 0, 77}, &why);
  INFO(why);
  REQUIRE(v);
  INFO(json::serialize(*v));
  const auto& s = v->at("sandbox").as_object();
  CHECK(s.at("seccomp") == "filter");
  CHECK(s.at("seccomp_mode") == 2);
  CHECK(s.at("no_new_privs") == true);
  CHECK(s.at("no_new_privs_flag") == 1);
  const auto& limits = s.at("limits").as_object();
  CHECK(limits.at("cpu") == 77);
  CHECK(limits.at("nofile") == media::kWorkerMaxFiles);
  CHECK(limits.at("fsize") == 0);
  CHECK(limits.at("core") == 0);
  if (kTestWorkerMemory) CHECK(limits.at("as") == kTestWorkerMemory);
  // Machine-dependent (root or user namespaces): in force, or off with a reason.
  const std::string ns(s.at("namespaces").as_string());
  CHECK((ns.starts_with("net,ipc,mount") || ns.starts_with("off: ")));
}

TEST_CASE("probe, thumbnail, segments and clip work in the sandbox on MP4, MOV, Matroska and AVI", "[media]") {
  TempDir dir;
  for (const auto& f : {footage().mp4, footage().mov, footage().mkv, footage().avi}) {
    INFO(f.filename().string());
    std::string why;
    const auto probe = run_real_worker({{"probe"}, f}, &why);
    INFO(why);
    REQUIRE(probe);
    CHECK(*probe == media::to_json(media::probe(f)));

    const auto segs = run_real_worker({{"segments"}, f});
    REQUIRE(segs);
    CHECK(media::segments_from_json(segs->at("segments")) == media::segment_hashes(f));

    const auto jpg = dir / (f.filename().string() + ".jpg");
    const auto thumb = run_real_worker({{"thumbnail", "160"}, f, jpg});
    REQUIRE(thumb);
    CHECK(read_all(jpg) == media::thumbnail_jpeg(f, 160));

    // Muxers that seek back (MP4's mdat size, Matroska's cues) work on the descriptor.
    const auto out = dir / ("clip-" + f.filename().string());
    const auto cut = run_real_worker({{"clip", "2", "5"}, f, out});
    REQUIRE(cut);
    CHECK_FALSE(cut->as_object().contains("error"));
    const auto mine = dir / ("mine-" + f.filename().string());
    media::clip(f, 2, 5, mine);
    // Byte for byte the in-process clip, but for Matroska's random track UIDs.
    if (f != footage().mkv) CHECK(read_all(out) == read_all(mine));
    CHECK(fs::file_size(out) == Approx(fs::file_size(mine)).epsilon(0.01));
    const auto info = media::probe(out);
    CHECK(info.ok);
    CHECK(info.duration.value_or(0) == Approx(3.0).margin(1.1));
  }
}

TEST_CASE("a clip past the worker's file size limit fails cleanly", "[media]") {
  TempDir dir;
  std::string why;
  const auto cut = run_real_worker({{"clip", "0", "9"}, footage().mp4, dir / "big.mp4", 4096}, &why);
  INFO(why);
  REQUIRE(cut);  // an answer, not a death by SIGXFSZ
  INFO(json::serialize(*cut));
  CHECK(cut->at("code") == "io_error");
  CHECK(fs::file_size(dir / "big.mp4") <= 4096);
}
