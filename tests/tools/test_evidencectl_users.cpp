// evidencectl users: add with a badge and certificate, list, disable, re-key.
#include <catch2/catch.hpp>

#include "tests/tools/ctl_fixture.h"

using namespace evidence::test;

TEST_CASE("evidencectl users add, list, set and token manage people", "[evidencectl][users]") {
  TempDir dir;
  Daemon d(dir.path() / "data");
  Ctl ctl(dir.path() / "home");
  ctl.server = d.url();
  ctl.token = d.admin_token();
  auto add = ctl.run({"users", "add", "o.sun", "--role", "officer", "--badge", "0771", "--unit", "城固大队",
                      "--cert-number", "ZF-3", "--cert-until", "2031-12-31T23:59:59Z"});
  REQUIRE(add.exit_code == 0);
  std::string token = add.out.substr(0, add.out.find('\n'));
  REQUIRE(token.size() > 20);

  auto list = ctl.run({"users", "list"});
  REQUIRE(list.exit_code == 0);
  CHECK(list.out.find("o.sun\tofficer\tactive\tbadge 0771\tunit 城固大队\tcertificate ZF-3 until 2031-12-31T23:59:59Z") !=
        std::string::npos);

  CHECK(ctl.run({"users", "set", "o.sun", "--disable"}).exit_code == 0);
  CHECK(http("GET", d.api("/whoami"), token).status == 401);
  CHECK(ctl.run({"users", "list"}).out.find("o.sun\tofficer\tdisabled") != std::string::npos);
  CHECK(ctl.run({"users", "set", "o.sun", "--enable", "--role", "reviewer"}).exit_code == 0);
  CHECK(http("GET", d.api("/whoami"), token).status == 200);

  auto rekey = ctl.run({"users", "token", "o.sun"});
  REQUIRE(rekey.exit_code == 0);
  const std::string fresh = rekey.out.substr(0, rekey.out.find('\n'));
  CHECK(http("GET", d.api("/whoami"), token).status == 401);
  CHECK(http("GET", d.api("/whoami"), fresh).status == 200);

  // Bad input: a clear message and exit 2, nothing changed.
  auto nothing = ctl.run({"users", "set", "o.sun"});
  CHECK(nothing.exit_code == 2);
  CHECK(nothing.err.find("nothing to change") != std::string::npos);
  auto half = ctl.run({"users", "set", "o.sun", "--cert-number", "X"});
  CHECK(half.exit_code == 2);
  auto unknown = ctl.run({"users", "set", "nobody", "--badge", "1"});
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err.find("404") != std::string::npos);
  CHECK(d.stop() == 0);
}
