// evidencectl: the client for officers, docking stations, reviewers and auditors.
// Each command lives in its own cmd_<verb>.cpp; this file only parses and dispatches.
#include <curl/curl.h>
#include <signal.h>

#include <exception>
#include <iostream>

#include "base/error.h"
#include "tools/evidencectl/cli.h"

int main(int argc, char** argv) {
  using namespace evidencectl;
  // A server that closes a connection must give an error, not kill the client.
  ::signal(SIGPIPE, SIG_IGN);
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    std::cerr << "evidencectl: cannot initialise libcurl\n";
    return kCannotRun;
  }

  CLI::App app{"evidencectl: upload evidence, fetch it, and verify receipts, bundles and the log"};
  app.require_subcommand(0, 1);  // none given is reported below, unknown words by CLI11
  app.fallthrough();  // global options may follow the subcommand
  Globals g;
  app.add_option("--server", g.server, "Server base URL, e.g. https://evidence.example:8443")
      ->envname("EVIDENCE_SERVER");
  app.add_option("--token", g.token, "Bearer token")->envname("EVIDENCE_TOKEN");
  app.add_option("--cacert", g.cacert, "PEM file of the CA that issued the server's certificate")
      ->check(CLI::ExistingFile);
  app.add_flag("--insecure", g.insecure, "Do not check the server's TLS certificate");

  Runner run;
  add_upload(app, g, run);
  add_dock(app, g, run);
  add_cases(app, g, run);
  add_get(app, g, run);
  add_verify(app, g, run);
  add_export(app, g, run);
  add_verify_bundle(app, g, run);
  add_verify_receipt(app, g, run);
  add_users(app, g, run);
  add_log(app, g, run);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);  // prints help (rc 0) or the error
    return rc == 0 ? kOk : kCannotRun;
  }

  if (!run) {
    std::cerr << "evidencectl: no command given; one of: upload, dock, cases, case, get, verify, "
                 "export, verify-bundle, verify-receipt, users, log (see --help)\n";
    return kCannotRun;
  }
  int rc = kCannotRun;
  try {
    rc = run();
  } catch (const Failure& f) {
    std::cerr << "evidencectl: " << f.what() << "\n";
    rc = f.code();
  } catch (const evidence::Error& e) {
    std::cerr << "evidencectl: " << e.what() << "\n";
    rc = kCannotRun;
  } catch (const std::exception& e) {
    std::cerr << "evidencectl: " << e.what() << "\n";
    rc = kCannotRun;
  }
  curl_global_cleanup();
  return rc;
}
