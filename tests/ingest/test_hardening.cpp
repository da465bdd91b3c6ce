// Hardening (DESIGN.md "Hardening"), against the real daemon: a flood of idle sockets
// cannot lock out an uploader, one daemon per data directory, no plain HTTP on a
// reachable address, content that a browser could run is sent as an attachment in a
// sandbox, whole-store audits one at a time, and exports bounded.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <thread>

#include <lmdb.h>

#include "tests/ingest/daemon_fixture.h"
#include "tests/ingest/raw_client.h"

using namespace evidence;
using namespace evidence::test;

TEST_CASE("1,100 idle sockets do not stop a new client from uploading", "[daemon][hardening]") {
  TempDir dir;
  Daemon d(dir.path() / "data", {"--header-timeout", "120"});
  std::vector<std::unique_ptr<RawConnection>> idle;  // connected, sending nothing
  for (int i = 0; i < 1100; ++i) idle.push_back(std::make_unique<RawConnection>(d.url()));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // all accepted (or refused)
  const std::string body = random_bytes_string(100000, 3);
  auto r = http("POST", d.api("/evidence?officer=Flood&device=cam"), d.admin_token(), body);
  CHECK(r.status == 201);
  CHECK(http("GET", d.api("/healthz")).status == 200);
  idle.clear();
  CHECK(d.stop() == 0);
}

TEST_CASE("a second serve on one data directory exits 2 and the first keeps serving", "[daemon][hardening]") {
  TempDir dir;
  Daemon d(dir.path() / "data");
  auto second = run_process({EVIDENCED_PATH, "serve", "--data", d.data_dir().string(), "--listen", "127.0.0.1:0"}, {},
                            {}, 30);
  CHECK(second.exit_code == 2);
  CHECK(second.err.find("already served") != std::string::npos);
  CHECK(http("GET", d.api("/healthz")).status == 200);
  // evidenced verify still reads alongside.
  auto verify = run_process({EVIDENCED_PATH, "verify", "--data", d.data_dir().string()});
  CHECK(verify.exit_code == 0);
  CHECK(d.stop() == 0);
  // Once it has stopped, the lock is free again.
  d.start();
  CHECK(http("GET", d.api("/healthz")).status == 200);
}

TEST_CASE("serve refuses a folder that is not a data directory, and plain HTTP on a reachable address",
          "[daemon][hardening]") {
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "empty");
  auto empty = run_process({EVIDENCED_PATH, "serve", "--data", (dir.path() / "empty").string(), "--listen",
                            "127.0.0.1:0"}, {}, {}, 30);
  CHECK(empty.exit_code == 2);
  CHECK(empty.err.find("not an evidence data directory") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir.path() / "empty" / "index"));  // nothing created

  REQUIRE(run_process({EVIDENCED_PATH, "init", "--data", (dir.path() / "data").string()}).exit_code == 0);
  auto plain = run_process({EVIDENCED_PATH, "serve", "--data", (dir.path() / "data").string(), "--listen",
                            "0.0.0.0:0"}, {}, {}, 30);
  CHECK(plain.exit_code == 2);
  CHECK(plain.err.find("--allow-plain-http") != std::string::npos);
  // Usage errors are 2, never CLI11's own codes.
  CHECK(run_process({EVIDENCED_PATH, "serve", "--no-such-flag"}).exit_code == 2);
  CHECK(run_process({EVIDENCED_PATH, "serve"}).exit_code == 2);
  CHECK(run_process({EVIDENCED_PATH, "bogus"}).exit_code == 2);
  CHECK(run_process({EVIDENCED_PATH, "--help"}).exit_code == 0);
  // With the flag, loopback-only tests still cannot reach 0.0.0.0 from elsewhere; it
  // starts (and is stopped at once).
  Daemon d(dir.path() / "data", {"--allow-plain-http"});
  CHECK(http("GET", d.api("/healthz")).status == 200);
}

TEST_CASE("content a browser could run is an attachment, and every content answer is sandboxed",
          "[daemon][hardening]") {
  TempDir dir;
  Daemon d(dir.path() / "data");
  struct Case {
    std::string filename;
    bool attachment;
  };
  for (const Case& c : {Case{"page.html", true}, Case{"pic.svg", true}, Case{"feed.xml", true},
                        Case{"blob.bin", true}, Case{"noext", true}, Case{"clip.mp4", false},
                        Case{"notes.txt", false}, Case{"photo.jpg", false}}) {
    INFO(c.filename);
    auto up = http("POST", d.api("/evidence?officer=Lee&device=cam&filename=" + c.filename), d.admin_token(),
                   "<html><script>alert(1)</script></html>" + c.filename);
    REQUIRE(up.status == 201);
    const std::string id(obj(up).at("evidence_id").as_string());
    auto r = http("GET", d.api("/evidence/" + id + "/content"), d.admin_token());
    REQUIRE(r.status == 200);
    CHECK(r.header("x-content-type-options") == "nosniff");
    CHECK(r.header("content-security-policy") == "sandbox");
    const std::string disp = r.header("content-disposition");
    if (c.attachment) {
      CHECK(disp.rfind("attachment", 0) == 0);
    } else {
      CHECK(disp.empty());
    }
  }
  // The file name is data in the header too: percent-encoded, never raw.
  auto up = http("POST", d.api("/evidence?officer=Lee&device=cam&filename=%E6%A1%88%22%3B.html"), d.admin_token(),
                 "x");
  REQUIRE(up.status == 201);
  auto r = http("GET", d.api("/evidence/" + std::string(obj(up).at("evidence_id").as_string()) + "/content"),
                d.admin_token());
  CHECK(r.header("content-disposition") == "attachment; filename*=UTF-8''%E6%A1%88%22%3B.html");
  CHECK(d.stop() == 0);
}

TEST_CASE("a second whole-store audit gets 429 busy while uploads go on", "[daemon][hardening]") {
  TempDir dir;
  Daemon d(dir.path() / "data");
  // Enough content that one whole-store audit takes a while to re-hash.
  const std::string big = random_bytes_string(128u << 20, 4);
  for (int i = 0; i < 4; ++i) {
    REQUIRE(http("POST", d.api("/evidence?officer=Lee&device=cam"), d.admin_token(), big + std::to_string(i)).status ==
            201);
  }
  auto first = std::async(std::launch::async, [&] {
    return http("POST", d.api("/verify"), d.admin_token(), R"({"scope":"all"})");
  });
  HttpResponse second;
  // Only while the first runs: a second started after it ended would rightly succeed.
  while (first.wait_for(std::chrono::milliseconds(5)) != std::future_status::ready) {
    second = http("POST", d.api("/verify"), d.admin_token(), R"({"scope":"all"})");
    if (second.status == 429) break;
  }
  CHECK(second.status == 429);
  CHECK(obj(second).at("error").as_string() == "busy");
  CHECK(!second.header("retry-after").empty());
  // Uploads are not held up by the audit (their commits run on other threads).
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(http("POST", d.api("/evidence?officer=Lee&device=cam"), d.admin_token(), "during the audit").status == 201);
  const double upload_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto done = first.get();
  CHECK(done.status == 200);
  INFO("an upload took " << upload_s << " s during the audit");
  CHECK(upload_s < 5.0);
  // Once it has ended, the next one runs.
  CHECK(http("POST", d.api("/verify"), d.admin_token(), R"({"scope":"all"})").status == 200);
  CHECK(d.stop() == 0);
}

TEST_CASE("exports beyond --max-exports get 429 busy", "[daemon][hardening]") {
  TempDir dir;
  Daemon d(dir.path() / "data", {"--max-exports", "1"});
  const std::string big = random_bytes_string(16u << 20, 5);
  for (int i = 0; i < 3; ++i) {
    REQUIRE(http("POST", d.api("/evidence?officer=Lee&device=cam&case=EXP-1"), d.admin_token(),
                 big + std::to_string(i))
                .status == 201);
  }
  // An export whose reader takes nothing holds its slot until the bundle is sent.
  auto stalled = std::make_unique<RawConnection>(d.url());
  stalled->send("GET /api/v1/cases/EXP-1/export HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + d.admin_token() +
                "\r\n\r\n");
  // Its answer has begun (the header is here, the bundle fills the socket): it holds the slot.
  REQUIRE(stalled->read_until("\r\n\r\n").rfind("HTTP/1.1 200", 0) == 0);
  const HttpResponse second = http("GET", d.api("/cases/EXP-1/export"), d.admin_token());
  CHECK(second.status == 429);
  CHECK(obj(second).at("error").as_string() == "busy");
  CHECK(!second.header("retry-after").empty());
  stalled.reset();  // the stalled export ends, and its slot comes back
  bool ok = false;
  for (int i = 0; i < 100 && !ok; ++i) {
    ok = http("GET", d.api("/cases/EXP-1/export"), d.admin_token()).status == 200;
    if (!ok) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(ok);
  CHECK(d.stop() == 0);
}

TEST_CASE("a non-standard status carries a reason phrase", "[daemon][hardening]") {
  TempDir dir;
  Daemon d(dir.path() / "data");
  auto created = http("POST", d.api("/uploads"), d.admin_token(), "",
                      {{"Tus-Resumable", "1.0.0"},
                       {"Upload-Length", "3"},
                       {"Upload-Metadata", "officer " + b64("Lee") + ",device " + b64("cam")}});
  REQUIRE(created.status == 201);
  RawConnection c(d.url());
  c.send("PATCH " + created.header("location") + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                          d.admin_token() +
                          "\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n"
                          "Upload-Checksum: sha1 " + b64("01234567890123456789") +
                          "\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc");
  const std::string got = c.read_until_close();
  CHECK(got.rfind("HTTP/1.1 460 Checksum Mismatch\r\n", 0) == 0);
  CHECK(d.stop() == 0);
}

TEST_CASE("reader slots of a process killed mid-read are freed by the daemon", "[daemon][hardening]") {
  TempDir dir;
  Daemon d(dir.path() / "data");
  REQUIRE(http("POST", d.api("/evidence?officer=Lee&device=cam"), d.admin_token(), "x").status == 201);
  // Processes that open the index read-only: `with_read` dies inside a read
  // transaction, as a killed `evidenced verify` would; otherwise it only keeps the
  // environment open (so the restarted daemon is not its first opener, which LMDB
  // would take as a reason to reset the reader table by itself) until it is killed.
  const auto dir_index = d.data_dir() / "index";
  auto reader = [&dir_index](bool with_read) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      MDB_env* env = nullptr;
      MDB_txn* txn = nullptr;
      if (mdb_env_create(&env) == 0 && mdb_env_set_maxdbs(env, 64) == 0 &&
          mdb_env_open(env, dir_index.c_str(), MDB_RDONLY | MDB_NOTLS, 0) == 0) {
        if (!with_read) {
          for (;;) ::pause();
        }
        if (mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn) == 0) ::raise(SIGKILL);
      }
      ::_exit(3);
    }
    return pid;
  };
  const pid_t holder = reader(false);
  const pid_t child = reader(true);
  int status = 0;
  ::waitpid(child, &status, 0);
  REQUIRE(WIFSIGNALED(status));
  // mdb_stat -r lists the reader table, a slot a line: "pid thread txnid".
  const std::string pid = " " + std::to_string(child) + " ";
  auto listed = [&] {
    return run_process({"/usr/bin/env", "mdb_stat", "-r", (d.data_dir() / "index").string()}).out.find(pid) != std::string::npos;
  };
  REQUIRE(listed());  // the dead reader holds its slot
  // The daemon frees it when it opens the index (and its sweeper once a minute).
  CHECK(d.stop() == 0);
  d.start();
  CHECK_FALSE(listed());
  ::kill(holder, SIGKILL);
  ::waitpid(holder, &status, 0);
  CHECK(d.stop() == 0);
}
