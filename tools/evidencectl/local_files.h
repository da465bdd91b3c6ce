// Local file helpers for the client: hashing, durable small writes, where the client
// keeps its own state, and serialised output lines (commands run threads).
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/files.h"
#include "store/content_id.h"

namespace evidencectl {

// SHA-256 of a file's bytes; `on_progress(bytes_hashed)` is called as it goes.
// Failure(kCannotRun) when the file cannot be read.
evidence::ContentId hash_file(const std::filesystem::path& file,
                              const std::function<void(std::uint64_t)>& on_progress = {});

// Writes `content` to `target` through a temp file beside it: write, fsync, rename,
// fsync the folder. A crash leaves the old file or the new one, never a torn one.
void write_file_durably(const std::filesystem::path& target, std::string_view content);
std::string read_small_file(const std::filesystem::path& file);  // Failure when unreadable

// A download on its way to `out`: bytes go to OUT.part as they arrive; keep() fsyncs
// it, renames it to `out` and fsyncs the folder. Until then `out` does not exist, and
// a PartFile that is not kept (an error, a failed check) removes OUT.part. Failure
// when `out` exists already or OUT.part cannot be created.
class PartFile {
 public:
  explicit PartFile(std::filesystem::path out);
  ~PartFile();
  PartFile(const PartFile&) = delete;
  PartFile& operator=(const PartFile&) = delete;

  // Appends; false (and every later call false) after a write error.
  bool write(std::span<const char> data);
  // Makes the file durable under its final name. Failure when a write or the fsync failed.
  void keep();
  const std::filesystem::path& part() const { return part_; }

 private:
  std::filesystem::path out_, part_;
  int fd_ = -1;
  bool failed_ = false;
  bool kept_ = false;
};
// Parses a JSON object from a file; nullopt when the file is absent.
std::optional<boost::json::object> read_json_object(const std::filesystem::path& file);

struct FileIdentity {
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::uint64_t inode = 0;
};
FileIdentity identify(const std::filesystem::path& file);  // Failure when it cannot stat
std::string mtime_rfc3339(const std::filesystem::path& file);  // UTC

// $XDG_CONFIG_HOME/evidencectl (else ~/.config/evidencectl): pinned keys.
std::filesystem::path config_dir();
// $XDG_STATE_HOME/evidencectl (else ~/.local/state/evidencectl): resumable uploads.
std::filesystem::path state_dir();

// One line to stdout / stderr, whole, even with several upload threads.
void say(const std::string& line);
void warn(const std::string& line);
// A timestamped log line on stderr (dock mode logs every step).
void log_step(const std::string& line);

using evidence::human_bytes;  // base/files.h

}  // namespace evidencectl

namespace evidencectl {
// "8M", "512k", "1MiB", "1048576": bytes (binary multiples). Failure(kCannotRun) otherwise.
std::uint64_t parse_size(const std::string& text);

// SIGINT/SIGTERM set a flag that long-running commands poll to stop cleanly
// (keeping resumable state) instead of dying mid-write.
void install_stop_signals();
bool stop_requested();
}  // namespace evidencectl
