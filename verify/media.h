// Media awareness: what a piece of footage is (probe), a poster frame (thumbnail),
// byte ranges aligned to keyframes whose hashes pin damage to seconds (segments),
// and stream-copied sub-ranges (clip).
//
// FFmpeg's libav* is used only inside verify/media.cpp; callers see our own types.
//
// Threat model: every input file is untrusted evidence, possibly damaged or hostile.
// In-process calls are bounded (a deadline checked in the I/O callbacks and packet
// loops, probesize/analyzeduration caps, a cap on bytes read, no nested URLs: a
// playlist or concat file can never make the demuxer open another file or the
// network). They cannot bound memory or a decoder stuck in a loop without reading,
// so for real isolation run the same functions in a child process through
// `media_worker_main` / `run_media_worker`, which add resource limits, a kill on
// timeout and a sandbox (verify/media_sandbox.h): the worker gets its input as a
// descriptor and can open no file, reach no network and write no file of its own.
//
// Thread safety: every function is safe to call concurrently from several threads
// (each call owns its libav contexts).
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "store/codec.h"
#include "store/content_id.h"
#include "store/merkle.h"

namespace evidence::media {

// Bounds for one call. `seconds` is a wall-clock deadline for the whole call (0 means
// none); `max_bytes` caps the bytes the demuxer may read from the file (0 means none;
// seeks are free, so an MP4 whose index sits at the end costs only what is read).
struct ProbeLimits {
  double seconds = 10.0;
  std::uint64_t max_bytes = 256ull << 20;
};

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

// A cheap first look, in process and without libav: false when the first bytes of a
// file (pass at least kSniffBytes when the file has them) carry none of the
// signatures of the containers and streams recorders, phones and cameras write
// (MP4/MOV/3GP/HEIF, Matroska/WebM, AVI/WAV/WebP, MPEG-TS/PS, raw H.264/H.265,
// FLV, ASF, Ogg, FLAC, MP3/AAC, AMR, AIFF, CAF, JPEG, PNG, GIF, TIFF, BMP). The daemon
// spawns a media worker only for files that pass, so a document or random bytes do
// not cost a process each. Errs on the side of true.
inline constexpr std::size_t kSniffBytes = 512;
bool looks_like_media(std::span<const std::uint8_t> head);

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

// A JPEG poster frame: a frame decoded near 10% of the duration (else the first
// decodable one), scaled to at most `max_width` pixels wide keeping the display
// aspect ratio (never upscaled), encoded with libavcodec's mjpeg encoder.
// Throws Error(invalid_argument) when the file has no video stream (cover art does
// not count), Error(corrupt) when no frame can be decoded, Error(unavailable) when
// the deadline passes.
Bytes thumbnail_jpeg(const std::filesystem::path& file, int max_width = 320,
                     const ProbeLimits& limits = {});
Bytes thumbnail_jpeg(int fd, int max_width = 320, const ProbeLimits& limits = {});

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

// --- Isolation in a child process -------------------------------------------------

// The worker's descriptors: its input (read only) and, for thumbnail and clip, the
// file its output goes to, both opened by the parent. The worker opens nothing.
inline constexpr int kWorkerInputFd = 3;
inline constexpr int kWorkerOutputFd = 4;

// Entry point of a worker process (`evidenced media-worker ...`); call it only as a
// process's main: it confines the process it runs in for good (verify/media_sandbox.h:
// no new privileges, an unprivileged user when started as root, private namespaces
// where the kernel allows them, a seccomp filter that refuses every open, socket and
// exec). argv[0] is ignored (program or subcommand name); then one of
//   probe                 -> to_json(MediaInfo)  (also for non-media)
//   thumbnail [W]         -> {"size": N}, the JPEG written to descriptor 4
//   segments              -> {"segments": [...], "root": hex}
//   clip START END        -> {"start", "end", "format"}, the clip written to descriptor 4
//   status                -> {"sandbox": {...}}: the protections in force (media_sandbox.h)
//   selftest DIR [PATH..] -> {"sandbox", "open_keys", "opened", "connect", "create", "env", ...}:
//                            what a hostile input could still do (tests; media_sandbox.h)
// reading its input from descriptor 3. It prints one JSON value on stdout and returns
// the exit code: 0 on success, 1 with {"error": message, "code": errc name} when the
// operation failed, 2 with {"error": usage} for bad arguments. When stdin is a pipe it
// first reads it to EOF: run_media_worker closes that pipe only after applying the
// resource limits, so no file byte is parsed before the limits hold.
int media_worker_main(int argc, char** argv);

// A descriptor to hand to a worker (WorkerOptions), closed when this dies. Move-only.
class WorkerFile {
 public:
  // `file` opened read-only. Throws Error(not_found / permission_denied / io_error).
  static WorkerFile input(const std::filesystem::path& file);
  // `file` created for writing (it must not exist yet; mode 0600). Throws as input.
  static WorkerFile output(const std::filesystem::path& file);
  WorkerFile(WorkerFile&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  WorkerFile& operator=(WorkerFile&&) = delete;
  WorkerFile(const WorkerFile&) = delete;
  WorkerFile& operator=(const WorkerFile&) = delete;
  ~WorkerFile();
  int fd() const { return fd_; }

 private:
  explicit WorkerFile(int fd) : fd_(fd) {}
  int fd_ = -1;
};

struct WorkerOptions {
  int timeout_s = 30;                  // wall clock; the CPU time limit is the same
  std::size_t memory_limit_bytes = 0;  // RLIMIT_AS; 0 = none
  int nice_increment = 0;              // > 0 lowers the child's CPU priority
  int input_fd = -1;                   // becomes the child's descriptor 3; -1 = none
  int output_fd = -1;                  // becomes the child's descriptor 4; -1 = none
  // RLIMIT_FSIZE: the largest file the child may write (through output_fd; it can
  // create none). 0 = no file at all.
  std::uint64_t max_output_bytes = 0;
};

// Spawns `exe` with `args` (args[0] is the first argument after the program name)
// via posix_spawn in its own process group, with an empty environment, stdout
// captured (at most 64 MiB), stderr discarded, and no descriptors but those and the
// two in `options` (as 3 and 4). Before the child may start (its stdin is a pipe
// closed only then) applies with prlimit: RLIMIT_AS = memory_limit_bytes (0 = none),
// RLIMIT_CPU = timeout_s, RLIMIT_NOFILE = kWorkerMaxFiles, RLIMIT_FSIZE =
// max_output_bytes, RLIMIT_CORE = 0. Kills the group with SIGKILL after `timeout_s` seconds.
// Returns the parsed stdout JSON when the child exited normally (whatever the exit
// code: the worker's errors are JSON too), nullopt when it could not be spawned,
// timed out, died by a signal (e.g. out of memory) or printed no valid JSON; then
// `*failure` (when given) says which.
inline constexpr int kWorkerMaxFiles = 16;
std::optional<boost::json::value> run_media_worker(const std::string& exe,
                                                   const std::vector<std::string>& args,
                                                   const WorkerOptions& options,
                                                   std::string* failure = nullptr);
// The same without descriptors (the form earlier callers use).
std::optional<boost::json::value> run_media_worker(const std::string& exe,
                                                   const std::vector<std::string>& args,
                                                   int timeout_s,
                                                   std::size_t memory_limit_bytes,
                                                   std::string* failure = nullptr,
                                                   int nice_increment = 0);

}  // namespace evidence::media
