// Custody log routes: checkpoint, entries, inclusion and consistency proofs, and the
// C2SP tlog-tiles of the tree (hash tiles and, for auditors, entry bundles).
#include "ingest/api.h"
#include "ingest/api_common.h"
#include "base/error.h"
#include "store/tiles.h"

namespace evidence::ingest {
namespace {

constexpr std::uint64_t kMaxEntries = 1000;

std::uint64_t uint_param(const Request& req, std::string_view key, std::optional<std::uint64_t> def = std::nullopt) {
  auto v = req.query(key);
  if (!v) {
    if (def) return *def;
    throw HttpError{http::status::bad_request, "invalid_argument", std::string(key) + " is required"};
  }
  if (v->empty() || v->size() > 19) {
    throw HttpError{http::status::bad_request, "invalid_argument", std::string(key) + " is not a number"};
  }
  std::uint64_t n = 0;
  for (char c : *v) {
    if (c < '0' || c > '9') {
      throw HttpError{http::status::bad_request, "invalid_argument", std::string(key) + " is not a number"};
    }
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return n;
}

Task<Response> checkpoint(LogApi s, Request&) {
  // With witnesses: the newest checkpoint with its quorum, cosignature lines appended.
  auto cp = co_await blocking(s.workers, [&s] { return s.checkpointer.served(); });
  auto r = Response::text(http::status::ok, cp.note, "text/plain; charset=utf-8");
  r.headers.set(http::field::cache_control, "no-cache");  // mutable (tlog-tiles)
  co_return r;
}

// GET /log/tile/{L}/{N}[.p/{W}] and /log/tile/entries/{N}[.p/{W}]: `path` is what
// follows "tile/". A tile the log has not reached yet is 404, as for a static file.
Task<Response> tile(LogApi s, std::string path, bool entries) {  // by value: a coroutine
  auto ref = tiles::parse_path(path);
  if (!ref || ref->entries != entries) {
    throw HttpError{http::status::not_found, "not_found", "no such tile: " + path};
  }
  auto bytes = co_await blocking(s.workers, [&s, &ref] {
    // Only what a signed checkpoint covers: a client can check every tile it gets.
    const std::uint64_t size = s.checkpointer.ensure(0).size;
    return tiles::read_tile(s.index, *ref, size);
  });
  if (!bytes) throw HttpError{http::status::not_found, "not_found", "the log has no tile " + path + " yet"};
  auto r = Response::text(http::status::ok, std::string(bytes->begin(), bytes->end()), "application/octet-stream");
  // A tile's bytes never change once the log has them (a partial tile is a prefix of
  // its full tile); entry bundles are for auditors only, so no shared cache keeps them.
  r.headers.set(http::field::cache_control, std::string(entries ? "private" : "public") +
                                                (ref->partial() ? ", max-age=3600" : ", max-age=31536000, immutable"));
  co_return r;
}

Task<Response> hash_tile(LogApi s, Request& req) { return tile(s, req.params.at(0), false); }
Task<Response> entry_bundle(LogApi s, Request& req) { return tile(s, "entries/" + req.params.at(0), true); }

Task<Response> entries(LogApi s, Request& req) {
  const std::uint64_t start = uint_param(req, "start", 0);
  std::uint64_t end = uint_param(req, "end", start + kMaxEntries);
  auto list = co_await blocking(s.workers, [&s, start, &end] {
    const std::uint64_t size = s.index.log_size();
    end = std::min({end, size, start + kMaxEntries});
    return start >= end ? std::vector<LogEntry>{} : s.index.log_entries(start, end);
  });
  json::array a;
  for (const auto& e : list) a.push_back(entry_json(e));
  co_return Response::json(http::status::ok, json::object{{"entries", std::move(a)}});
}

Task<Response> inclusion(LogApi s, Request& req) {
  const std::uint64_t index = uint_param(req, "index");
  const std::uint64_t size = uint_param(req, "size");
  auto hashes = co_await blocking(s.workers, [&s, index, size] {
    if (size > s.index.log_size() || index >= size) {
      throw HttpError{http::status::bad_request, "invalid_argument", "need index < size <= log size"};
    }
    return s.index.inclusion_proof(index, size);
  });
  co_return Response::json(http::status::ok,
                           json::object{{"index", index}, {"size", size}, {"hashes", hashes_json(hashes)}});
}

Task<Response> consistency(LogApi s, Request& req) {
  const std::uint64_t old_size = uint_param(req, "old");
  const std::uint64_t new_size = uint_param(req, "new");
  auto hashes = co_await blocking(s.workers, [&s, old_size, new_size] {
    if (old_size == 0 || old_size > new_size || new_size > s.index.log_size()) {
      throw HttpError{http::status::bad_request, "invalid_argument", "need 0 < old <= new <= log size"};
    }
    return s.index.consistency_proof(old_size, new_size);
  });
  co_return Response::json(http::status::ok,
                           json::object{{"old", old_size}, {"new", new_size}, {"hashes", hashes_json(hashes)}});
}

}  // namespace

void add_log_routes(Routes& routes, LogApi api) {
  const std::vector<Role> log_readers{Role::auditor, Role::admin};
  // The checkpoint and hash tiles need no token: hashes reveal nothing (DESIGN.md,
  // "Witnessed log and tiles"), and monitors and witnesses fetch them.
  routes.push_back({http::verb::get, "/log/checkpoint", false, {}, 0, bind_api(api, checkpoint)});
  routes.push_back({http::verb::get, "/log/tile/entries/{+}", true, log_readers, 0, bind_api(api, entry_bundle)});
  routes.push_back({http::verb::get, "/log/tile/{+}", false, {}, 0, bind_api(api, hash_tile)});
  routes.push_back({http::verb::get, "/log/entries", true, log_readers, 0, bind_api(api, entries)});
  routes.push_back({http::verb::get, "/log/proof/inclusion", true, {}, 0, bind_api(api, inclusion)});
  routes.push_back({http::verb::get, "/log/proof/consistency", true, {}, 0, bind_api(api, consistency)});
}

}  // namespace evidence::ingest
