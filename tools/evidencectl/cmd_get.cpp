// evidencectl get ID [-o FILE]: download an item's content and check it against its
// record's SHA-256 before it is given its name.
#include <boost/json.hpp>

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
  PartFile file(out);
  evidence::Sha256 h;
  std::uint64_t got = 0;
  Request req;
  req.target = "/api/v1/evidence/" + encode_segment(id) + "/content";
  req.sink = [&](std::span<const char> data) {
    h.update(std::string_view(data.data(), data.size()));
    got += data.size();
    return file.write(data);
  };
  const Response r = http.send(req);
  if (r.status != 200) cannot_run("GET " + req.target + ": " + r.describe());
  const auto digest = h.finish();
  if (digest != *want) {
    warn("evidencectl: the content of " + id + " hashes to " + digest.hex() + " but its record says " +
         want->hex() + "; nothing was kept");
    return kProblems;
  }
  file.keep();
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
