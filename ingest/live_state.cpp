#include "ingest/live_state.h"

namespace evidence::ingest {

bool UploadRegistry::try_lock(const std::string& id) {
  std::lock_guard lock(mu_);
  return busy_.insert(id).second;
}
void UploadRegistry::unlock(const std::string& id) {
  std::lock_guard lock(mu_);
  busy_.erase(id);
}
std::optional<UploadRegistry::Running> UploadRegistry::take_hash(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = hashes_.find(id);
  if (it == hashes_.end()) return std::nullopt;
  std::optional<Running> r(std::move(it->second));
  hashes_.erase(it);
  return r;
}
void UploadRegistry::put_hash(const std::string& id, Running r) {
  std::lock_guard lock(mu_);
  hashes_.insert_or_assign(id, std::move(r));
}
void UploadRegistry::forget(const std::string& id) {
  std::lock_guard lock(mu_);
  hashes_.erase(id);
}

void LastSeen::saw(const std::string& name, std::string when) {
  std::lock_guard lock(mu_);
  auto& latest = latest_[name];
  // Only a change of minute is news worth writing.
  if (latest.compare(0, 16, when, 0, 16) == 0) return;
  latest = when;
  pending_[name] = std::move(when);
}
std::vector<std::pair<std::string, std::string>> LastSeen::take() {
  std::lock_guard lock(mu_);
  std::vector<std::pair<std::string, std::string>> out(pending_.begin(), pending_.end());
  pending_.clear();
  return out;
}
std::optional<std::string> LastSeen::get(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = latest_.find(name);
  if (it == latest_.end()) return std::nullopt;
  return it->second;
}

}  // namespace evidence::ingest
