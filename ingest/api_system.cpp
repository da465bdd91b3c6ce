// Operations routes: health, metrics, users, public keys.
#include <boost/json/parse.hpp>

#include "ingest/instance.h"
#include "ingest/api.h"
#include "ingest/api_common.h"
#include "base/error.h"
#include "store/ids.h"
#include "base/timefmt.h"

namespace evidence::ingest {


// Reads a small JSON body (the route's limit applies) and parses it.
Task<json::object> read_json_object(Request& req) {
  std::string text;
  std::vector<std::uint8_t> buf(16 * 1024);
  for (;;) {
    const std::size_t n = co_await req.body->read(buf);
    if (n == 0) break;
    text.append(reinterpret_cast<const char*>(buf.data()), n);
  }
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) throw HttpError{http::status::bad_request, "bad_json", "the body must be a JSON object"};
  co_return std::move(v.as_object());
}

void add_system_routes(Routes& routes, SystemApi api) {
  routes.push_back({http::verb::get, "/healthz", false, {}, 0, bind_api(api, [](SystemApi svc, Request&) -> Task<Response> {
                 co_return Response::json(http::status::ok,
                                          json::object{{"status", "ok"}, {"log", svc.keys.log_name}});
               })});

  routes.push_back({http::verb::get, "/metrics", true, {Role::auditor, Role::admin}, 0,
               bind_api(api, [](SystemApi svc, Request&) -> Task<Response> {
                 auto text = co_await blocking(svc.workers, [&svc] {
                   return svc.metrics.render(svc.index.log_size(), svc.index.evidence_count());
                 });
                 co_return Response::text(http::status::ok, std::move(text), "text/plain; version=0.0.4; charset=utf-8");
               })});

  routes.push_back({http::verb::get, "/keys", true, {}, 0, bind_api(api, [](SystemApi svc, Request&) -> Task<Response> {
                 co_return Response::json(http::status::ok, json::object{{"log_key", svc.keys.log_key},
                                                                         {"tsa_ca_pem", svc.keys.tsa_ca_pem},
                                                                         {"tsa_cert_pem", svc.keys.tsa_cert_pem}});
               })});

}

}  // namespace evidence::ingest
