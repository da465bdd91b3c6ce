// A poster frame for a recording.
#pragma once

#include <filesystem>

#include "base/codec.h"
#include "verify/media/limits.h"

namespace evidence::media {

// A JPEG poster frame: a frame decoded near 10% of the duration (else the first
// decodable one), scaled to at most `max_width` pixels wide keeping the display
// aspect ratio (never upscaled), encoded with libavcodec's mjpeg encoder.
// Throws Error(invalid_argument) when the file has no video stream (cover art does
// not count), Error(corrupt) when no frame can be decoded, Error(unavailable) when
// the deadline passes.
Bytes thumbnail_jpeg(const std::filesystem::path& file, int max_width = 320,
                     const ProbeLimits& limits = {});
Bytes thumbnail_jpeg(int fd, int max_width = 320, const ProbeLimits& limits = {});

}  // namespace evidence::media
