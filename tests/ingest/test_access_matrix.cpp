// The access matrix (DESIGN.md, "HTTP API"): every route of the daemon's route table,
// asked by every role, by a second officer (who must not see the first one's items),
// without a token and with a bad token. Roles: officer (upload; read own items),
// reviewer (read cases and content, link/unlink), auditor (read everything, verify,
// log), admin (users, plus all of the above). Missing or bad token: 401; wrong role:
// 403; never a 5xx.
//
// The matrix below must list every route the daemon registers: a route added
// without a row here fails the test, so nobody adds an endpoint without deciding
// who may call it.
#include <catch2/catch.hpp>
#include <functional>
#include <set>

#include "ingest/service.h"
#include "tests/ingest/daemon_fixture.h"

using namespace evidence;
using namespace evidence::test;

namespace {

// Expected status per caller. kAllowed: any status but 401/403/5xx (a route whose
// exact answer depends on state the matrix does not set up).
constexpr int kAllowed = 0;

struct Expect {
  int officer, officer2, reviewer, auditor, admin;
};

struct Row {
  std::string method;
  std::string pattern;  // as in the route table, under /api/v1
  bool auth = true;
  Expect expect;
  // Builds the concrete request (path under /api/v1, body, headers); run before each
  // call so that state-changing routes get fresh state.
  std::function<std::tuple<std::string, std::string, Headers>()> request;
};

struct Fixture {
  TempDir dir;
  std::unique_ptr<Daemon> d;
  std::map<std::string, std::string> tokens;  // caller -> token
  std::string item;                           // uploaded by "officer", in case K-1
};

std::string meta_query() {
  return "officer=" + pct("Officer One") + "&device=cam-1&filename=a.bin&recorded_at=" + pct("2026-01-01T00:00:00Z");
}

std::string tus_metadata() {
  return "officer " + b64("Officer One") + ",device " + b64("cam-1") + ",filename " + b64("t.bin");
}

// A fresh partial tus upload owned by the first officer.
std::string new_upload(Fixture& f) {
  auto r = http("POST", f.d->api("/uploads"), f.tokens["officer"], "",
                {{"Tus-Resumable", "1.0.0"}, {"Upload-Length", "10"}, {"Upload-Metadata", tus_metadata()}});
  REQUIRE(r.status == 201);
  const std::string loc = r.header("location");
  return loc.substr(loc.rfind('/') + 1);
}

void link_k2(Fixture& f) {
  auto r = http("POST", f.d->api("/evidence/" + f.item + "/cases"), f.d->admin_token(), R"({"case":"K-2"})",
                {{"Content-Type", "application/json"}});
  REQUIRE((r.status < 300 || r.status == 409));  // 409: already linked
}

std::vector<Row> matrix(Fixture& f) {
  using R = std::tuple<std::string, std::string, Headers>;
  auto get = [](std::string path) { return [path] { return R{path, "", {}}; }; };
  const std::string ev = "/evidence/" + f.item;
  const Headers tus{{"Tus-Resumable", "1.0.0"}};
  const Headers json_ct{{"Content-Type", "application/json"}};
  std::vector<Row> rows;
  // Operations.
  rows.push_back({"GET", "/healthz", false, {200, 200, 200, 200, 200}, get("/healthz")});
  rows.push_back({"GET", "/metrics", true, {403, 403, 403, 200, 200}, get("/metrics")});
  rows.push_back({"GET", "/keys", true, {200, 200, 200, 200, 200}, get("/keys")});
  rows.push_back({"POST", "/users", true, {403, 403, 403, 403, 201}, [json_ct] {
                    static int n = 0;
                    return R{"/users", R"({"name":"made-)" + std::to_string(++n) + R"(","role":"officer"})", json_ct};
                  }});
  rows.push_back({"GET", "/users", true, {403, 403, 403, 403, 200}, get("/users")});
  rows.push_back({"GET", "/whoami", true, {200, 200, 200, 200, 200}, get("/whoami")});
  rows.push_back({"PATCH", "/users/{}", true, {403, 403, 403, 403, 200}, [json_ct] {
                    return R{"/users/" + pct("Officer Two"), R"({"badge":"0042"})", json_ct};
                  }});
  rows.push_back({"POST", "/users/{}/token", true, {403, 403, 403, 403, 200},
                  [json_ct] { return R{"/users/Spare/token", "", json_ct}; }});
  // Evidence.
  // The upload names Officer One: officer2 may not upload in another officer's name.
  rows.push_back({"POST", "/evidence", true, {201, 403, 403, 403, 201},
                  [] { return R{"/evidence?" + meta_query(), "matrix upload", {}}; }});
  rows.push_back({"GET", "/evidence/{}", true, {200, 404, 200, 200, 200}, get(ev)});
  rows.push_back({"GET", "/evidence/{}/content", true, {200, 404, 200, 200, 200}, get(ev + "/content")});
  rows.push_back({"GET", "/evidence/{}/timestamp", true, {200, 404, 200, 200, 200}, get(ev + "/timestamp")});
  rows.push_back({"GET", "/evidence/{}/custody", true, {200, 404, 200, 200, 200}, get(ev + "/custody")});
  rows.push_back({"GET", "/evidence/{}/thumbnail", true, {kAllowed, 404, kAllowed, kAllowed, kAllowed},
                  get(ev + "/thumbnail")});
  rows.push_back({"POST", "/evidence/{}/clips", true, {403, 403, kAllowed, 403, kAllowed}, [ev, json_ct] {
                    return R{ev + "/clips", R"({"start":0,"end":1})", json_ct};
                  }});
  // Legal holds: admin only (the item is not media, so the answer may be a 4xx).
  rows.push_back({"POST", "/evidence/{}/hold", true, {403, 403, 403, 403, kAllowed},
                  [ev, json_ct] { return R{ev + "/hold", R"({"reason":"matrix"})", json_ct}; }});
  rows.push_back({"DELETE", "/evidence/{}/hold", true, {403, 403, 403, 403, kAllowed}, get(ev + "/hold")});
  rows.push_back({"POST", "/evidence/{}/cases", true, {403, 403, 201, 403, 201},
                  [ev, json_ct] {
                    static int n = 0;
                    return R{ev + "/cases", R"({"case":"L-)" + std::to_string(++n) + R"("})", json_ct};
                  }});
  rows.push_back({"DELETE", "/evidence/{}/cases/{+}", true, {403, 403, 200, 403, 200}, [&f, ev] {
                    link_k2(f);
                    return R{ev + "/cases/K-2", "", {}};
                  }});
  // Lifecycle: categories (any role reads, admin sets), an item's category (reviewer,
  // admin), due items and dispositions (admin, auditor read; admin decides), late report.
  rows.push_back({"GET", "/retention/categories", true, {200, 200, 200, 200, 200}, get("/retention/categories")});
  rows.push_back({"PUT", "/retention/categories/{}", true, {403, 403, 403, 403, 200},
                  [json_ct] { return R{"/retention/categories/matrix", R"({"permanent":true})", json_ct}; }});
  rows.push_back({"PUT", "/evidence/{}/retention", true, {403, 403, 200, 403, 200},
                  [ev, json_ct] { return R{ev + "/retention", R"({"category":"evidence"})", json_ct}; }});
  rows.push_back({"GET", "/retention/due", true, {403, 403, 403, 200, 200}, get("/retention/due")});
  // The item is in a case (permanent): 409 naming it, once the admin is let in.
  rows.push_back({"POST", "/dispositions", true, {403, 403, 403, 403, 409}, [&f, json_ct] {
                    return R{"/dispositions", R"({"items":[")" + f.item + R"("],"reason":"matrix"})", json_ct};
                  }});
  rows.push_back({"GET", "/dispositions", true, {403, 403, 403, 200, 200}, get("/dispositions")});
  rows.push_back({"GET", "/dispositions/{}", true, {403, 403, 403, 404, 404},
                  get("/dispositions/01JAAAAAAAAAAAAAAAAAAAAAAA")});
  rows.push_back({"POST", "/dispositions/{}/approve", true, {403, 403, 403, 403, 404},
                  get("/dispositions/01JAAAAAAAAAAAAAAAAAAAAAAA/approve")});
  rows.push_back({"POST", "/dispositions/{}/reject", true, {403, 403, 403, 403, 404},
                  get("/dispositions/01JAAAAAAAAAAAAAAAAAAAAAAA/reject")});
  rows.push_back({"GET", "/reports/late", true, {403, 403, 403, 200, 200}, get("/reports/late")});
  // Cases and search.
  rows.push_back({"GET", "/cases", true, {403, 403, 200, 200, 200}, get("/cases")});
  rows.push_back({"GET", "/cases/{+}", true, {403, 403, 200, 200, 200}, get("/cases/K-1")});
  rows.push_back({"GET", "/cases/{+}/export", true, {403, 403, 200, 200, 200}, get("/cases/K-1/export")});
  rows.push_back({"GET", "/cases/{+}/timeline", true, {403, 403, 200, 200, 200}, get("/cases/K-1/timeline")});
  // Case-file reviews: reviewers and admins write them, auditors read them too.
  rows.push_back({"POST", "/cases/{+}/reviews", true, {403, 403, 201, 403, 201},
                  [json_ct] { return R{"/cases/K-1/reviews", R"({"verdict":"complete"})", json_ct}; }});
  rows.push_back({"GET", "/cases/{+}/reviews", true, {403, 403, 200, 200, 200}, get("/cases/K-1/reviews")});
  rows.push_back({"GET", "/search", true, {200, 200, 200, 200, 200}, get("/search?device=cam-1")});
  // Audit and log.
  rows.push_back({"POST", "/verify", true, {403, 403, 403, 200, 200},
                  [json_ct] { return R{"/verify", R"({"scope":"all"})", json_ct}; }});
  // The checkpoint and hash tiles are public (hashes reveal nothing); entry bundles
  // hold the custody entries themselves, for auditors.
  rows.push_back({"GET", "/log/checkpoint", false, {200, 200, 200, 200, 200}, get("/log/checkpoint")});
  rows.push_back({"GET", "/log/tile/{+}", false, {200, 200, 200, 200, 200}, get("/log/tile/0/000.p/1")});
  rows.push_back({"GET", "/log/tile/entries/{+}", true, {403, 403, 403, 200, 200}, get("/log/tile/entries/000.p/1")});
  rows.push_back({"GET", "/log/entries", true, {403, 403, 403, 200, 200}, get("/log/entries?start=0&end=2")});
  rows.push_back({"GET", "/log/proof/inclusion", true, {200, 200, 200, 200, 200},
                  get("/log/proof/inclusion?index=0&size=1")});
  rows.push_back({"GET", "/log/proof/consistency", true, {200, 200, 200, 200, 200},
                  get("/log/proof/consistency?old=1&new=1")});
  // tus. A second officer's view of the first one's upload is 404, like items.
  rows.push_back({"OPTIONS", "/uploads", false, {204, 204, 204, 204, 204}, get("/uploads")});
  rows.push_back({"POST", "/uploads", true, {201, 403, 403, 403, 201}, [tus] {
                    Headers h = tus;
                    h.push_back({"Upload-Length", "10"});
                    h.push_back({"Upload-Metadata", tus_metadata()});
                    return R{"/uploads", "", h};
                  }});
  rows.push_back({"HEAD", "/uploads/{}", true, {200, 404, 403, 403, 200},
                  [&f, tus] { return R{"/uploads/" + new_upload(f), "", tus}; }});
  // An offset that does not match: 409 once the caller is let in, and nothing written.
  rows.push_back({"PATCH", "/uploads/{}", true, {409, 404, 403, 403, 409}, [&f, tus] {
                    Headers h = tus;
                    h.push_back({"Upload-Offset", "7"});
                    h.push_back({"Content-Type", "application/offset+octet-stream"});
                    return R{"/uploads/" + new_upload(f), "ab", h};
                  }});
  rows.push_back({"DELETE", "/uploads/{}", true, {204, 404, 403, 403, 204},
                  [&f, tus] { return R{"/uploads/" + new_upload(f), "", tus}; }});
  // The receipt of an upload not yet complete: 409 for its owner and admin.
  rows.push_back({"GET", "/uploads/{}", true, {409, 404, 403, 403, 409},
                  [&f] { return R{"/uploads/" + new_upload(f), "", {}}; }});
  return rows;
}

bool status_ok(int expected, long got) {
  if (expected == kAllowed) return got != 401 && got != 403 && got < 500;
  return got == expected;
}

}  // namespace

TEST_CASE("access matrix: every route, every role, no token and a bad token", "[daemon][access]") {
  Fixture f;
  f.d = std::make_unique<Daemon>(f.dir.path() / "data");
  f.tokens["admin"] = f.d->admin_token();
  f.tokens["officer"] = f.d->add_user("Officer One", "officer");
  f.tokens["officer2"] = f.d->add_user("Officer Two", "officer");
  f.tokens["reviewer"] = f.d->add_user("Reviewer", "reviewer");
  f.tokens["auditor"] = f.d->add_user("Auditor", "auditor");
  f.d->add_user("Spare", "officer");  // whose token the matrix rotates
  {
    auto r = http("POST", f.d->api("/evidence?case=K-1&" + meta_query()), f.tokens["officer"], "matrix item");
    REQUIRE(r.status == 201);
    f.item = std::string(obj(r)["evidence_id"].as_string());
  }
  const auto rows = matrix(f);

  std::set<std::pair<std::string, std::string>> present;
  for (const auto& row : rows) {
    // A route is in the daemon when an unauthenticated call is not 404/405 (auth is
    // checked after routing; routes without auth answer as they do for anyone).
    auto [path, body, headers] = row.request();
    auto r = http(row.method, f.d->api(path), "", body, headers);
    if (r.status == 404 || r.status == 405) {
      // Every route is served now: a missing one fails, whether DESIGN.md's or ours.
      FAIL("route " << row.method << " " << row.pattern << " is missing from the daemon");
    }
    present.insert({row.method, row.pattern});
    INFO(row.method << " " << path);
    CHECK(r.status < 500);
    if (row.auth) {
      CHECK(r.status == 401);
      auto bad = http(row.method, f.d->api(path), std::string(43, 'A'), body, headers);
      CHECK(bad.status == 401);
      auto bad2 = http(row.method, f.d->api(path), f.tokens["officer"] + "x", body, headers);
      CHECK(bad2.status == 401);
    }
    const std::pair<const char*, int> callers[] = {{"officer", row.expect.officer},
                                                   {"officer2", row.expect.officer2},
                                                   {"reviewer", row.expect.reviewer},
                                                   {"auditor", row.expect.auditor},
                                                   {"admin", row.expect.admin}};
    for (const auto& [who, expected] : callers) {
      auto [p, b, h] = row.request();
      auto got = http(row.method, f.d->api(p), f.tokens[who], b, h);
      INFO(who << ": " << row.method << " " << p << " -> " << got.status << " " << got.body);
      CHECK(got.status < 500);
      CHECK(status_ok(expected, got.status));
      if (got.status == 401 || got.status == 403) {
        // Errors are JSON with a code and a message (HEAD carries no body).
        if (row.method != "HEAD") CHECK(obj(got).contains("error"));
      }
    }
  }
  REQUIRE(f.d->stop() == 0);

  // Every route the daemon registers has a row above.
  ingest::ServeOptions o;
  o.data_dir = f.dir.path() / "data";
  o.worker_threads = 1;
  ingest::Service svc(o);
  std::set<std::pair<std::string, std::string>> listed;
  for (const auto& row : rows) listed.insert({row.method, row.pattern});
  for (const auto& route : svc.routes()) {
    const std::string method(ingest::http::to_string(route.method));
    INFO("route table: " << method << " " << route.pattern);
    CHECK(listed.count({method, route.pattern}) == 1);
    CHECK(present.count({method, route.pattern}) == 1);
  }
}
