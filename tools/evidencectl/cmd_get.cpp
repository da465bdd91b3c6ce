// evidencectl get ID [-o FILE]: download an item's content and check it against its
// record's SHA-256 before it is given its name.
#include <fcntl.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>

#include "store/content_id.h"
#include "tools/evidencectl/cli.h"
#include "tools/evidencectl/http.h"
#include "tools/evidencectl/local_files.h"

namespace evidencectl {
namespace fs = std::filesystem;

namespace {

// A name for the download from the record's filename: its last component only
// (a server's filename is data, never a path we follow).
std::string safe_name(const std::string& filename, const std::string& id) {
  const std::string base = fs::path(filename).filename().string();
  if (base.empty() || base == "." || base == "..") return id;
  return base;
}

int run_get(const Globals& g, const std::string& id, std::string out_arg) {
  Http http(g);
  const auto rec = http.get_json("/api/v1/evidence/" + encode_segment(id));
  if (!rec.is_object()) cannot_run("the record of " + id + " is not a JSON object");
  const auto* sha = rec.as_object().if_contains("sha256");
  const auto want = sha && sha->is_string() ? evidence::ContentId::from_hex(std::string(sha->as_string())) : std::nullopt;
  if (!want) cannot_run("the record of " + id + " has no valid sha256");
  if (out_arg.empty()) {
    const auto* fn = rec.as_object().if_contains("filename");
    out_arg = safe_name(fn && fn->is_string() ? std::string(fn->as_string()) : std::string{}, id);
  }
  const fs::path out = out_arg;
  if (fs::exists(out)) cannot_run(out.string() + " exists; choose another name with -o");
  const fs::path tmp = out.string() + ".part";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) cannot_run("cannot write " + tmp.string() + ": " + std::strerror(errno));

  evidence::Sha256 h;
  std::uint64_t got = 0;
  bool write_failed = false;
  Request req;
  req.target = "/api/v1/evidence/" + encode_segment(id) + "/content";
  req.sink = [&](std::span<const char> data) {
    h.update(std::string_view(data.data(), data.size()));
    got += data.size();
    std::size_t off = 0;
    while (off < data.size()) {
      const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        write_failed = true;
        return false;
      }
      off += static_cast<std::size_t>(n);
    }
    return true;
  };
  Response r;
  try {
    r = http.send(req);
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (r.status != 200) {
    ::unlink(tmp.c_str());
    cannot_run("GET " + req.target + ": " + r.describe());
  }
  if (write_failed || !synced) {
    ::unlink(tmp.c_str());
    cannot_run("cannot write " + tmp.string());
  }
  const auto digest = h.finish();
  if (digest != *want) {
    ::unlink(tmp.c_str());
    warn("evidencectl: the content of " + id + " hashes to " + digest.hex() + " but its record says " +
         want->hex() + "; nothing was kept");
    return kProblems;
  }
  fs::rename(tmp, out);
  say("saved " + id + " to " + out.string() + " (" + std::to_string(got) + " bytes, sha256 " + digest.hex() +
      " as recorded)");
  return kOk;
}

}  // namespace

void add_get(CLI::App& app, Globals& g, Runner& run) {
  auto id = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto* sub = app.add_subcommand("get", "Download an item's content, checked against its record");
  sub->add_option("id", *id, "Evidence id")->required();
  sub->add_option("-o,--output", *out, "Where to save it (default: the record's file name)");
  sub->callback([&g, &run, id, out] { run = [&g, id, out] { return run_get(g, *id, *out); }; });
}

}  // namespace evidencectl
