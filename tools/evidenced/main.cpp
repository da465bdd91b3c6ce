// evidenced: the evidence ingestion daemon (init, serve, verify).
#include <iostream>
#include <string>
#include <vector>

#include "tools/evidenced/commands.h"
#include "verify/media/worker.h"

int main(int argc, char** argv) {
  // Hidden: the daemon runs its media work (probe, thumbnail, segments, clip) in a child
  // process of itself, with a timeout, resource limits and a sandbox (verify/media/worker.h,
  // verify/media/sandbox.h).
  if (argc > 1 && std::string(argv[1]) == "media-worker") return evidence::media::media_worker_main(argc - 1, argv + 1);
  CLI::App app{"evidenced: evidence ingestion daemon"};
  app.require_subcommand(1);
  std::vector<std::pair<CLI::App*, std::function<int()>>> commands;
  auto init = evidence::cli::add_init(app);
  auto serve = evidence::cli::add_serve(app);
  auto verify = evidence::cli::add_verify(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11's own codes (105, 106, 109, ...) are not ours: help is 0, a usage error 2.
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (app.got_subcommand("init")) return init();
  if (app.got_subcommand("serve")) return serve();
  if (app.got_subcommand("verify")) return verify();
  return 2;
}
