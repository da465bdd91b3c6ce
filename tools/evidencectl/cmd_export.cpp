// evidencectl export CASE -o FILE: download a case's bundle (tar).
#include "tools/evidencectl/cli.h"
#include "tools/evidencectl/http.h"
#include "tools/evidencectl/local_files.h"

namespace evidencectl {
namespace fs = std::filesystem;

namespace {

int run_export(const Globals& g, const std::string& case_number, const fs::path& out) {
  Http http(g);
  PartFile file(out);
  std::uint64_t got = 0;
  Request req;
  req.target = "/api/v1/cases/" + encode_segment(case_number) + "/export";
  req.sink = [&](std::span<const char> data) {
    got += data.size();
    return file.write(data);
  };
  const Response r = http.send(req);
  if (r.status != 200) cannot_run("GET " + req.target + ": " + r.describe());
  // A bundle is a tar; a JSON answer with 200 is not one (an older server, a wrong route).
  if (r.header("content-type").rfind("application/json", 0) == 0) {
    cannot_run("the server sent JSON, not a bundle: " + read_small_file(file.part()).substr(0, 200));
  }
  file.keep();
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
