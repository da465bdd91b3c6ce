#include "tools/evidencectl/tus.h"

#include <fcntl.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>
#include <thread>

#include "base/codec.h"
#include "base/timefmt.h"
#include "tools/evidencectl/local_files.h"

namespace evidencectl {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

constexpr const char* kTusVersion = "1.0.0";

fs::path state_file(const TusOptions& o, const fs::path& file) {
  const auto abs = fs::absolute(file).lexically_normal().string();
  return o.state_dir / (evidence::Sha256::of(abs).hex() + ".json");
}

struct State {
  std::string upload_path;
  evidence::ContentId sha256;
};

std::optional<State> load_state(const TusOptions& o, const fs::path& file, const FileIdentity& id) {
  const auto obj = read_json_object(state_file(o, file));
  if (!obj) return std::nullopt;
  const auto* size = obj->if_contains("size");
  const auto* mtime = obj->if_contains("mtime_ns");
  const auto* sha = obj->if_contains("sha256");
  const auto* up = obj->if_contains("upload");
  if (!size || !mtime || !sha || !up || !sha->is_string() || !up->is_string()) return std::nullopt;
  // A file that changed since is a different upload.
  if (size->to_number<std::uint64_t>() != id.size || mtime->to_number<std::int64_t>() != id.mtime_ns)
    return std::nullopt;
  const auto cid = evidence::ContentId::from_hex(std::string(sha->as_string()));
  if (!cid) return std::nullopt;
  return State{std::string(up->as_string()), *cid};
}

void save_state(const TusOptions& o, const fs::path& file, const FileIdentity& id, const State& s,
                const std::string& server) {
  json::object obj{{"file", fs::absolute(file).lexically_normal().string()},
                   {"size", id.size},
                   {"mtime_ns", id.mtime_ns},
                   {"sha256", s.sha256.hex()},
                   {"server", server},
                   {"upload", s.upload_path},
                   {"saved_at", evidence::format_rfc3339(evidence::now_us())}};
  write_file_durably(state_file(o, file), json::serialize(obj) + "\n");
}

// A failure worth another attempt after a pause (network, 5xx, busy, checksum).
struct Retryable : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// The server no longer knows the upload (expired, removed): start a new one.
struct UploadGone : std::runtime_error {
  using std::runtime_error::runtime_error;
};

bool retryable_status(long s) { return s >= 500 || s == 409 || s == 423 || s == 429 || s == 460; }

[[noreturn]] void fail_status(const std::string& what, const Response& r) {
  if (retryable_status(r.status)) throw Retryable(what + ": " + r.describe());
  if (r.status == 404 || r.status == 410) throw UploadGone(what + ": " + r.describe());
  cannot_run(what + ": " + r.describe());
}

std::optional<std::uint64_t> parse_u64(const std::string& s) {
  if (s.empty()) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

// Only the path of the Location is kept: the server may come back on another
// address (a restart on a new port, a different front end) and --server says where.
std::string location_path(const std::string& location) {
  auto u = boost::urls::parse_uri_reference(location);
  if (!u || u->encoded_path().empty())
    cannot_run("the server answered the creation request without a usable Location: '" + location + "'");
  return std::string(u->encoded_path());
}

void pause_before_retry(int attempt, const TusOptions& o) {
  // Exponential backoff from 0.5 s, capped at 30 s, with jitter so that many
  // docking stations behind one outage do not come back in step.
  static thread_local std::mt19937 rng{std::random_device{}()};
  const double base = std::min(30.0, 0.5 * static_cast<double>(1u << std::min(attempt, 6)));
  const double wait = base * std::uniform_real_distribution<double>(0.75, 1.25)(rng);
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(wait);
  while (std::chrono::steady_clock::now() < until) {
    if (o.should_stop && o.should_stop()) cannot_run("stopped; the upload is kept and will resume");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

std::string read_chunk(const fs::path& file, std::uint64_t offset, std::size_t len) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) cannot_run("cannot read " + file.string() + ": " + std::strerror(errno));
  std::string buf(len, '\0');
  std::size_t got = 0;
  while (got < len) {
    const ssize_t n = ::pread(fd, buf.data() + got, len - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      cannot_run("cannot read " + file.string() + " at offset " + std::to_string(offset + got) +
                 (n == 0 ? ": the file got shorter" : std::string(": ") + std::strerror(errno)));
    }
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return buf;
}

}  // namespace

std::string encode_upload_metadata(const UploadMetadata& m, const evidence::ContentId& sha256) {
  auto pair = [](const char* k, const std::string& v) {
    return std::string(k) + " " + evidence::to_base64(evidence::as_bytes(v));
  };
  std::string s = pair("officer", m.officer) + "," + pair("device", m.device) + "," +
                  pair("recorded_at", m.recorded_at) + "," + pair("filename", m.filename) + "," +
                  pair("sha256", sha256.hex());
  if (m.case_number) s += "," + pair("case", *m.case_number);
  return s;
}

TusResult tus_upload(Http& http, const fs::path& file, const UploadMetadata& meta,
                     const TusOptions& o, Progress& progress,
                     const std::optional<evidence::ContentId>& known_sha256) {
  const FileIdentity id = identify(file);
  TusResult res;
  res.size = id.size;
  std::optional<State> state = load_state(o, file, id);
  if (state) {
    res.sha256 = state->sha256;
  } else if (known_sha256) {
    res.sha256 = *known_sha256;
  } else {
    const int p = progress.begin("hashing " + file.filename().string(), id.size);
    res.sha256 = hash_file(file, [&](std::uint64_t n) { progress.update(p, n); });
    progress.end(p);
  }

  const auto should_stop = [&] { return o.should_stop && o.should_stop(); };
  std::uint64_t offset = 0;
  bool offset_known = false;  // false until HEAD or creation says
  int failures = 0;
  int bar = -1;
  bool restarted = false;
  for (;;) {
    try {
      if (!state) {
        Request req;
        req.method = "POST";
        req.target = "/api/v1/uploads";
        req.headers = {{"Tus-Resumable", kTusVersion},
                       {"Upload-Length", std::to_string(id.size)},
                       {"Upload-Metadata", encode_upload_metadata(meta, res.sha256)}};
        Response r;
        try {
          r = http.send(req);
        } catch (const TransportError& e) {
          throw Retryable(e.what());
        }
        if (r.status != 201) fail_status("creating the upload of " + file.string(), r);
        state = State{location_path(r.header("location")), res.sha256};
        save_state(o, file, id, *state, http.server());
        offset = 0;
        offset_known = true;
        if (!r.header("evidence-id").empty()) res.evidence_id = r.header("evidence-id");
      } else if (!offset_known) {
        Request req;
        req.method = "HEAD";
        req.target = state->upload_path;
        req.headers = {{"Tus-Resumable", kTusVersion}};
        Response r;
        try {
          r = http.send(req);
        } catch (const TransportError& e) {
          throw Retryable(e.what());
        }
        if (r.status == 403) throw UploadGone("HEAD " + state->upload_path + ": " + r.describe());
        if (r.status != 200 && r.status != 204) fail_status("HEAD " + state->upload_path, r);
        const auto got = parse_u64(r.header("upload-offset"));
        const auto len = parse_u64(r.header("upload-length"));
        if (!got) cannot_run("HEAD " + state->upload_path + ": no valid Upload-Offset");
        if ((len && *len != id.size) || *got > id.size)
          throw UploadGone("the server's upload " + state->upload_path + " is for a different length");
        offset = *got;
        offset_known = true;
        if (!res.resumed_at) {
          res.resumed_at = *got;
          say("resumed at " + std::to_string(*got) + " bytes: " + file.string());
        }
      }
      res.upload_path = state->upload_path;
      if (bar < 0) bar = progress.begin(file.filename().string(), id.size, offset);

      // Zero-length files complete at creation; still ask once if the answer was lost.
      bool first_patch = true;
      while (offset < id.size || (id.size == 0 && res.evidence_id.empty() && first_patch)) {
        first_patch = false;
        if (should_stop()) cannot_run("stopped; the upload is kept and will resume");
        const auto len = static_cast<std::size_t>(std::min<std::uint64_t>(o.chunk_size, id.size - offset));
        Request req;
        req.method = "PATCH";
        req.target = state->upload_path;
        req.body = read_chunk(file, offset, len);
        const auto digest = evidence::Sha256::of(req.body);
        req.headers = {{"Tus-Resumable", kTusVersion},
                       {"Upload-Offset", std::to_string(offset)},
                       {"Content-Type", "application/offset+octet-stream"},
                       {"Upload-Checksum", "sha256 " + evidence::to_base64(digest.bytes)}};
        req.max_send_bytes_per_s = o.limit_rate;
        const std::uint64_t base = offset;
        req.on_sent = [&](std::uint64_t sent) {
          progress.update(bar, base + sent);
          return !should_stop();
        };
        Response r;
        try {
          r = http.send(req);
        } catch (const TransportError& e) {
          res.bytes_sent += http.last_bytes_sent();
          offset_known = false;  // whatever the server kept, HEAD will say
          if (should_stop()) cannot_run("stopped; the upload is kept and will resume");
          throw Retryable(e.what());
        }
        res.bytes_sent += http.last_bytes_sent();
        if (r.status != 204 && r.status != 200) {
          offset_known = false;
          fail_status("PATCH " + state->upload_path + " at " + std::to_string(base), r);
        }
        const auto now = parse_u64(r.header("upload-offset"));
        if (!now || *now < base || *now > id.size)
          cannot_run("PATCH " + state->upload_path + ": the server answered an invalid Upload-Offset '" +
                     r.header("upload-offset") + "'");
        offset = *now;
        failures = 0;
        progress.update(bar, offset);
        if (!r.header("evidence-id").empty()) res.evidence_id = r.header("evidence-id");
      }
      if (bar >= 0) progress.end(bar);
      return res;
    } catch (const Retryable& e) {
      if (++failures > o.retries) {
        if (bar >= 0) progress.end(bar);
        cannot_run(std::string(e.what()) + "; gave up after " + std::to_string(o.retries) +
                   " retries. The upload is kept: run the same command again to resume.");
      }
      warn("retrying " + file.string() + " (" + std::to_string(failures) + "/" +
           std::to_string(o.retries) + "): " + e.what());
      pause_before_retry(failures, o);
    } catch (const UploadGone& e) {
      if (restarted) cannot_run(e.what());
      restarted = true;
      warn(std::string(e.what()) + "; starting a new upload of " + file.string());
      state.reset();
      offset_known = false;
      res.resumed_at.reset();
      if (bar >= 0) progress.end(bar);
      bar = -1;
    } catch (...) {
      if (bar >= 0) progress.end(bar);
      throw;
    }
  }
}

boost::json::object fetch_receipt(Http& http, const std::string& upload_path, const TusOptions& o) {
  // The server answers once a signed checkpoint covers the ingest entry (about a
  // second); allow for that, and for a flaky network, but not forever.
  int failures = 0;
  std::string last;
  const int max_attempts = std::max(o.retries, 8);
  for (;;) {
    Request req;
    req.target = upload_path;
    req.headers = {{"Accept", "application/json"}, {"Tus-Resumable", kTusVersion}};
    try {
      const Response r = http.send(req);
      if (r.status == 200) {
        const auto v = r.json();
        if (v.is_object() && v.as_object().contains("evidence_id") &&
            v.as_object().contains("inclusion_proof") && v.as_object().contains("checkpoint"))
          return v.as_object();
        last = "the receipt is not complete yet";
      } else if (r.status == 202 || r.status == 404 || r.status == 409 || r.status == 425 ||
                 r.status >= 500) {
        last = r.describe();
      } else {
        cannot_run("GET " + upload_path + " (the receipt): " + r.describe());
      }
    } catch (const TransportError& e) {
      last = e.what();
    }
    if (++failures > max_attempts)
      cannot_run("no receipt for " + upload_path + ": " + last +
                 ". The upload is complete; run the same command again to fetch the receipt.");
    pause_before_retry(std::min(failures, 3), o);
  }
}

void forget_upload(const TusOptions& o, const fs::path& file) {
  std::error_code ec;
  fs::remove(state_file(o, file), ec);
}

}  // namespace evidencectl
