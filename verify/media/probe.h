// What a piece of footage is: container, streams, duration, tags (verify/media/limits.h
// says how calls are bounded).
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "verify/media/limits.h"

namespace evidence::media {

struct StreamInfo {
  std::string type;   // "video", "audio", "subtitle", "data", "attachment", "unknown"
  std::string codec;  // FFmpeg's codec name: h264, aac, mjpeg, pcm_s16le, ...
  std::optional<std::string> profile;  // e.g. "High", "LC"; absent when none
  std::optional<int> width, height;    // video only
  std::optional<double> frame_rate;    // video only: average, else base rate (fps)
  std::optional<int> sample_rate;      // audio only (Hz)
  std::optional<int> channels;         // audio only
};

struct MediaInfo {
  bool ok = false;
  std::string reason;  // when !ok: "not a media file: ...", "unreadable media: ...",
                       // "probe time limit exceeded", "probe read limit exceeded"
  std::string container;            // demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
  std::optional<double> duration;   // seconds
  std::optional<std::int64_t> bit_rate;  // bits per second
  std::vector<StreamInfo> streams;
  // Container tags as found (UTF-8 sanitised, bounded in count and length), plus
  // normalised keys where any known alias was present: creation_time, make, model,
  // serial (device serial number) and location (ISO 6709, e.g. "+48.8577+002.2950/").
  std::map<std::string, std::string> tags;
};

// Never throws for a file that is not media, damaged or hostile: the answer carries
// ok=false and a reason. Throws Error(not_found / permission_denied / io_error) only
// when the file itself cannot be opened.
MediaInfo probe(const std::filesystem::path& file, const ProbeLimits& limits = {});
// The same over a descriptor open for reading a regular file (borrowed: not closed;
// read with pread, so its offset is neither used nor moved). So are the other `int fd`
// overloads below; they are what the media worker uses, as it may open nothing.
MediaInfo probe(int fd, const ProbeLimits& limits = {});

// DESIGN.md's "media" shape: {"container", "duration", "bit_rate", "streams": [{"type",
// "codec", "profile", "width", "height", "frame_rate", "sample_rate", "channels"}],
// "tags": {...}}; every stream carries every key (null where it does not apply).
// When !info.ok: {"error": reason}.
boost::json::object to_json(const MediaInfo& info);
// Inverse of to_json (accepts what to_json writes; {"error": r} gives ok=false).
// Throws Error(corrupt) on another shape.
MediaInfo media_info_from_json(const boost::json::value& v);

}  // namespace evidence::media
