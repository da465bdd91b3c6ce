#include "tools/evidencectl/http.h"

#include <curl/curl.h>

#include <boost/json.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <cctype>

namespace evidencectl {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  const auto a = s.find_first_not_of(" \t\r\n");
  if (a == std::string::npos) return {};
  const auto b = s.find_last_not_of(" \t\r\n");
  return s.substr(a, b - a + 1);
}

struct Exchange {
  const Request* req = nullptr;
  Response* resp = nullptr;
  std::uint64_t sent = 0;
  bool aborted_by_sink = false;
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto& x = *static_cast<Exchange*>(user);
  const size_t len = size * n;
  // Only a successful answer is content for the sink; an error body is kept for the message.
  if (x.req->sink && x.resp->status >= 200 && x.resp->status < 300) {
    if (!x.aborted_by_sink && !x.req->sink(std::span<const char>(data, len))) {
      x.aborted_by_sink = true;
      return 0;
    }
    return len;
  }
  x.resp->body.append(data, len);
  return len;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto& x = *static_cast<Exchange*>(user);
  const std::string line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    x.resp->headers.clear();  // a new (final) response after an interim one
    const auto sp = line.find(' ');
    if (sp != std::string::npos) x.resp->status = std::strtol(line.c_str() + sp + 1, nullptr, 10);
    return size * n;
  }
  const auto colon = line.find(':');
  if (colon != std::string::npos) {
    const auto name = lower(line.substr(0, colon));
    const auto value = trim(line.substr(colon + 1));
    auto [it, fresh] = x.resp->headers.emplace(name, value);
    if (!fresh) it->second += ", " + value;
  }
  return size * n;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t ulnow) {
  auto& x = *static_cast<Exchange*>(user);
  if (ulnow > 0) x.sent = static_cast<std::uint64_t>(ulnow);
  if (x.req->on_sent && ulnow > 0) {
    if (!x.req->on_sent(static_cast<std::uint64_t>(ulnow))) return 1;  // abort
  }
  return 0;
}

}  // namespace

std::string Response::header(const std::string& lower_name) const {
  const auto it = headers.find(lower_name);
  return it == headers.end() ? std::string{} : it->second;
}

boost::json::value Response::json() const {
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  if (ec) throw Failure(kCannotRun, "the server answered with invalid JSON: " + ec.message());
  return v;
}

std::string Response::describe() const {
  std::string text = "HTTP " + std::to_string(status);
  boost::system::error_code ec;
  const auto v = boost::json::parse(body, ec);
  if (!ec && v.is_object()) {
    const auto& o = v.as_object();
    if (const auto* e = o.if_contains("error"); e && e->is_string())
      text += " " + std::string(e->as_string());
    if (const auto* m = o.if_contains("message"); m && m->is_string())
      text += ": " + std::string(m->as_string());
    return text;
  }
  if (!body.empty()) text += ": " + body.substr(0, 300);
  return text;
}

Http::Http(const Globals& g) : server_(g.server), token_(g.token), cacert_(g.cacert), insecure_(g.insecure) {
  if (server_.empty()) cannot_run("no server: pass --server URL or set EVIDENCE_SERVER");
  while (!server_.empty() && server_.back() == '/') server_.pop_back();
  if (server_.rfind("http://", 0) != 0 && server_.rfind("https://", 0) != 0)
    cannot_run("--server must start with http:// or https:// (got '" + server_ + "')");
  curl_ = curl_easy_init();
  if (!curl_) cannot_run("cannot create a libcurl handle");
}

Http::~Http() {
  if (curl_) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

std::string Http::url(const std::string& target) const {
  if (target.rfind("http://", 0) == 0 || target.rfind("https://", 0) == 0) return target;
  return server_ + target;
}

Response Http::send(const Request& req) {
  CURL* curl = static_cast<CURL*>(curl_);
  curl_easy_reset(curl);
  Response resp;
  Exchange x{&req, &resp, 0, false};
  curl_slist* list = nullptr;
  bool has_type = false;
  for (const auto& [k, v] : req.headers) {
    has_type = has_type || lower(k) == "content-type";
    list = curl_slist_append(list, (k + ": " + v).c_str());
  }
  if (req.auth && !token_.empty())
    list = curl_slist_append(list, ("Authorization: Bearer " + token_).c_str());
  list = curl_slist_append(list, "Expect:");  // no 100-continue round trip
  if (!has_type) list = curl_slist_append(list, "Content-Type:");

  const std::string full = url(req.target);
  curl_easy_setopt(curl, CURLOPT_URL, full.c_str());
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 15L);
  // No total timeout (uploads of gigabytes are slow on a patrol car's link); instead
  // give up on a connection that moved less than 1 byte/s for a minute.
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &x);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &x);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &x);
  if (!cacert_.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, cacert_.c_str());
  if (insecure_) {
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (req.max_send_bytes_per_s > 0)
    curl_easy_setopt(curl, CURLOPT_MAX_SEND_SPEED_LARGE,
                     static_cast<curl_off_t>(req.max_send_bytes_per_s));

  const bool with_body = !req.body.empty() || req.method == "POST" || req.method == "PATCH" ||
                         req.method == "PUT";
  if (req.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (with_body) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    if (req.method != "POST") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  } else {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    if (req.method != "GET") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }

  const CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(list);
  last_sent_ = x.sent;
  if (x.aborted_by_sink) cannot_run(req.method + " " + full + ": the local copy could not be written");
  if (rc != CURLE_OK) {
    throw TransportError(req.method + " " + full + ": " + curl_easy_strerror(rc));
  }
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  resp.status = status;
  curl_off_t up = 0;
  if (curl_easy_getinfo(curl, CURLINFO_SIZE_UPLOAD_T, &up) == CURLE_OK && up > 0)
    last_sent_ = static_cast<std::uint64_t>(up);
  return resp;
}

Response Http::get_ok(const std::string& path, bool auth, std::vector<std::pair<std::string, std::string>> headers) {
  Request req;
  req.target = path;
  req.auth = auth;
  req.headers = std::move(headers);
  Response r;
  try {
    r = send(req);
  } catch (const TransportError& e) {
    cannot_run(e.what());
  }
  if (r.status < 200 || r.status >= 300) cannot_run("GET " + path + ": " + r.describe());
  return r;
}

boost::json::value Http::get_json(const std::string& path) {
  return get_ok(path, true, {{"Accept", "application/json"}}).json();
}

boost::json::value Http::post_json(const std::string& path, const boost::json::value& body) {
  return send_json("POST", path, body);
}

boost::json::value Http::send_json(const std::string& method, const std::string& path, const boost::json::value& body) {
  Request req;
  req.method = method;
  req.target = path;
  req.body = boost::json::serialize(body);
  req.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
  Response r;
  try {
    r = send(req);
  } catch (const TransportError& e) {
    cannot_run(e.what());
  }
  if (r.status < 200 || r.status >= 300) cannot_run(method + " " + path + ": " + r.describe());
  return r.json();
}

std::string encode_segment(const std::string& s) {
  return boost::urls::encode(s, boost::urls::unreserved_chars);
}

std::string encode_query(const std::string& s) {
  return boost::urls::encode(s, boost::urls::unreserved_chars);
}

}  // namespace evidencectl
