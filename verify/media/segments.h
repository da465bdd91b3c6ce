// Byte ranges aligned to keyframes whose hashes pin damage to seconds of footage.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <filesystem>
#include <vector>

#include "store/content_id.h"
#include "store/merkle.h"
#include "verify/media/limits.h"

namespace evidence::media {

// One contiguous byte range of a file and its SHA-256.
struct Segment {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  // Presentation times in seconds from the start of the recording; -1 when the range
  // has no time (non-video files). Ranges holding headers or an index that the
  // whole recording depends on span the whole recording [0, duration].
  double start = -1;
  double end = -1;
  ContentId sha256;

  bool operator==(const Segment&) const = default;
};

inline constexpr std::uint64_t kFixedSegmentBytes = 4ull << 20;

// Splits the file into contiguous ranges that cover byte 0 to the end with no gaps
// or overlaps, in order:
//   - video (the first video stream that is not cover art, with keyframe packet
//     positions): a header range [0, first keyframe) when non-empty; one range per
//     group of pictures, cut at each keyframe's packet position (interleaved audio
//     travels with the video around it); a trailer range after the last packet's
//     bytes when non-empty (e.g. an MP4 index at the end). Header and trailer span
//     [0, duration], a group of pictures spans its keyframe's time to the next one's.
//   - anything else (audio, still images, not media, video with fewer than two
//     keyframes found, damage the demuxer cannot read past): kFixedSegmentBytes ranges
//     with start = end = -1.
// An empty file has no segments. Reads the whole file (packets, then hashing);
// `limits.max_bytes` is ignored, `limits.seconds` bounds the demuxing pass (on
// timeout the fixed ranges are used). Throws Error(not_found / io_error) for I/O.
std::vector<Segment> segment_hashes(const std::filesystem::path& file,
                                    const ProbeLimits& limits = {600.0, 0});
std::vector<Segment> segment_hashes(int fd, const ProbeLimits& limits = {600.0, 0});

// RFC 6962 Merkle root whose leaves are the 32 SHA-256 bytes of each segment, in
// order (leaf hash = SHA-256(0x00 || sha256)); empty_root() for no segments.
merkle::Hash segments_root(const std::vector<Segment>& segments);

// Re-hashes each recorded range of the file as it is now and returns the recorded
// segments whose bytes differ or are no longer (fully) there (truncation). When the
// file has grown past the last recorded range, one extra segment is returned for the
// added bytes (start = end = -1, sha256 of those bytes). Empty when intact.
// Throws Error(not_found / io_error) when the file cannot be read.
std::vector<Segment> damaged_segments(const std::filesystem::path& file,
                                      const std::vector<Segment>& recorded);

// [{"offset", "length", "start", "end", "sha256": hex}, ...]; start/end are null when
// the segment has no time.
boost::json::array to_json(const std::vector<Segment>& segments);
// Inverse of to_json; throws Error(corrupt) on a malformed list (bad hex, gaps,
// overlaps or a missing key).
std::vector<Segment> segments_from_json(const boost::json::value& v);

}  // namespace evidence::media
