// Stream copy of a time range into the same container type. See clip.h.
#include "verify/media/clip.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <limits>
#include <vector>

#include "base/error.h"
#include "verify/media/libav.h"

namespace evidence::media {

using namespace detail;

namespace {

// --- Output: a descriptor ----------------------------------------------------------

// Where a clip's bytes go: a descriptor (opened here, or the media worker's, handed
// over by its parent), written with pwrite at the muxer's position so that muxers
// which seek back (an MP4's mdat size, Matroska's cues) work as on a file they opened.
struct FileSink {
  int fd = -1;
  std::int64_t pos = 0;
  std::int64_t end = 0;
};

#if LIBAVFORMAT_VERSION_MAJOR >= 61
using WriteBuffer = const std::uint8_t*;
#else
using WriteBuffer = std::uint8_t*;  // FFmpeg before 7 declares the buffer non-const
#endif

int write_packet(void* opaque, WriteBuffer buf, int size) {
  auto* s = static_cast<FileSink*>(opaque);
  int done = 0;
  while (done < size) {
    const ssize_t n = ::pwrite(s->fd, buf + done, static_cast<std::size_t>(size - done), s->pos);
    if (n < 0) {
      if (errno == EINTR) continue;
      return AVERROR(errno);  // EFBIG at the worker's file size limit, ENOSPC, ...
    }
    done += static_cast<int>(n);
    s->pos += n;
  }
  s->end = std::max(s->end, s->pos);
  return size;
}

std::int64_t seek_sink(void* opaque, std::int64_t offset, int whence) {
  auto* s = static_cast<FileSink*>(opaque);
  return avio_seek(s->pos, s->end, offset, whence);
}

// Owns the muxer context and its I/O over a FileSink.
class OutputFile {
 public:
  OutputFile(AVFormatContext* oc, int fd) : oc_(oc) { sink_.fd = fd; }
  ~OutputFile() {
    if (oc_) avformat_free_context(oc_);  // AVFMT_FLAG_CUSTOM_IO: leaves pb to us
    if (avio_) {
      av_freep(&avio_->buffer);
      avio_context_free(&avio_);
    }
  }
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  AVFormatContext* get() const { return oc_; }

  // Attaches the descriptor as the muxer's output; a negative AVERROR on failure.
  int open() {
    constexpr int kBufferSize = 64 * 1024;
    auto* buffer = static_cast<std::uint8_t*>(av_malloc(kBufferSize));
    if (!buffer) return AVERROR(ENOMEM);
    avio_ = avio_alloc_context(buffer, kBufferSize, 1, &sink_, nullptr, write_packet, seek_sink);
    if (!avio_) {
      av_free(buffer);
      return AVERROR(ENOMEM);
    }
    oc_->pb = avio_;
    oc_->flags |= AVFMT_FLAG_CUSTOM_IO;
    return 0;
  }
  // Flushes what the muxer buffered; a negative AVERROR when a write failed.
  int finish() {
    if (!avio_) return 0;
    avio_flush(avio_);
    return avio_->error;
  }

 private:
  AVFormatContext* oc_;
  AVIOContext* avio_ = nullptr;
  FileSink sink_;
};

// The muxer for "the same container type" as the input.
const AVOutputFormat* matching_muxer(const AVFormatContext* in) {
  const std::string name = in->iformat->name;
  std::string muxer = name.substr(0, name.find(','));
  if (name.rfind("mov,mp4", 0) == 0) {
    const AVDictionaryEntry* brand = av_dict_get(in->metadata, "major_brand", nullptr, 0);
    muxer = brand && std::string_view(brand->value).rfind("qt", 0) == 0 ? "mov" : "mp4";
  } else if (name.rfind("matroska", 0) == 0) {
    muxer = "matroska";
  }
  return av_guess_format(muxer.c_str(), nullptr, nullptr);
}

ClipResult clip_of(const Fd& input, double start, double end, int out_fd, const ProbeLimits& limits) {
  constexpr double kMaxSeconds = 1e9;  // ~31 years; keeps microsecond maths in int64
  if (!(start >= 0) || !(end > start) || !(end <= kMaxSeconds))
    throw Error(Errc::invalid_argument, "clip range must satisfy 0 <= start < end <= 1e9");
  Input in(input, {limits.seconds, 0});
  if (const int rc = in.open(); rc < 0) throw Error(Errc::corrupt, in.failure(rc));
  AVFormatContext* ifmt = in.fmt();
  auto check_time = [&] {
    if (in.source().expired()) throw Error(Errc::unavailable, "clip time limit exceeded");
  };

  const AVOutputFormat* ofmt = matching_muxer(ifmt);
  if (!ofmt) throw Error(Errc::invalid_argument, std::string("cannot write container ") + ifmt->iformat->name);
  AVFormatContext* oc_raw = nullptr;
  if (avformat_alloc_output_context2(&oc_raw, ofmt, nullptr, nullptr) < 0 || !oc_raw)
    throw Error(Errc::internal, "cannot create output context");
  OutputFile out(oc_raw, out_fd);
  AVFormatContext* oc = out.get();

  const int v = in.video_stream();
  std::vector<int> map(ifmt->nb_streams, -1);
  std::vector<bool> gates_end(ifmt->nb_streams, false);  // streams whose end ends the clip
  for (unsigned i = 0; i < ifmt->nb_streams; ++i) {
    const AVStream* ist = ifmt->streams[i];
    const auto type = ist->codecpar->codec_type;
    if (type != AVMEDIA_TYPE_VIDEO && type != AVMEDIA_TYPE_AUDIO && type != AVMEDIA_TYPE_SUBTITLE) continue;
    if (ist->disposition & AV_DISPOSITION_ATTACHED_PIC) continue;
    if (avformat_query_codec(ofmt, ist->codecpar->codec_id, FF_COMPLIANCE_NORMAL) != 1) continue;
    AVStream* ost = avformat_new_stream(oc, nullptr);
    if (!ost) throw Error(Errc::internal, "out of memory (stream)");
    if (avcodec_parameters_copy(ost->codecpar, ist->codecpar) < 0) throw Error(Errc::internal, "codec parameters");
    ost->codecpar->codec_tag = 0;
    ost->time_base = ist->time_base;
    ost->disposition = ist->disposition;
    av_dict_copy(&ost->metadata, ist->metadata, 0);
    map[i] = ost->index;
    gates_end[i] = v >= 0 ? static_cast<int>(i) == v : type == AVMEDIA_TYPE_AUDIO;
  }
  if (oc->nb_streams == 0) throw Error(Errc::invalid_argument, "no stream that can be copied");
  // The clip keeps the recording's provenance tags (creation_time, make, model, ...).
  av_dict_copy(&oc->metadata, ifmt->metadata, 0);
  oc->avoid_negative_ts = AVFMT_AVOID_NEG_TS_MAKE_NON_NEGATIVE;

  const double origin = ifmt->start_time != AV_NOPTS_VALUE ? static_cast<double>(ifmt->start_time) / AV_TIME_BASE : 0;
  auto seek_to_time = [&](double t) {
    const double target = (t + origin) * AV_TIME_BASE;
    const auto ts = std::abs(target) < 9e18 ? static_cast<std::int64_t>(target) : 0;
    if (av_seek_frame(ifmt, -1, ts, AVSEEK_FLAG_BACKWARD) < 0)
      avformat_seek_file(ifmt, -1, std::numeric_limits<std::int64_t>::min(), 0, 0, 0);
  };
  auto packet_time = [&](const AVPacket* p) -> std::optional<double> {
    const std::int64_t ts = p->pts != AV_NOPTS_VALUE ? p->pts : p->dts;
    if (ts == AV_NOPTS_VALUE) return std::nullopt;
    return in.seconds(ifmt->streams[p->stream_index], ts);
  };

  auto pkt = make_packet();
  // Pass 1: the keyframe at or before start. Seeking is approximate in some
  // containers, so look at the keyframes themselves.
  double begin = start;
  std::int64_t begin_pts = AV_NOPTS_VALUE;  // in the video stream's time base
  if (v >= 0) {
    seek_to_time(start);
    std::optional<double> best;
    for (;;) {
      check_time();
      if (av_read_frame(ifmt, pkt.get()) < 0) break;
      if (pkt->stream_index == v && (pkt->flags & AV_PKT_FLAG_KEY)) {
        auto t = packet_time(pkt.get());
        if (t && (*t <= start + 1e-6 || !best)) {
          best = *t;
          begin_pts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
        }
        if (t && *t > start + 1e-6) {
          av_packet_unref(pkt.get());
          break;
        }
      }
      av_packet_unref(pkt.get());
    }
    if (!best) throw Error(Errc::corrupt, "no keyframe found near the clip start");
    begin = *best;
  }

  std::vector<std::int64_t> shift(ifmt->nb_streams, 0);
  for (unsigned i = 0; i < ifmt->nb_streams; ++i) {
    const AVStream* ist = ifmt->streams[i];
    if (v >= 0) {
      shift[i] = av_rescale_q(begin_pts, ifmt->streams[v]->time_base, ist->time_base);
    } else {
      const double target = (begin + origin) * AV_TIME_BASE;
      const auto ts = std::abs(target) < 9e18 ? static_cast<std::int64_t>(target) : 0;
      shift[i] = av_rescale_q(ts, AV_TIME_BASE_Q, ist->time_base);
    }
  }

  AVDictionary* mux_opts = nullptr;
  if (!(ofmt->flags & AVFMT_NOFILE)) {
    if (int rc = out.open(); rc < 0) throw Error(Errc::io_error, "cannot start the clip: " + av_error_text(rc));
  }
  if (int rc = avformat_write_header(oc, &mux_opts); rc < 0) {
    av_dict_free(&mux_opts);
    throw Error(Errc::io_error, "cannot write clip header: " + av_error_text(rc));
  }
  av_dict_free(&mux_opts);

  // Pass 2: copy from the chosen keyframe until every gating stream reaches end.
  seek_to_time(begin);
  bool started = v < 0;
  std::vector<bool> finished(ifmt->nb_streams, false);
  std::vector<std::int64_t> last_dts(ifmt->nb_streams, AV_NOPTS_VALUE);
  std::size_t written = 0;
  double last_time = begin;
  for (;;) {
    check_time();
    if (av_read_frame(ifmt, pkt.get()) < 0) break;
    const int si = pkt->stream_index;
    auto t = packet_time(pkt.get());
    if (!started && si == v && (pkt->flags & AV_PKT_FLAG_KEY) && t && *t >= begin - 1e-6) started = true;
    // Anything well past the end means every stream is done, gating or not.
    if (t && *t >= end + 10) {
      av_packet_unref(pkt.get());
      break;
    }
    if (!started || map[si] < 0 || finished[si] || (t && *t < begin - 1e-6)) {
      av_packet_unref(pkt.get());
      continue;
    }
    // Decode order: once a packet decodes at or after end, so do all that follow.
    const std::int64_t dts = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts;
    if (dts != AV_NOPTS_VALUE && in.seconds(ifmt->streams[si], dts) >= end) {
      finished[si] = true;
      av_packet_unref(pkt.get());
      bool all = true;
      for (unsigned i = 0; i < ifmt->nb_streams; ++i)
        if (gates_end[i] && !finished[i]) all = false;
      if (all) break;
      continue;
    }
    if (pkt->dts != AV_NOPTS_VALUE && last_dts[si] != AV_NOPTS_VALUE && pkt->dts <= last_dts[si]) {
      av_packet_unref(pkt.get());  // damaged timestamps would make the muxer refuse the file
      continue;
    }
    if (pkt->dts != AV_NOPTS_VALUE) last_dts[si] = pkt->dts;
    if (t) {
      const double dur = pkt->duration > 0 ? static_cast<double>(pkt->duration) * av_q2d(ifmt->streams[si]->time_base) : 0;
      last_time = std::max(last_time, *t + dur);
    }
    if ((pkt->pts != AV_NOPTS_VALUE && __builtin_sub_overflow(pkt->pts, shift[si], &pkt->pts)) ||
        (pkt->dts != AV_NOPTS_VALUE && __builtin_sub_overflow(pkt->dts, shift[si], &pkt->dts))) {
      av_packet_unref(pkt.get());  // timestamps from damage, beyond any real recording
      continue;
    }
    const AVStream* ost = oc->streams[map[si]];
    av_packet_rescale_ts(pkt.get(), ifmt->streams[si]->time_base, ost->time_base);
    pkt->stream_index = map[si];
    pkt->pos = -1;
    if (int rc = av_interleaved_write_frame(oc, pkt.get()); rc < 0)
      throw Error(Errc::io_error, "cannot write clip: " + av_error_text(rc));
    ++written;
  }
  if (written == 0 || last_time <= start)
    throw Error(Errc::invalid_argument, "nothing to copy in the requested range");
  if (int rc = av_write_trailer(oc); rc < 0) throw Error(Errc::io_error, "cannot finish clip: " + av_error_text(rc));
  if (int rc = out.finish(); rc < 0) throw Error(Errc::io_error, "cannot write clip: " + av_error_text(rc));
  return {begin, last_time, ofmt->name};
}

}  // namespace

ClipResult clip(const std::filesystem::path& in_path, double start, double end,
                const std::filesystem::path& out_path, const ProbeLimits& limits) {
  const Fd input(in_path);
  int out_fd;
  do {
    out_fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  } while (out_fd < 0 && errno == EINTR);
  if (out_fd < 0) throw system_error(errno, "create " + out_path.string());
  struct Close {
    int fd;
    ~Close() { ::close(fd); }
  } close_out{out_fd};
  struct RemoveUnlessDone {
    const std::filesystem::path& path;
    bool done = false;
    ~RemoveUnlessDone() {
      std::error_code ec;
      if (!done) std::filesystem::remove(path, ec);
    }
  } guard{out_path};
  ClipResult r = clip_of(input, start, end, out_fd, limits);
  guard.done = true;
  return r;
}

ClipResult clip(int in_fd, double start, double end, int out_fd, const ProbeLimits& limits) {
  if (out_fd < 0) throw Error(Errc::invalid_argument, "no descriptor for the clip");
  return clip_of(Fd(in_fd, "input"), start, end, out_fd, limits);
}

}  // namespace evidence::media
