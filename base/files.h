// Small file and descriptor helpers shared by every library: whole-file reads of
// small text files (keys, certificates, configuration), a write loop that survives
// short writes and EINTR, and sizes for people. Data-directory paths are built only
// by store/ (store/layout.h); these take whatever path or descriptor they are given.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace evidence {

// The whole file. Error(not_found) when it does not exist, Error(io_error) (or
// permission_denied) when it cannot be read.
std::string read_text_file(const std::filesystem::path& p);

// Writes all `n` bytes to `fd`, retrying short writes and EINTR. Throws
// system_error(errno, "write " + what) (ENOSPC is no_space).
void write_all(int fd, const void* data, std::size_t n, const std::string& what);

// "512 B", "1.5 KiB", "3.2 GiB": binary units, one decimal above bytes.
std::string human_bytes(double bytes);

}  // namespace evidence
