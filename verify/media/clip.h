// Stream-copied sub-ranges of a recording.
#pragma once

#include <filesystem>
#include <string>

#include "verify/media/limits.h"

namespace evidence::media {

struct ClipResult {
  double start = 0;    // actual start in the source (the keyframe at or before start)
  double end = 0;      // last timestamp copied (source time, seconds)
  std::string format;  // muxer used, e.g. "mp4", "mov", "matroska", "avi"
};

// Copies [start, end) seconds of `in` into `out` by stream copy (no re-encoding), in
// the same container type as the input (chosen from the input, not from out's
// name), beginning at the keyframe at or before `start`; timestamps are shifted so
// the clip starts at 0. Video, audio and subtitle streams are kept; data streams
// and cover art are dropped. `out` is created or replaced. Throws
// Error(invalid_argument) for a bad range, a range past the end of the recording or
// a file without streams that can be copied, Error(corrupt) when the input cannot be
// demuxed, Error(unavailable) when the deadline passes, Error(io_error) when writing
// fails. On any error `out` is removed.
ClipResult clip(const std::filesystem::path& in, double start, double end,
                const std::filesystem::path& out, const ProbeLimits& limits = {600.0, 0});
// The same from descriptor `in_fd` into `out_fd`, an empty regular file open for
// writing (borrowed; written with pwrite from offset 0). On error what was written
// stays: the caller, who made the file, discards it.
ClipResult clip(int in_fd, double start, double end, int out_fd, const ProbeLimits& limits = {600.0, 0});

}  // namespace evidence::media
