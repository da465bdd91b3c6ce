#include "tools/evidencectl/progress.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <iostream>

#include "tools/evidencectl/local_files.h"

namespace evidencectl {
namespace {
std::atomic<bool> g_line_drawn{false};

std::string duration_text(double seconds) {
  if (seconds < 0 || seconds > 99 * 3600) return "--:--";
  const auto s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}
}  // namespace

void progress_line_clear_if_drawn() {
  if (g_line_drawn.exchange(false)) std::cerr << "\r\033[K" << std::flush;
}

Progress::Progress(bool terminal) : terminal_(terminal), started_(std::chrono::steady_clock::now()) {}

Progress::~Progress() {
  if (terminal_) progress_line_clear_if_drawn();
}

bool Progress::stderr_is_terminal() { return ::isatty(2) == 1; }

int Progress::begin(const std::string& name, std::uint64_t total, std::uint64_t already) {
  std::lock_guard lock(mu_);
  if (items_.empty()) {
    // The rate covers a run of work without idle gaps (hashing, then sending).
    started_ = std::chrono::steady_clock::now();
    moved_ = 0;
  }
  const int id = next_id_++;
  Item it;
  it.name = name;
  it.total = total;
  it.start = already;
  it.done = already;
  it.since = std::chrono::steady_clock::now();
  items_[id] = it;
  render_locked(true);
  return id;
}

void Progress::update(int id, std::uint64_t done) {
  std::lock_guard lock(mu_);
  auto it = items_.find(id);
  if (it == items_.end()) return;
  it->second.done = done;
  render_locked(false);
}

void Progress::end(int id) {
  std::lock_guard lock(mu_);
  auto it = items_.find(id);
  if (it == items_.end()) return;
  if (it->second.done > it->second.start) moved_ += it->second.done - it->second.start;
  items_.erase(it);
  if (terminal_) {
    if (items_.empty()) {
      progress_line_clear_if_drawn();
    } else {
      render_locked(true);
    }
  }
}

void Progress::render_locked(bool force) {
  const auto now = std::chrono::steady_clock::now();
  if (terminal_) {
    if (!force && now - last_draw_ < std::chrono::milliseconds(200)) return;
    last_draw_ = now;
    if (items_.empty()) return;
    std::uint64_t total = 0, done = 0, moved = moved_;
    for (const auto& [id, it] : items_) {
      total += it.total;
      done += it.done;
      moved += it.done - it.start;
    }
    const double elapsed = std::chrono::duration<double>(now - started_).count();
    const double rate = elapsed > 0.5 ? static_cast<double>(moved) / elapsed : 0.0;
    const double frac = total ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
    constexpr int kWidth = 24;
    const int filled = static_cast<int>(frac * kWidth);
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(kWidth, '.');
    std::string label = items_.size() == 1 ? items_.begin()->second.name
                                           : std::to_string(items_.size()) + " files";
    if (label.size() > 28) label = "..." + label.substr(label.size() - 25);
    char line[256];
    std::snprintf(line, sizeof line, "%-28s [%s] %3d%% %10s/s  ETA %s", label.c_str(),
                  bar.c_str(), static_cast<int>(frac * 100), human_bytes(rate).c_str(),
                  rate > 0 ? duration_text(static_cast<double>(total - done) / rate).c_str()
                           : "--:--");
    std::cerr << "\r\033[K" << line << std::flush;
    g_line_drawn = true;
    return;
  }
  // Plain output: one line per file at each 10% step.
  for (auto& [id, it] : items_) {
    const int decile = it.total ? static_cast<int>(it.done * 10 / it.total) : 10;
    if (decile == it.last_decile) continue;
    it.last_decile = decile;
    const double elapsed = std::chrono::duration<double>(now - it.since).count();
    const double rate = elapsed > 0 ? static_cast<double>(it.done - it.start) / elapsed : 0.0;
    std::cerr << "progress " << it.name << ": " << decile * 10 << "% (" << it.done << " of "
              << it.total << " bytes, " << human_bytes(rate) << "/s)" << std::endl;
  }
}

}  // namespace evidencectl
