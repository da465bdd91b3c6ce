// Request and Response helpers, and the one mapping from the store's errors to HTTP
// answers that every handler shares (http.h).
#include "ingest/http.h"

#include <boost/json/serialize.hpp>

#include "base/error.h"

namespace evidence::ingest {
std::string Request::header(http::field f) const {
  auto it = headers->find(f);
  return it == headers->end() ? std::string() : std::string(it->value());
}
std::string Request::header(std::string_view name) const {
  auto it = headers->find(name);
  return it == headers->end() ? std::string() : std::string(it->value());
}
bool Request::has_header(std::string_view name) const { return headers->find(name) != headers->end(); }
std::optional<std::string> Request::query(std::string_view key) const {
  auto params = url.params();
  auto it = params.find(key);
  if (it == params.end()) return std::nullopt;
  return std::string((*it).value);
}

Response Response::json(http::status s, const json::value& v) {
  Response r;
  r.status = s;
  r.headers.set(http::field::content_type, "application/json");
  r.body = json::serialize(v);
  return r;
}
Response Response::text(http::status s, std::string body, std::string content_type) {
  Response r;
  r.status = s;
  r.headers.set(http::field::content_type, content_type);
  r.body = std::move(body);
  return r;
}
Response Response::empty(http::status s) {
  Response r;
  r.status = s;
  return r;
}

Response error_response(const HttpError& e) {
  Response r = Response::json(e.status, json::object{{"error", e.code}, {"message", e.message}});
  for (const auto& [f, v] : e.headers) r.headers.set(f, v);
  return r;
}

HttpError http_error_from(const Error& e) {
  switch (e.code()) {
    case Errc::invalid_argument: return {http::status::bad_request, "invalid_argument", e.what()};
    case Errc::not_found: return {http::status::not_found, "not_found", e.what()};
    case Errc::already_exists: return {http::status::conflict, "already_exists", e.what()};
    case Errc::conflict: return {http::status::conflict, "conflict", e.what()};
    case Errc::digest_mismatch: return {http::status::bad_request, "digest_mismatch", e.what()};
    case Errc::no_space: return {http::status::insufficient_storage, "no_space", e.what()};
    case Errc::permission_denied: return {http::status::internal_server_error, "permission_denied", e.what()};
    case Errc::unavailable: return {http::status::service_unavailable, "unavailable", e.what()};
    default: return {http::status::internal_server_error, errc_name(e.code()), e.what()};
  }
}

}  // namespace evidence::ingest
