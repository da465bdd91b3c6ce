// The daemon's side of the witnessed log (`serve --witness VKEY@URL`), against real
// evidence-witness processes: receipts and GET /log/checkpoint carry the witnesses'
// cosignatures, `evidencectl verify-receipt --witness-key` checks them, a witness that
// is down delays an upload by at most the witness timeout, a restarted daemon learns
// the witness's size from its 409, and a forked copy of the log is refused.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "store/layout.h"
#include "tests/ingest/daemon_fixture.h"
#include "tests/tools/ctl_fixture.h"
#include "verify/cosignature.h"
#include "verify/keys.h"
#include "verify/signed_note.h"

using namespace evidence;
using namespace evidence::test;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

// `evidenced init` by hand, so the log's key is known before the daemon starts with
// its witnesses (which must know that key first).
note::Verifier init_log(const fs::path& data) {
  auto r = run_process({EVIDENCED_PATH, "init", "--data", data.string()});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return load_log_signer(Layout(data)).verifier();
}

// Another institution's witness: its own folder, our log added by its key.
struct WitnessServer {
  fs::path dir;
  std::string vkey;  // cosignature/v1 verifier key
  std::unique_ptr<ServerProcess> server;

  WitnessServer(const fs::path& d, const std::string& name, const note::Verifier& log, bool serve = true) : dir(d) {
    auto init = run_process({EVIDENCE_WITNESS_PATH, "init", "--data", dir.string(), "--name", name});
    INFO(init.err);
    REQUIRE(init.exit_code == 0);
    vkey = init.out.substr(0, init.out.find('\n'));
    auto add = run_process(
        {EVIDENCE_WITNESS_PATH, "add-log", "--data", dir.string(), "--origin", log.name, "--key", log.to_string()});
    INFO(add.err);
    REQUIRE(add.exit_code == 0);
    if (serve) start();
  }
  void start(std::uint16_t port = 0) {
    server = std::make_unique<ServerProcess>(
        std::vector<std::string>{EVIDENCE_WITNESS_PATH, "serve", "--data", dir.string(), "--listen",
                                 "127.0.0.1:" + std::to_string(port)},
        dir.parent_path() / (dir.filename().string() + ".log"));
  }
  std::string arg() const { return vkey + "@" + server->url(); }
  note::Verifier verifier() const { return *note::Verifier::parse(vkey); }
};

json::object upload(const Daemon& d, const std::string& content) {
  auto r = http("POST", d.api("/evidence?officer=o&device=c"), d.admin_token(), content);
  INFO(r.body);
  REQUIRE(r.status == 201);
  return obj(r);
}

std::string checkpoint_of(const json::object& receipt) { return std::string(receipt.at("checkpoint").as_string()); }

std::uint64_t size_of(const std::string& note) {
  const auto text_end = note.find("\n\n");
  return note::Checkpoint::parse(note.substr(0, text_end + 1))->size;
}

std::string metrics(const Daemon& d) {
  auto r = http("GET", d.api("/metrics"), d.admin_token());
  REQUIRE(r.status == 200);
  return r.body;
}

}  // namespace

TEST_CASE("daemon witness: receipts carry two verified cosignatures that verify-receipt requires", "[witness]") {
  TempDir dir;
  const fs::path data = dir.path() / "data";
  const auto log = init_log(data);
  WitnessServer a(dir.path() / "wa", "court.test/w", log), b(dir.path() / "wb", "procuratorate.test/w", log);
  Daemon d(data, {"--witness", a.arg(), "--witness", b.arg(), "--witness-timeout", "3s"});

  const std::string content = random_bytes_string(4096, 7);
  const auto receipt = upload(d, content);
  INFO(json::serialize(receipt));
  REQUIRE(receipt.at("witnessed").as_bool());
  const std::string cp = checkpoint_of(receipt);
  CHECK(note::verify_cosignature(cp, a.verifier()).has_value());
  CHECK(note::verify_cosignature(cp, b.verifier()).has_value());
  CHECK(note::open(cp, log).has_value());
  // The proof is to the checkpoint the receipt carries.
  CHECK(receipt.at("inclusion_proof").at("size").to_number<std::uint64_t>() == size_of(cp));

  // GET /log/checkpoint, without a token, serves it with both cosignatures.
  auto served = http("GET", d.api("/log/checkpoint"));
  REQUIRE(served.status == 200);
  CHECK(note::verify_cosignature(served.body, a.verifier()).has_value());
  CHECK(note::verify_cosignature(served.body, b.verifier()).has_value());
  CHECK(size_of(served.body) >= size_of(cp));

  const fs::path rfile = dir.path() / "receipt.json", file = dir.path() / "item.bin";
  std::ofstream(rfile) << json::serialize(receipt);
  std::ofstream(file, std::ios::binary) << content;
  Ctl ctl(dir.path() / "home");
  auto ok = ctl.run({"verify-receipt", rfile.string(), file.string(), "--log-key", log.to_string(), "--witness-key",
                     a.vkey, "--witness-key", b.vkey, "--quorum", "2"});
  INFO(ok.out << ok.err);
  CHECK(ok.exit_code == 0);
  CHECK(ok.out.find("cosigned by witness court.test/w") != std::string::npos);

  // A key the checkpoint has no cosignature from, or more cosignatures than it has.
  auto other = run_process({EVIDENCE_WITNESS_PATH, "init", "--data", (dir.path() / "wc").string(), "--name", "c.test/w"});
  REQUIRE(other.exit_code == 0);
  const std::string other_key = other.out.substr(0, other.out.find('\n'));
  auto wrong = ctl.run({"verify-receipt", rfile.string(), file.string(), "--log-key", log.to_string(),
                        "--witness-key", a.vkey, "--witness-key", other_key, "--quorum", "2"});
  CHECK(wrong.exit_code == 1);
  CHECK(wrong.err.find("NOT WITNESSED") != std::string::npos);
  // --json says the same as the exit code.
  auto wrong_json = ctl.run({"verify-receipt", rfile.string(), file.string(), "--log-key", log.to_string(), "--json",
                             "--witness-key", a.vkey, "--witness-key", other_key, "--quorum", "2"});
  CHECK(wrong_json.exit_code == 1);
  const auto wj = json::parse(wrong_json.out.substr(0, wrong_json.out.find('\n'))).as_object();
  CHECK(!wj.at("ok").as_bool());
  CHECK(!wj.at("witnessed").as_bool());
  // More than the keys given, or one witness named twice: usage errors, not a verdict.
  auto three = ctl.run({"verify-receipt", rfile.string(), file.string(), "--log-key", log.to_string(),
                        "--witness-key", a.vkey, "--witness-key", b.vkey, "--quorum", "3"});
  CHECK(three.exit_code == 2);
  auto twice = ctl.run({"verify-receipt", rfile.string(), file.string(), "--log-key", log.to_string(),
                        "--witness-key", a.vkey, "--witness-key", a.vkey, "--quorum", "2"});
  CHECK(twice.exit_code == 2);
  CHECK(twice.err.find("twice") != std::string::npos);
  // A log key given as a witness key is a usage error.
  CHECK(ctl.run({"verify-receipt", rfile.string(), file.string(), "--witness-key", log.to_string()}).exit_code == 2);

  const std::string m = metrics(d);
  CHECK(m.find("evidence_witness_cosigned_total{witness=\"court.test/w\"} ") != std::string::npos);
  CHECK(m.find("evidence_witness_cosigned_total{witness=\"procuratorate.test/w\"} 0") == std::string::npos);
  CHECK(m.find("evidence_witness_failures_total{witness=\"court.test/w\"} 0") != std::string::npos);
}

TEST_CASE("daemon witness: a witness that is down gives unwitnessed receipts within the timeout", "[witness]") {
  TempDir dir;
  const fs::path data = dir.path() / "data";
  const auto log = init_log(data);
  WitnessServer up(dir.path() / "wa", "court.test/w", log), down(dir.path() / "wb", "office.test/w", log);
  const std::string down_arg = down.arg();
  REQUIRE(down.server->stop() == 0);  // its port is closed now
  Daemon d(data, {"--witness", up.arg(), "--witness", down_arg, "--witness-timeout", "1s"});

  const auto t0 = std::chrono::steady_clock::now();
  const auto receipt = upload(d, "footage while a witness is down");
  const auto took = std::chrono::steady_clock::now() - t0;
  CHECK(took < std::chrono::milliseconds(1800));  // well under twice the timeout
  REQUIRE(receipt.contains("witnessed"));
  CHECK_FALSE(receipt.at("witnessed").as_bool());
  // The log's own checkpoint, with the proof to it.
  const std::string cp = checkpoint_of(receipt);
  CHECK(note::open(cp, log).has_value());
  CHECK_FALSE(note::verify_cosignature(cp, down.verifier()).has_value());
  CHECK(receipt.at("inclusion_proof").at("size").to_number<std::uint64_t>() == size_of(cp));
  const std::string m = metrics(d);
  CHECK(m.find("evidence_witness_failures_total{witness=\"office.test/w\"} 0") == std::string::npos);
  CHECK(m.find("evidence_witness_failures_total{witness=\"office.test/w\"} ") != std::string::npos);
}

// A witness that takes the connection and never answers: a socket that listens but
// never accepts (the kernel completes the handshake and buffers the request).
struct SilentWitness {
  int fd = -1;
  std::uint16_t port = 0;
  SilentWitness() {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd, 16) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port = ntohs(addr.sin_port);
  }
  ~SilentWitness() { ::close(fd); }
};

TEST_CASE("daemon witness: a witness that never answers delays a receipt by the timeout only", "[witness]") {
  TempDir dir;
  const fs::path data = dir.path() / "data";
  (void)init_log(data);
  SilentWitness silent;
  const std::string wkey = note::cosigner_verifier("slow.test/w", note::Ed25519Key::generate()).to_string();
  Daemon d(data, {"--witness", wkey + "@http://127.0.0.1:" + std::to_string(silent.port), "--witness-timeout", "1s"});
  const auto t0 = std::chrono::steady_clock::now();
  const auto receipt = upload(d, "footage while a witness stalls");
  const auto took = std::chrono::steady_clock::now() - t0;
  CHECK(took < std::chrono::milliseconds(1900));
  CHECK_FALSE(receipt.at("witnessed").as_bool());
  CHECK(receipt.at("inclusion_proof").at("size").to_number<std::uint64_t>() == size_of(checkpoint_of(receipt)));
  // Now known to fail: the next upload does not wait for it at all.
  const auto t1 = std::chrono::steady_clock::now();
  CHECK_FALSE(upload(d, "the next one").at("witnessed").as_bool());
  CHECK(std::chrono::steady_clock::now() - t1 < std::chrono::milliseconds(900));
  CHECK(metrics(d).find("evidence_witness_up{witness=\"slow.test/w\"} 0") != std::string::npos);
}

TEST_CASE("daemon witness: receipts waiting for a silent witness hold no worker, and SIGTERM does not wait for it",
          "[witness]") {
  TempDir dir;
  const fs::path data = dir.path() / "data";
  (void)init_log(data);
  SilentWitness silent;
  const std::string wkey = note::cosigner_verifier("slow.test/w", note::Ed25519Key::generate()).to_string();
  Daemon d(data, {"--witness", wkey + "@http://127.0.0.1:" + std::to_string(silent.port), "--witness-timeout", "8s",
                  "--workers", "2"});
  // Four receipts wait for the witness's first exchange (8 s) at once: more than the
  // two workers. Were they waiting on workers, the GET below would queue behind them.
  std::vector<int> statuses(4, 0);
  std::vector<std::thread> uploads;
  for (int i = 0; i < 4; ++i) {
    uploads.emplace_back([&, i] {
      try {
        statuses[i] = http("POST", d.api("/evidence?officer=o&device=c"), d.admin_token(),
                           "footage " + std::to_string(i))
                          .status;
      } catch (const std::exception&) {
        statuses[i] = -1;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // all four are waiting now
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(http("GET", d.api("/log/checkpoint")).status == 200);  // served on a worker
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(2000));
  // SIGTERM: the waiting receipts answer with the log's own checkpoint and the
  // exchange in flight is cut short, well inside the 8 s timeout.
  const auto t1 = std::chrono::steady_clock::now();
  CHECK(d.stop() == 0);
  CHECK(std::chrono::steady_clock::now() - t1 < std::chrono::milliseconds(4000));
  for (auto& t : uploads) t.join();
  for (int s : statuses) CHECK(s == 201);
}

TEST_CASE("daemon witness: a witness named by host name (localhost) is looked up and cosigns", "[witness]") {
  TempDir dir;
  const fs::path data = dir.path() / "data";
  const auto log = init_log(data);
  WitnessServer w(dir.path() / "w", "court.test/w", log);
  std::string arg = w.arg();
  const auto at = arg.find("127.0.0.1");
  REQUIRE(at != std::string::npos);
  arg.replace(at, std::string("127.0.0.1").size(), "localhost");
  Daemon d(data, {"--witness", arg, "--witness-timeout", "5s"});
  const auto receipt = upload(d, "footage to a witness by name");
  INFO(json::serialize(receipt));
  CHECK(receipt.at("witnessed").as_bool());
  CHECK(note::verify_cosignature(checkpoint_of(receipt), w.verifier()).has_value());
}

// A loopback port nothing listens on now (bound, read, closed).
std::uint16_t free_port() {
  SilentWitness probe;
  return probe.port;
}

TEST_CASE("daemon witness: a witness started later is retried with backoff and catches up", "[witness]") {
  TempDir dir;
  const fs::path data = dir.path() / "data";
  const auto log = init_log(data);
  WitnessServer w(dir.path() / "w", "court.test/w", log, false);
  const std::uint16_t port = free_port();
  Daemon d(data, {"--witness", w.vkey + "@http://127.0.0.1:" + std::to_string(port), "--witness-timeout", "1s"});
  CHECK_FALSE(upload(d, "before the witness runs").at("witnessed").as_bool());
  w.start(port);
  // The daemon tries again on its own (backoff from 250 ms) with the newest checkpoint.
  bool cosigned = false;
  for (int i = 0; i < 50 && !cosigned; ++i) {
    cosigned = note::verify_cosignature(http("GET", d.api("/log/checkpoint")).body, w.verifier()).has_value();
    if (!cosigned) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(cosigned);
  CHECK(upload(d, "after it started").at("witnessed").as_bool());
}

TEST_CASE("daemon witness: bad --witness values stop serve with exit 2", "[witness]") {
  TempDir dir;
  const fs::path data = dir.path() / "data";
  const auto log = init_log(data);
  const std::string wkey = note::cosigner_verifier("w.test/1", note::Ed25519Key::generate()).to_string();
  const std::vector<std::vector<std::string>> bad{
      {"--witness", "no-at-sign"},
      {"--witness", log.to_string() + "@http://127.0.0.1:1"},  // a log key, not a cosigner's
      {"--witness", wkey + "@ftp://127.0.0.1:1"},
      {"--witness", wkey + "@http://127.0.0.1:1", "--witness-quorum", "2"},
      {"--witness", wkey + "@http://127.0.0.1:1", "--witness-quorum", "0"},
      {"--witness-quorum", "1"},  // no witness to count
      {"--witness", wkey + "@http://127.0.0.1:1", "--witness-timeout", "0s"},
      {"--witness", wkey + "@http://127.0.0.1:1", "--witness-timeout", "soon"},
      {"--witness", wkey + "@http://127.0.0.1:1", "--witness", wkey + "@http://127.0.0.1:2"},  // one witness twice
  };
  for (const auto& extra : bad) {
    std::vector<std::string> argv{EVIDENCED_PATH, "serve", "--data", data.string(), "--listen", "127.0.0.1:0"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto r = run_process(argv, {}, {}, 20);
    INFO(extra.back() << ": " << r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("--witness") != std::string::npos);
  }
}

TEST_CASE("daemon witness: a restarted daemon learns the witness's size from its 409 and is cosigned again",
          "[witness]") {
  TempDir dir;
  const fs::path data = dir.path() / "data";
  const auto log = init_log(data);
  WitnessServer w(dir.path() / "w", "court.test/w", log);
  const std::vector<std::string> args{"--witness", w.arg(), "--witness-timeout", "3s"};
  std::uint64_t first_size = 0;
  {
    Daemon d(data, args);
    const auto r = upload(d, "before the restart");
    REQUIRE(r.at("witnessed").as_bool());
    first_size = size_of(checkpoint_of(r));
    REQUIRE(d.stop() == 0);
  }
  // A new process starts each witness at old size 0: only the 409 tells it the size.
  Daemon d(data, args);
  const auto r = upload(d, "after the restart");
  INFO(json::serialize(r) << d.stderr_text());
  CHECK(r.at("witnessed").as_bool());
  const std::string cp = checkpoint_of(r);
  CHECK(size_of(cp) > first_size);
  CHECK(note::verify_cosignature(cp, w.verifier()).has_value());
  // (It may have cosigned a later one too: media work adds entries of its own.)
  const auto held = find_number(metrics(d), R"(evidence_witness_size\{witness="court.test/w"\} (\d+))");
  REQUIRE(held);
  CHECK(*held >= size_of(cp));
}

TEST_CASE("daemon witness: a forked copy of the log is refused by the witness and reported by the monitor",
          "[witness]") {
  TempDir dir;
  const fs::path a_dir = dir.path() / "a", b_dir = dir.path() / "b";
  const auto log = init_log(a_dir);
  WitnessServer w(dir.path() / "w", "court.test/w", log);
  const std::vector<std::string> args{"--witness", w.arg(), "--witness-timeout", "1s"};
  {
    Daemon first(a_dir, args);
    REQUIRE(upload(first, "common history").at("witnessed").as_bool());
    REQUIRE(first.stop() == 0);
  }
  fs::copy(a_dir, b_dir, fs::copy_options::recursive);
  Daemon a(a_dir, args);
  Daemon b(b_dir, args);

  const auto on_a = upload(a, "only on a");
  CHECK(on_a.at("witnessed").as_bool());
  const auto on_b = upload(b, "only on b");
  CHECK_FALSE(on_b.at("witnessed").as_bool());
  const std::string b_cp = checkpoint_of(on_b);
  CHECK(note::open(b_cp, log).has_value());  // the same key signed both histories
  CHECK_FALSE(note::verify_cosignature(b_cp, w.verifier()).has_value());
  CHECK(metrics(b).find("evidence_witness_failures_total{witness=\"court.test/w\"} 0") == std::string::npos);

  Ctl ctl(dir.path() / "home");
  const fs::path state = dir.path() / "monitor.json";
  ctl.server = a.url();
  auto on_a_run = ctl.run({"log", "monitor", "--state", state.string(), "--log-key", log.to_string(),
                           "--witness-key", w.vkey});
  INFO(on_a_run.out << on_a_run.err);
  REQUIRE(on_a_run.exit_code == 0);
  const std::string kept = read_file(state);

  // The sizes of the two logs drift apart (media work adds entries of its own), so B
  // is grown past what the witness holds for A, then asked for its proof from there.
  auto held = http("POST", w.server->url() + "/add-checkpoint", {}, "old 0\n\n" + b_cp);
  REQUIRE(held.status == 409);
  const std::uint64_t witness_size = std::stoull(held.body);
  std::string b_last = b_cp;
  for (int i = 0; i < 20 && size_of(b_last) <= witness_size + 2; ++i) {
    const auto r = upload(b, "more on b " + std::to_string(i));
    CHECK_FALSE(r.at("witnessed").as_bool());
    b_last = checkpoint_of(r);
  }
  REQUIRE(size_of(b_last) > witness_size);
  auto proof = http("GET",
                    b.api("/log/proof/consistency?old=" + std::to_string(witness_size) +
                          "&new=" + std::to_string(size_of(b_last))),
                    b.admin_token());
  REQUIRE(proof.status == 200);
  std::string body = "old " + std::to_string(witness_size) + "\n";
  const json::object proof_json = obj(proof);
  for (const auto& h : proof_json.at("hashes").as_array()) body += std::string(h.as_string()) + "\n";
  // B's history does not extend what the witness cosigned for A: refused, never cosigned.
  auto direct = http("POST", w.server->url() + "/add-checkpoint", {}, body + "\n" + b_last);
  CHECK((direct.status == 422 || direct.status == 409));
  // What B serves as witnessed is at most the common history cosigned at its start.
  const std::string b_served = http("GET", b.api("/log/checkpoint")).body;
  if (note::verify_cosignature(b_served, w.verifier())) CHECK(size_of(b_served) <= witness_size);

  ctl.server = b.url();
  ctl.token = b.admin_token();  // B's consistency proofs need a token
  auto on_b_run = ctl.run({"log", "monitor", "--state", state.string(), "--log-key", log.to_string()});
  INFO(on_b_run.out << on_b_run.err);
  CHECK(on_b_run.exit_code == 1);
  CHECK(on_b_run.err.find("FORK") != std::string::npos);
  CHECK(read_file(state) == kept);
}
