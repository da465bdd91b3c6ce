// evidencectl export CASE -o FILE: download a case's bundle (tar).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "tools/evidencectl/cli.h"
#include "tools/evidencectl/http.h"
#include "tools/evidencectl/local_files.h"

namespace evidencectl {
namespace fs = std::filesystem;

namespace {

int run_export(const Globals& g, const std::string& case_number, const fs::path& out) {
  Http http(g);
  if (fs::exists(out)) cannot_run(out.string() + " exists; choose another name with -o");
  const fs::path tmp = out.string() + ".part";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) cannot_run("cannot write " + tmp.string() + ": " + std::strerror(errno));
  std::uint64_t got = 0;
  Request req;
  req.target = "/api/v1/cases/" + encode_segment(case_number) + "/export";
  req.sink = [&](std::span<const char> data) {
    std::size_t off = 0;
    while (off < data.size()) {
      const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return false;
      off += static_cast<std::size_t>(n);
    }
    got += data.size();
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
  if (r.status != 200 || !synced) {
    ::unlink(tmp.c_str());
    cannot_run(r.status != 200 ? "GET " + req.target + ": " + r.describe() : "cannot write " + tmp.string());
  }
  // A bundle is a tar; a JSON answer with 200 is not one (an older server, a wrong route).
  if (r.header("content-type").rfind("application/json", 0) == 0) {
    const auto text = read_small_file(tmp);
    ::unlink(tmp.c_str());
    cannot_run("the server sent JSON, not a bundle: " + text.substr(0, 200));
  }
  fs::rename(tmp, out);
  say("saved the bundle of case " + case_number + " to " + out.string() + " (" + std::to_string(got) +
      " bytes); check it with: evidencectl verify-bundle " + out.string());
  return kOk;
}

}  // namespace

void add_export(CLI::App& app, Globals& g, Runner& run) {
  auto c = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto* sub = app.add_subcommand("export", "Download a case's evidence bundle (tar)");
  sub->add_option("case", *c, "Case number")->required();
  sub->add_option("-o,--output", *out, "Bundle file to write")->required();
  sub->callback([&g, &run, c, out] { run = [&g, c, out] { return run_export(g, *c, *out); }; });
}

}  // namespace evidencectl
