// Internal to verify/media/: the libav plumbing the probe, thumbnail, segment and clip
// code share. A file as libav sees it (our own bounded reads, never a path or URL
// opened by the demuxer), the demuxer over it, and move-only owners of libav's
// packets, frames and contexts. Nothing outside verify/media/ includes this.
#pragma once

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/dict.h>
#include <libavutil/error.h>
#include <libavutil/imgutils.h>
#include <libavutil/mathematics.h>
#include <libavutil/mem.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
}

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "verify/media/limits.h"

namespace evidence::media::detail {

using Clock = std::chrono::steady_clock;

// Sets libav's log level and allocation cap, once per process. Input's constructor
// calls it; so must code that uses libav without an Input.
void init_libav();

// libav's words for a negative AVERROR.
std::string av_error_text(int rc);

// An AVIOContext seek on a position `pos` within `size` bytes: the new position (also
// stored in `pos`), the size for AVSEEK_SIZE, or AVERROR(EINVAL).
std::int64_t avio_seek(std::int64_t& pos, std::int64_t size, std::int64_t offset, int whence);

// Reads go through pread on a descriptor we own, so the demuxer never opens a path or
// URL itself, every read is counted against the byte budget and the deadline, and the
// file name (which for a blob carries no extension anyway) gives no format hints.
struct FileSource {
  int fd = -1;
  std::int64_t size = 0;
  std::int64_t pos = 0;
  std::uint64_t bytes_read = 0;
  std::uint64_t max_bytes = 0;  // 0 = unlimited
  std::optional<Clock::time_point> deadline;
  bool timed_out = false;
  bool over_budget = false;

  bool expired() {
    if (deadline && Clock::now() >= *deadline) timed_out = true;
    return timed_out;
  }
};

// An input file: opened here by path, or a descriptor the caller owns (the media
// worker's, handed over by its parent) borrowed for one call.
class Fd {
 public:
  // Throws Error(not_found / permission_denied / io_error) via system_error.
  explicit Fd(const std::filesystem::path& path);
  // Throws Error(invalid_argument) for a negative descriptor.
  Fd(int borrowed, std::string name);
  ~Fd();
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  const std::string& name() const { return name_; }
  // Throws Error(invalid_argument) when the descriptor is not a regular file.
  std::int64_t size() const;

 private:
  int fd_ = -1;
  std::string name_;
  bool owned_ = false;
};

// An opened demuxer over a FileSource. Move-free; lives on the stack of one call.
class Input {
 public:
  Input(const Fd& file, const ProbeLimits& limits);
  ~Input();
  Input(const Input&) = delete;
  Input& operator=(const Input&) = delete;

  // Opens the demuxer; returns a negative AVERROR on failure.
  int open();

  AVFormatContext* fmt() const { return fmt_; }
  FileSource& source() { return src_; }
  bool opened() const { return fmt_ != nullptr; }

  // Why open() failed, in words.
  std::string failure(int rc) const;

  // Seconds from the start of the recording for a timestamp of stream `st`, to the
  // microsecond (finer is noise from time-base arithmetic).
  double seconds(const AVStream* st, std::int64_t ts) const;
  std::optional<double> duration() const;
  // The first video stream that is footage rather than cover art, or -1.
  int video_stream() const;

 private:
  FileSource src_;
  AVIOContext* avio_ = nullptr;
  AVFormatContext* fmt_ = nullptr;
};

struct PacketDeleter {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct FrameDeleter {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct CodecDeleter {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct SwsDeleter {
  void operator()(SwsContext* s) const { sws_freeContext(s); }
};
using PacketPtr = std::unique_ptr<AVPacket, PacketDeleter>;
using FramePtr = std::unique_ptr<AVFrame, FrameDeleter>;
using CodecPtr = std::unique_ptr<AVCodecContext, CodecDeleter>;
using SwsPtr = std::unique_ptr<SwsContext, SwsDeleter>;

// Throw Error(internal) when libav is out of memory.
PacketPtr make_packet();
FramePtr make_frame();

}  // namespace evidence::media::detail
