// Transfer progress: on a terminal, one redrawn line with a bar, rate and time left;
// otherwise plain lines at every 10% so logs and pipes stay readable. Thread-safe:
// parallel uploads (-j N) share one Progress.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace evidencectl {

class Progress {
 public:
  explicit Progress(bool terminal);
  ~Progress();
  static bool stderr_is_terminal();

  // `already` bytes were done before this run (a resumed upload): they count toward
  // the percentage but not the rate.
  int begin(const std::string& name, std::uint64_t total, std::uint64_t already = 0);
  void update(int id, std::uint64_t done);
  void end(int id);

 private:
  struct Item {
    std::string name;
    std::uint64_t total = 0;
    std::uint64_t start = 0;
    std::uint64_t done = 0;
    int last_decile = -1;
    std::chrono::steady_clock::time_point since;
  };
  void render_locked(bool force);

  bool terminal_;
  std::mutex mu_;
  std::map<int, Item> items_;
  int next_id_ = 0;
  std::uint64_t moved_ = 0;  // bytes moved in this run by finished items
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_draw_{};
};

// Set while a progress line is on the terminal; say()/warn() clear it first.
void progress_line_clear_if_drawn();

}  // namespace evidencectl
