// evidencectl dock --watch DIR: a docking station. Recorders drop files into DIR; each
// file that is complete (its size and mtime unchanged across two polls, or renamed
// into DIR) is uploaded, its receipt verified against the local bytes, and only then
// is the original moved to DIR/uploaded/ (or deleted). Receipts go to DIR/receipts/.
//
// Restarts never upload the same content twice: DIR/.evidencectl/ledger.jsonl lists
// the SHA-256 of every file whose receipt verified (written before the original is
// moved), and DIR/.evidencectl/uploads/ keeps tus state for a transfer cut short.
#include <fcntl.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <set>
#include <thread>

#include "base/timefmt.h"
#include "tools/evidencectl/cli.h"
#include "tools/evidencectl/local_files.h"
#include "tools/evidencectl/upload_job.h"

namespace evidencectl {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

struct DockArgs {
  std::string watch, officer, device, case_number, chunk_size = "8M", limit_rate, tsa_ca, log_key;
  double interval = 2.0;
  int retries = 10;
  bool delete_after = false;
  bool once = false;
};

// Names a recorder or copier uses while a file is still being written.
bool ignored_name(const std::string& name) {
  if (name.empty() || name[0] == '.') return true;
  for (const char* suffix : {".part", ".partial", ".tmp", ".crdownload", ".receipt.json"}) {
    const std::string s = suffix;
    if (name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) return true;
  }
  return false;
}

// A name in `dir` not yet taken: NAME, else NAME.1, NAME.2 ... before the extension.
fs::path free_name(const fs::path& dir, const std::string& name, const std::string& suffix = {}) {
  fs::path p = dir / (name + suffix);
  for (int i = 1; fs::exists(p); ++i) p = dir / (name + "." + std::to_string(i) + suffix);
  return p;
}

void fsync_dir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

class Ledger {
 public:
  explicit Ledger(fs::path file) : file_(std::move(file)) {
    std::error_code ec;
    if (!fs::exists(file_, ec)) return;
    const std::string text = read_small_file(file_);
    std::size_t start = 0;
    while (start < text.size()) {
      auto end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();  // a torn last line is ignored below
      boost::system::error_code jec;
      const auto v = json::parse(std::string_view(text).substr(start, end - start), jec);
      if (!jec && v.is_object()) {
        const auto* sha = v.as_object().if_contains("sha256");
        const auto* id = v.as_object().if_contains("evidence_id");
        if (sha && sha->is_string() && id && id->is_string())
          done_[std::string(sha->as_string())] = std::string(id->as_string());
      }
      start = end + 1;
    }
  }

  std::optional<std::string> find(const std::string& sha256) const {
    const auto it = done_.find(sha256);
    if (it == done_.end()) return std::nullopt;
    return it->second;
  }

  // Appended and fsynced before the original file is moved or deleted.
  void add(const std::string& sha256, const std::string& evidence_id, const std::string& name,
           const fs::path& receipt) {
    const json::object o{{"sha256", sha256},
                         {"evidence_id", evidence_id},
                         {"file", name},
                         {"receipt", receipt.string()},
                         {"at", evidence::format_rfc3339(evidence::now_us())}};
    const std::string line = json::serialize(o) + "\n";
    const int fd = ::open(file_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) cannot_run("cannot open the ledger " + file_.string() + ": " + std::strerror(errno));
    const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) cannot_run("cannot append to the ledger " + file_.string());
    fsync_dir(file_.parent_path());
    done_[sha256] = evidence_id;
  }

 private:
  fs::path file_;
  std::map<std::string, std::string> done_;
};

struct Seen {
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  bool renamed_in = false;
};

class Dock {
 public:
  Dock(const Globals& g, const DockArgs& a) : g_(g), a_(a), dir_(a.watch), http_(g) {
    fs::create_directories(dir_ / ".evidencectl" / "uploads");
    fs::create_directories(dir_ / "receipts");
    if (!a_.delete_after) fs::create_directories(dir_ / "uploaded");
    ledger_.emplace(dir_ / ".evidencectl" / "ledger.jsonl");
    tus_.chunk_size = parse_size(a_.chunk_size);
    if (tus_.chunk_size == 0) cannot_run("--chunk-size must be positive");
    tus_.retries = a_.retries;
    tus_.limit_rate = a_.limit_rate.empty() ? 0 : static_cast<std::int64_t>(parse_size(a_.limit_rate));
    tus_.state_dir = dir_ / ".evidencectl" / "uploads";
    tus_.should_stop = stop_requested;
    if (!a_.tsa_ca.empty()) trust_.tsa_ca_pem = read_pem_file(a_.tsa_ca);
    if (!a_.log_key.empty()) trust_.log_key = a_.log_key;
    inotify_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (inotify_ >= 0 && ::inotify_add_watch(inotify_, dir_.c_str(), IN_MOVED_TO) < 0) {
      ::close(inotify_);
      inotify_ = -1;
    }
    if (inotify_ < 0) log_step("dock: no inotify; relying on size-stable polls only");
  }
  ~Dock() {
    if (inotify_ >= 0) ::close(inotify_);
  }

  int run() {
    log_step("dock: watching " + dir_.string() + " as officer " + a_.officer + ", device " + a_.device +
             (a_.once ? " (one pass)" : ""));
    if (a_.once) {
      // One pass still needs two looks at each file to know it stopped growing.
      poll();
      sleep_interval();
      poll();
      for (const auto& [name, s] : seen_)
        if (!failed_.count(name)) log_step("dock: " + name + " is still changing; left for the next run");
      return worst_;
    }
    while (!stop_requested()) {
      poll();
      sleep_interval();
    }
    log_step("dock: stopping");
    return worst_;
  }

 private:
  void sleep_interval() {
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(a_.interval);
    while (std::chrono::steady_clock::now() < until && !stop_requested())
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }

  void read_events() {
    if (inotify_ < 0) return;
    alignas(inotify_event) char buf[8192];
    for (;;) {
      const ssize_t n = ::read(inotify_, buf, sizeof buf);
      if (n <= 0) return;
      for (ssize_t off = 0; off < n;) {
        const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
        if ((ev->mask & IN_MOVED_TO) && ev->len > 0) renamed_.insert(ev->name);
        off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
      }
    }
  }

  void poll() {
    read_events();
    std::set<std::string> present;
    std::vector<std::string> ready;
    for (const auto& entry : fs::directory_iterator(dir_)) {
      const std::string name = entry.path().filename().string();
      std::error_code ec;
      if (!entry.is_regular_file(ec) || ignored_name(name)) continue;
      present.insert(name);
      if (failed_.count(name)) continue;
      FileIdentity id;
      try {
        id = identify(entry.path());
      } catch (const Failure&) {
        continue;  // vanished between listing and stat
      }
      const auto it = seen_.find(name);
      const bool renamed = renamed_.erase(name) > 0;
      const bool stable = it != seen_.end() && it->second.size == id.size && it->second.mtime_ns == id.mtime_ns;
      if (!(stable || renamed)) {
        if (it == seen_.end()) log_step("dock: found " + name + " (" + std::to_string(id.size) + " bytes); waiting until it stops changing");
        seen_[name] = Seen{id.size, id.mtime_ns, false};
        continue;
      }
      log_step("dock: " + name + " is complete (" + std::to_string(id.size) + " bytes, " +
               (renamed ? "renamed into place" : "size stable") + ")");
      seen_.erase(name);
      ready.push_back(name);
    }
    // Processed after the listing: processing moves files out of the folder.
    for (const auto& name : ready) {
      if (stop_requested()) return;
      process(name);
    }
    for (auto it = seen_.begin(); it != seen_.end();)
      it = present.count(it->first) ? std::next(it) : seen_.erase(it);
  }

  void note_result(int code) {
    if (code == kProblems || (code == kCannotRun && worst_ == kOk)) worst_ = code;
  }

  fs::path receipt_path_for(const std::string& name, const std::string& sha256) {
    // Reuse a receipt left for this very content by an interrupted run.
    for (fs::path p = dir_ / "receipts" / (name + ".receipt.json");; ) {
      if (!fs::exists(p)) return p;
      const auto old = read_json_object(p);
      const auto* s = old ? old->if_contains("sha256") : nullptr;
      if (s && s->is_string() && s->as_string() == sha256) return p;
      return free_name(dir_ / "receipts", name, ".receipt.json");
    }
  }

  void finish_original(const std::string& name) {
    const fs::path src = dir_ / name;
    if (a_.delete_after) {
      fs::remove(src);
      fsync_dir(dir_);
      log_step("dock: " + name + ": deleted the original (its receipt verified)");
      return;
    }
    const fs::path dst = free_name(dir_ / "uploaded", name);
    fs::rename(src, dst);
    fsync_dir(dst.parent_path());
    fsync_dir(dir_);
    log_step("dock: " + name + ": moved to " + dst.string());
  }

  void process(const std::string& name) {
    const fs::path file = dir_ / name;
    try {
      log_step("dock: " + name + ": hashing");
      const auto digest = hash_file(file);
      const std::string sha = digest.hex();
      if (const auto id = ledger_->find(sha)) {
        log_step("dock: " + name + ": already uploaded as " + *id + " (sha256 " + sha +
                 " in the ledger); not uploading again");
        finish_original(name);
        return;
      }
      UploadMetadata meta;
      meta.officer = a_.officer;
      meta.device = a_.device;
      meta.filename = name;
      meta.recorded_at = mtime_rfc3339(file);
      if (!a_.case_number.empty()) meta.case_number = a_.case_number;
      const fs::path receipt = receipt_path_for(name, sha);
      log_step("dock: " + name + ": uploading (sha256 " + sha + ")");
      Progress progress(false);
      const auto out = upload_and_verify(http_, file, meta, receipt, tus_, trust_, progress, digest);
      note_result(out.code);
      if (out.code == kOk) {
        log_step("dock: " + name + ": uploaded as " + out.evidence_id + "; receipt verified: " + receipt.string());
        ledger_->add(out.sha256, out.evidence_id, name, receipt);
        finish_original(name);
      } else if (out.code == kProblems) {
        failed_.insert(name);
        log_step("dock: " + name + ": " + out.message + "; the original stays in place");
      } else {
        log_step("dock: " + name + ": not uploaded: " + out.message + " (will retry)");
      }
    } catch (const Failure& f) {
      note_result(f.code());
      log_step("dock: " + name + ": " + f.what() + " (will retry)");
    } catch (const std::exception& e) {
      note_result(kCannotRun);
      log_step("dock: " + name + ": " + e.what() + " (will retry)");
    }
  }

  const Globals& g_;
  const DockArgs& a_;
  fs::path dir_;
  Http http_;
  std::optional<Ledger> ledger_;
  TusOptions tus_;
  TrustOptions trust_;
  int inotify_ = -1;
  std::map<std::string, Seen> seen_;
  std::set<std::string> renamed_;
  std::set<std::string> failed_;  // receipts that did not verify: left for a person
  int worst_ = kOk;
};

int run_dock(const Globals& g, const DockArgs& a) {
  if (!fs::is_directory(a.watch)) cannot_run("--watch " + a.watch + " is not a folder");
  if (g.server.empty()) cannot_run("no server: pass --server URL or set EVIDENCE_SERVER");
  if (g.token.empty()) cannot_run("no token: pass --token or set EVIDENCE_TOKEN");
  if (a.interval <= 0) cannot_run("--interval must be positive");
  install_stop_signals();
  Dock dock(g, a);
  return dock.run();
}

}  // namespace

void add_dock(CLI::App& app, Globals& g, Runner& run) {
  auto a = std::make_shared<DockArgs>();
  auto* sub = app.add_subcommand("dock", "Docking station: upload every complete file dropped into a folder");
  sub->add_option("--watch", a->watch, "Folder the recorders' files arrive in")->required();
  sub->add_option("--officer", a->officer, "Officer the footage belongs to")->required();
  sub->add_option("--device", a->device, "Recorder or station id")->required();
  sub->add_option("--case", a->case_number, "Case number to link at ingest");
  sub->add_flag("--delete-after", a->delete_after, "Delete originals once their receipts verify (default: move to DIR/uploaded/)");
  sub->add_flag("--once", a->once, "Process what is there now, then exit");
  sub->add_option("--interval", a->interval, "Seconds between polls")->capture_default_str();
  sub->add_option("--chunk-size", a->chunk_size, "Bytes per PATCH (e.g. 8M)")->capture_default_str();
  sub->add_option("--limit-rate", a->limit_rate, "Upper bound on the send rate, bytes/s");
  sub->add_option("--retries", a->retries, "Consecutive failures before a file waits for the next poll")->capture_default_str();
  sub->add_option("--tsa-ca", a->tsa_ca, "PEM of the TSA CA")->check(CLI::ExistingFile);
  sub->add_option("--log-key", a->log_key, "C2SP verifier key of the custody log");
  sub->callback([&g, &run, a] { run = [&g, a] { return run_dock(g, *a); }; });
}

}  // namespace evidencectl
