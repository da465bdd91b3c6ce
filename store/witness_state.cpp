#include "store/witness_state.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>

#include "base/codec.h"
#include "base/error.h"
#include "base/files.h"
#include "store/blob_store.h"

namespace evidence {
namespace json = boost::json;
namespace fs = std::filesystem;

WitnessedLog* WitnessState::find(const std::string& origin) {
  for (auto& l : logs)
    if (l.origin == origin) return &l;
  return nullptr;
}

namespace {

std::string encode(const WitnessState& s) {
  json::object o;
  o["name"] = s.name;
  json::array logs;
  for (const auto& l : s.logs) {
    json::object lo;
    lo["origin"] = l.origin;
    json::array keys;
    for (const auto& k : l.keys) keys.emplace_back(k);
    lo["keys"] = std::move(keys);
    lo["size"] = l.size;
    lo["root"] = l.root;
    lo["checkpoint"] = l.checkpoint;
    logs.emplace_back(std::move(lo));
  }
  o["logs"] = std::move(logs);
  return json::serialize(o) + "\n";
}

WitnessState decode(const std::string& text, const fs::path& file) {
  const auto bad = [&file](const std::string& why) {
    return Error(Errc::corrupt, file.string() + " is not a witness state: " + why);
  };
  boost::system::error_code ec;
  const json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) throw bad("not a JSON object");
  try {
    const auto& o = v.as_object();
    WitnessState s;
    s.name = std::string(o.at("name").as_string());
    for (const auto& lv : o.at("logs").as_array()) {
      const auto& lo = lv.as_object();
      WitnessedLog l;
      l.origin = std::string(lo.at("origin").as_string());
      for (const auto& k : lo.at("keys").as_array()) l.keys.emplace_back(k.as_string());
      l.size = lo.at("size").to_number<std::uint64_t>();
      l.root = std::string(lo.at("root").as_string());
      l.checkpoint = std::string(lo.at("checkpoint").as_string());
      s.logs.push_back(std::move(l));
    }
    return s;
  } catch (const std::exception& e) {
    throw bad(e.what());
  }
}

}  // namespace

void WitnessDir::create(const WitnessState& initial) const {
  std::error_code ec;
  if (fs::exists(state_file(), ec)) throw Error(Errc::already_exists, root_.string() + " already holds a witness");
  fs::create_directories(root_, ec);
  if (ec) throw Error(Errc::io_error, "create " + root_.string() + ": " + ec.message());
  const std::string text = encode(initial);
  write_file_durably(state_file(), as_bytes(text), 0600, true);
  fsync_path(root_.parent_path().empty() ? fs::path(".") : root_.parent_path());
}

WitnessState WitnessDir::load() const {
  std::error_code ec;
  if (!fs::exists(state_file(), ec))
    throw Error(Errc::not_found, root_.string() + " is not a witness directory (make one with: evidence-witness init)");
  return decode(read_text_file(state_file()), state_file());
}

void WitnessDir::save(const WitnessState& state) const {
  const std::string text = encode(state);
  write_file_durably(state_file(), as_bytes(text), 0600, false);
}

WitnessLock::WitnessLock(const WitnessDir& dir) {
  const auto path = dir.lock_file();
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) throw Error(Errc::io_error, "open " + path.string() + ": " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK) throw Error(Errc::conflict, dir.root().string() + " is already served by another witness");
    throw Error(Errc::io_error, "lock " + path.string() + ": " + std::strerror(err));
  }
}

WitnessLock::~WitnessLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace evidence
