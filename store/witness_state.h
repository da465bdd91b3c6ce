// The state of an `evidence-witness` (tools/evidence-witness), a C2SP tlog-witness
// that another institution runs: its name and key file, the logs it witnesses (origin
// and verifier keys) and, per log, the latest checkpoint it cosigned. One JSON file,
// replaced atomically (temp file, fsync, rename, fsync the folder) before the witness
// answers, so a crash never leaves a cosignature for a state it did not keep.
//
// Layout of a witness directory:
//   witness.json   {"name", "logs": [{"origin", "keys": [vkey...], "size", "root", "checkpoint"}]}
//   witness.key    the Ed25519 private key (PEM, 0600), written by tools/ through verify/
//   lock           held by the running `serve`
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace evidence {

struct WitnessedLog {
  std::string origin;
  std::vector<std::string> keys;  // vkeys (type 0x01) the log's checkpoints are signed with
  std::uint64_t size = 0;         // latest cosigned size; 0: none yet
  std::string root;               // its root hash, base64 ("" when size is 0)
  std::string checkpoint;         // its signed note as received ("" when size is 0)
};

struct WitnessState {
  std::string name;  // the witness's key name, e.g. "court.example/witness"
  std::vector<WitnessedLog> logs;

  WitnessedLog* find(const std::string& origin);
};

class WitnessDir {
 public:
  explicit WitnessDir(std::filesystem::path root) : root_(std::move(root)) {}
  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path key_file() const { return root_ / "witness.key"; }
  std::filesystem::path lock_file() const { return root_ / "lock"; }

  // Creates the folder (which must not exist or be empty) and the first state.
  // Error(already_exists) when a witness is already there.
  void create(const WitnessState& initial) const;
  // Error(not_found) when the folder holds no witness; Error(corrupt) when the state
  // file cannot be read as one.
  WitnessState load() const;
  // Atomic and durable replacement of the state file.
  void save(const WitnessState& state) const;

 private:
  std::filesystem::path state_file() const { return root_ / "witness.json"; }
  std::filesystem::path root_;
};

// Holds DIR/lock (flock) for as long as it lives: one `serve` per witness directory,
// so two processes can never both check-and-update one log's state.
class WitnessLock {
 public:
  explicit WitnessLock(const WitnessDir& dir);  // Error(conflict) when held elsewhere
  ~WitnessLock();
  WitnessLock(const WitnessLock&) = delete;
  WitnessLock& operator=(const WitnessLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace evidence
