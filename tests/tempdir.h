// A temporary folder for one test, removed with everything in it at scope exit.
// Header-only so every test program can use it without the support library.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

namespace evidence::test {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "evidence-test-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    // Blobs are 0444 inside 0755 folders; removal needs only the folders' write bits.
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& s) const { return path_ / s; }

 private:
  std::filesystem::path path_;
};

}  // namespace evidence::test
