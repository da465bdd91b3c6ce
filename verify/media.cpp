// The only file that talks to FFmpeg's libav*. See media.h for the contracts.
#include "verify/media.h"

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

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <limits>
#include <mutex>
#include <thread>

#include "store/error.h"
#include "store/ids.h"
#include "verify/media_sandbox.h"

namespace evidence::media {

namespace {

using Clock = std::chrono::steady_clock;

// libav logs every oddity of a damaged file to stderr; for evidence that is noise in
// the daemon's log. EVIDENCE_MEDIA_LOG=1 brings it back when debugging.
//
// No single buffer that probing, a poster frame or segment hashing of footage up to
// 8K needs is near 256 MiB (an 8K RGBA frame is 127 MiB), but a 200-byte WAV whose
// INFO chunk declares 1.7 GB makes libav ask for that much at once (found by
// fuzz_media). Capping libav's allocations makes such a file fail as "not media"
// at once, instead of at the worker's memory limit.
constexpr std::size_t kMaxLibavAllocation = std::size_t{256} << 20;

void init_libav() {
  static std::once_flag once;
  std::call_once(once, [] {
    const char* env = std::getenv("EVIDENCE_MEDIA_LOG");
    av_log_set_level(env && *env == '1' ? AV_LOG_INFO : AV_LOG_FATAL);
    av_max_alloc(kMaxLibavAllocation);
  });
}

std::string av_error_text(int rc) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  if (av_strerror(rc, buf, sizeof buf) < 0) return "libav error " + std::to_string(rc);
  return buf;
}

// --- A file as libav sees it: our own reads, bounded ------------------------------

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

int read_packet(void* opaque, std::uint8_t* buf, int size) {
  auto* s = static_cast<FileSource*>(opaque);
  if (s->expired()) return AVERROR_EXIT;
  std::size_t want = static_cast<std::size_t>(size);
  if (s->max_bytes) {
    if (s->bytes_read >= s->max_bytes) {
      s->over_budget = true;
      return AVERROR(EFBIG);
    }
    want = static_cast<std::size_t>(std::min<std::uint64_t>(want, s->max_bytes - s->bytes_read));
  }
  if (s->pos >= s->size) return AVERROR_EOF;
  ssize_t n;
  do {
    n = ::pread(s->fd, buf, want, s->pos);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return AVERROR(errno);
  if (n == 0) return AVERROR_EOF;
  s->pos += n;
  s->bytes_read += static_cast<std::uint64_t>(n);
  return static_cast<int>(n);
}

// An AVIOContext seek on a position `pos` within `size` bytes: the new position (also
// stored in `pos`), the size for AVSEEK_SIZE, or AVERROR(EINVAL).
std::int64_t avio_seek(std::int64_t& pos, std::int64_t size, std::int64_t offset, int whence) {
  if (whence & AVSEEK_SIZE) return size;
  whence &= ~AVSEEK_FORCE;
  std::int64_t target;
  switch (whence) {
    case SEEK_SET: target = offset; break;
    case SEEK_CUR: target = pos + offset; break;
    case SEEK_END: target = size + offset; break;
    default: return AVERROR(EINVAL);
  }
  if (target < 0) return AVERROR(EINVAL);
  pos = target;
  return target;
}

std::int64_t seek_to(void* opaque, std::int64_t offset, int whence) {
  auto* s = static_cast<FileSource*>(opaque);
  return avio_seek(s->pos, s->size, offset, whence);
}

int interrupt_cb(void* opaque) { return static_cast<FileSource*>(opaque)->expired() ? 1 : 0; }

// A demuxer asking to open another resource (HLS playlist, concat list, image
// sequence, reference movie) is refused: evidence is one file, and a hostile upload
// must not make us read other files or the network.
int refuse_nested_open(AVFormatContext*, AVIOContext**, const char*, int, AVDictionary**) {
  return AVERROR(EPERM);
}

// An input file: opened here by path, or a descriptor the caller owns (the media
// worker's, handed over by its parent) borrowed for one call.
class Fd {
 public:
  explicit Fd(const std::filesystem::path& path) : name_(path.string()), owned_(true) {
    do {
      fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    } while (fd_ < 0 && errno == EINTR);
    if (fd_ < 0) throw system_error(errno, "open " + name_);
  }
  Fd(int borrowed, std::string name) : fd_(borrowed), name_(std::move(name)), owned_(false) {
    if (fd_ < 0) throw Error(Errc::invalid_argument, "no descriptor for " + name_);
  }
  ~Fd() {
    if (owned_ && fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  const std::string& name() const { return name_; }
  std::int64_t size() const {
    struct stat st{};
    if (::fstat(fd_, &st) != 0) throw system_error(errno, "stat " + name_);
    if (!S_ISREG(st.st_mode)) throw Error(Errc::invalid_argument, "not a regular file: " + name_);
    return st.st_size;
  }

 private:
  int fd_ = -1;
  std::string name_;
  bool owned_ = false;
};

// An opened demuxer over a FileSource. Move-free; lives on the stack of one call.
class Input {
 public:
  Input(const Fd& file, const ProbeLimits& limits) {
    init_libav();
    src_.fd = file.get();
    src_.size = file.size();
    src_.max_bytes = limits.max_bytes;
    if (limits.seconds > 0) {
      src_.deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                         std::chrono::duration<double>(limits.seconds));
    }
  }
  ~Input() {
    if (fmt_) avformat_close_input(&fmt_);
    if (avio_) {
      av_freep(&avio_->buffer);
      avio_context_free(&avio_);
    }
  }
  Input(const Input&) = delete;
  Input& operator=(const Input&) = delete;

  // Opens the demuxer; returns a negative AVERROR on failure.
  int open() {
    constexpr int kBufferSize = 64 * 1024;
    auto* buffer = static_cast<std::uint8_t*>(av_malloc(kBufferSize));
    if (!buffer) return AVERROR(ENOMEM);
    avio_ = avio_alloc_context(buffer, kBufferSize, 0, &src_, read_packet, nullptr, seek_to);
    if (!avio_) {
      av_free(buffer);
      return AVERROR(ENOMEM);
    }
    fmt_ = avformat_alloc_context();
    if (!fmt_) return AVERROR(ENOMEM);
    fmt_->pb = avio_;
    fmt_->flags |= AVFMT_FLAG_CUSTOM_IO;
    fmt_->interrupt_callback.callback = interrupt_cb;
    fmt_->interrupt_callback.opaque = &src_;
    fmt_->io_open = refuse_nested_open;
    // Enough to find the streams of any ordinary recording; far less than a
    // hostile file could make the demuxer chew through.
    fmt_->probesize = 10'000'000;
    fmt_->max_analyze_duration = 10 * static_cast<std::int64_t>(AV_TIME_BASE);
    fmt_->format_probesize = 1 << 20;
    AVDictionary* opts = nullptr;
    av_dict_set(&opts, "protocol_whitelist", "none", 0);
    int rc = avformat_open_input(&fmt_, nullptr, nullptr, &opts);
    av_dict_free(&opts);
    if (rc < 0) return rc;  // fmt_ was freed and nulled by libav
    rc = avformat_find_stream_info(fmt_, nullptr);
    if (rc < 0) return rc;
    if (src_.timed_out) return AVERROR_EXIT;
    return 0;
  }

  AVFormatContext* fmt() const { return fmt_; }
  FileSource& source() { return src_; }
  bool opened() const { return fmt_ != nullptr; }

  // Why open() failed, in words.
  std::string failure(int rc) const {
    if (src_.timed_out) return "probe time limit exceeded";
    if (src_.over_budget) return "probe read limit exceeded";
    if (!fmt_) return "not a media file: " + av_error_text(rc);
    return "unreadable media: " + av_error_text(rc);
  }

  // Seconds from the start of the recording for a timestamp of stream `st`, to the
  // microsecond (finer is noise from time-base arithmetic).
  double seconds(const AVStream* st, std::int64_t ts) const {
    // Doubles for the subtraction: damaged files carry timestamps near INT64's ends.
    const double origin = fmt_->start_time != AV_NOPTS_VALUE ? static_cast<double>(fmt_->start_time) : 0;
    const double us = static_cast<double>(av_rescale_q(ts, st->time_base, AV_TIME_BASE_Q)) - origin;
    return us / AV_TIME_BASE;
  }
  std::optional<double> duration() const {
    if (fmt_->duration == AV_NOPTS_VALUE || fmt_->duration <= 0) return std::nullopt;
    return static_cast<double>(fmt_->duration) / AV_TIME_BASE;
  }
  // The first video stream that is footage rather than cover art, or -1.
  int video_stream() const {
    for (unsigned i = 0; i < fmt_->nb_streams; ++i) {
      const AVStream* st = fmt_->streams[i];
      if (st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO &&
          !(st->disposition & AV_DISPOSITION_ATTACHED_PIC))
        return static_cast<int>(i);
    }
    return -1;
  }

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

PacketPtr make_packet() {
  PacketPtr p(av_packet_alloc());
  if (!p) throw Error(Errc::internal, "out of memory (packet)");
  return p;
}
FramePtr make_frame() {
  FramePtr f(av_frame_alloc());
  if (!f) throw Error(Errc::internal, "out of memory (frame)");
  return f;
}

// --- Tags -------------------------------------------------------------------------

// Tags come from the file: arbitrary bytes. JSON needs UTF-8, so invalid sequences
// become U+FFFD; control characters are kept (JSON escapes them).
std::string sanitize_utf8(std::string_view in, std::size_t max_len) {
  std::string out;
  out.reserve(std::min(in.size(), max_len));
  std::size_t i = 0;
  while (i < in.size() && out.size() < max_len) {
    const std::size_t start = i;
    if (next_code_point(in, i) >= 0) {
      out.append(in.substr(start, i - start));
    } else {
      out.append("\xEF\xBF\xBD");  // U+FFFD
      ++i;
    }
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Known spellings of the tags a reviewer asks for first. Keys compared lower-cased.
struct TagAlias {
  const char* name;
  std::vector<const char*> aliases;
};
const std::vector<TagAlias>& tag_aliases() {
  static const std::vector<TagAlias> table = {
      {"creation_time", {"creation_time", "com.apple.quicktime.creationdate", "date",
                         "date_recorded", "creation_date"}},
      {"make", {"make", "com.apple.quicktime.make", "com.android.manufacturer",
                "manufacturer"}},
      {"model", {"model", "com.apple.quicktime.model", "com.android.model"}},
      {"serial", {"serial", "serial_number", "serialnumber", "device_serial",
                  "camera_serial_number", "com.apple.quicktime.camera.serialnumber",
                  "com.apple.quicktime.serialnumber"}},
      {"location", {"location", "com.apple.quicktime.location.iso6709", "location-eng",
                    "com.android.location", "iso6709"}},
  };
  return table;
}

void collect_tags(const AVFormatContext* fmt, std::map<std::string, std::string>& tags) {
  constexpr std::size_t kMaxTags = 64, kMaxKey = 128, kMaxValue = 1024;
  std::map<std::string, std::string> lowered;  // lower-cased key -> value, for aliases
  auto take = [&](const AVDictionary* dict, bool into_tags) {
    const AVDictionaryEntry* e = nullptr;
    while ((e = av_dict_get(dict, "", e, AV_DICT_IGNORE_SUFFIX))) {
      std::string key = sanitize_utf8(e->key, kMaxKey);
      std::string value = sanitize_utf8(e->value, kMaxValue);
      lowered.emplace(lower(key), value);
      if (into_tags && tags.size() < kMaxTags) tags.emplace(std::move(key), std::move(value));
    }
  };
  take(fmt->metadata, true);
  // Stream tags only fill gaps (a camera may stamp creation_time on the track only).
  for (unsigned i = 0; i < fmt->nb_streams; ++i) take(fmt->streams[i]->metadata, false);

  for (const auto& [name, aliases] : tag_aliases()) {
    if (tags.count(name)) continue;
    for (const char* alias : aliases) {
      if (auto it = lowered.find(alias); it != lowered.end() && !it->second.empty()) {
        tags[name] = it->second;
        break;
      }
    }
    if (!tags.count(name) && std::string_view(name) == "serial") {
      for (const auto& [k, v] : lowered) {
        if (k.find("serial") != std::string::npos && !v.empty()) {
          tags[name] = v;
          break;
        }
      }
    }
  }
}

StreamInfo describe_stream(const AVStream* st) {
  const AVCodecParameters* par = st->codecpar;
  StreamInfo s;
  const char* type = av_get_media_type_string(par->codec_type);
  s.type = type ? type : "unknown";
  s.codec = avcodec_get_name(par->codec_id);
  if (par->profile != FF_PROFILE_UNKNOWN) {
    if (const char* p = avcodec_profile_name(par->codec_id, par->profile)) s.profile = p;
  }
  if (par->codec_type == AVMEDIA_TYPE_VIDEO) {
    if (par->width > 0) s.width = par->width;
    if (par->height > 0) s.height = par->height;
    AVRational rate = st->avg_frame_rate;
    if (rate.num <= 0 || rate.den <= 0) rate = st->r_frame_rate;
    if (rate.num > 0 && rate.den > 0) s.frame_rate = av_q2d(rate);
  } else if (par->codec_type == AVMEDIA_TYPE_AUDIO) {
    if (par->sample_rate > 0) s.sample_rate = par->sample_rate;
    if (par->ch_layout.nb_channels > 0) s.channels = par->ch_layout.nb_channels;
  }
  return s;
}

// --- Segments helpers ---------------------------------------------------------------

// Hashes consecutive ranges of an open file. Returns nullopt for a range that runs
// past the end of the file.
std::optional<ContentId> hash_range(int fd, std::uint64_t offset, std::uint64_t length,
                                    std::vector<std::uint8_t>& buf, const std::string& name) {
  Sha256 h;
  std::uint64_t done = 0;
  while (done < length) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), length - done));
    ssize_t n = ::pread(fd, buf.data(), want, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw system_error(errno, "read " + name);
    }
    if (n == 0) return std::nullopt;
    h.update(std::span<const std::uint8_t>(buf.data(), static_cast<std::size_t>(n)));
    done += static_cast<std::uint64_t>(n);
  }
  return h.finish();
}

struct Keyframe {
  std::uint64_t pos;
  double time;
};

struct VideoScan {
  std::vector<Keyframe> keyframes;  // strictly increasing positions
  std::uint64_t data_end = 0;       // end of the last packet's bytes
  double duration = 0;
};

std::optional<VideoScan> scan_video(const Fd& file, const ProbeLimits& limits) {
  Input in(file, {limits.seconds, 0});
  if (in.open() < 0) return std::nullopt;
  AVFormatContext* fmt = in.fmt();
  const int v = in.video_stream();
  if (v < 0) return std::nullopt;
  const AVStream* vst = fmt->streams[v];
  VideoScan scan;
  double video_end = 0;
  double last_time = 0;
  auto pkt = make_packet();
  for (;;) {
    if (in.source().expired()) return std::nullopt;
    const int rc = av_read_frame(fmt, pkt.get());
    if (rc < 0) break;  // end of file, or damage: what we have so far stands
    if (pkt->pos >= 0 && pkt->size > 0) {
      scan.data_end = std::max<std::uint64_t>(scan.data_end, static_cast<std::uint64_t>(pkt->pos) +
                                                                 static_cast<std::uint64_t>(pkt->size));
    }
    if (pkt->stream_index == v) {
      const std::int64_t ts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
      double t = last_time;
      if (ts != AV_NOPTS_VALUE) t = std::max(0.0, in.seconds(vst, ts));
      if (ts != AV_NOPTS_VALUE) {
        const double dur = static_cast<double>(std::max<std::int64_t>(pkt->duration, 0)) * av_q2d(vst->time_base);
        video_end = std::max(video_end, in.seconds(vst, ts) + dur);
      }
      if ((pkt->flags & AV_PKT_FLAG_KEY) && pkt->pos >= 0 &&
          (scan.keyframes.empty() || static_cast<std::uint64_t>(pkt->pos) > scan.keyframes.back().pos) &&
          static_cast<std::uint64_t>(pkt->pos) < static_cast<std::uint64_t>(in.source().size)) {
        // Times must not run backwards either, or a range would end before it starts.
        if (!scan.keyframes.empty()) t = std::max(t, scan.keyframes.back().time);
        scan.keyframes.push_back({static_cast<std::uint64_t>(pkt->pos), t});
        last_time = t;
      }
    }
    av_packet_unref(pkt.get());
  }
  // One keyframe is a still image (or footage too damaged to cut): fixed ranges.
  if (scan.keyframes.size() < 2) return std::nullopt;
  scan.duration = std::max(in.duration().value_or(0.0), video_end);
  scan.duration = std::max(scan.duration, scan.keyframes.back().time);
  return scan;
}

std::vector<Segment> fixed_ranges(std::uint64_t size) {
  std::vector<Segment> out;
  for (std::uint64_t off = 0; off < size; off += kFixedSegmentBytes) {
    out.push_back({off, std::min(kFixedSegmentBytes, size - off), -1, -1, {}});
  }
  return out;
}

std::vector<Segment> keyframe_ranges(const VideoScan& scan, std::uint64_t size) {
  std::vector<Segment> out;
  const auto& keys = scan.keyframes;
  if (keys.front().pos > 0) out.push_back({0, keys.front().pos, 0, scan.duration, {}});
  std::uint64_t media_end = scan.data_end > keys.back().pos ? std::min(scan.data_end, size) : size;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const std::uint64_t begin = keys[i].pos;
    const std::uint64_t end = i + 1 < keys.size() ? keys[i + 1].pos : media_end;
    const double t_end = i + 1 < keys.size() ? keys[i + 1].time : scan.duration;
    out.push_back({begin, end - begin, keys[i].time, std::max(t_end, keys[i].time), {}});
  }
  if (media_end < size) out.push_back({media_end, size - media_end, 0, scan.duration, {}});
  return out;
}

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

}  // namespace

// --- Sniffing ----------------------------------------------------------------------

bool looks_like_media(std::span<const std::uint8_t> h) {
  const auto at = [&h](std::size_t off, std::string_view sig) {
    return h.size() >= off + sig.size() && std::memcmp(h.data() + off, sig.data(), sig.size()) == 0;
  };
  const auto byte = [&h](std::size_t off) -> int { return off < h.size() ? h[off] : -1; };
  // ISO base media (MP4, MOV, 3GP, HEIF) and older QuickTime: a box type at 4.
  for (std::string_view box : {"ftyp", "moov", "mdat", "free", "skip", "wide", "pnot", "uuid", "junk"}) {
    if (at(4, box)) return true;
  }
  for (std::string_view sig : {std::string_view("\x1A\x45\xDF\xA3", 4),  // Matroska, WebM
                               std::string_view("RIFF"), std::string_view("RF64"),  // AVI, WAV, WebP
                               std::string_view("FLV"), std::string_view("OggS"), std::string_view("fLaC"),
                               std::string_view("ID3"), std::string_view("#!AMR"), std::string_view("FORM"),
                               std::string_view("caff"), std::string_view("YUV4MPEG2"),
                               std::string_view("\x30\x26\xB2\x75\x8E\x66\xCF\x11", 8),  // ASF, WMV
                               std::string_view("\x06\x0E\x2B\x34", 4),                  // MXF
                               std::string_view("\x00\x00\x01", 3),  // MPEG-PS/ES, H.264/H.265 Annex B
                               std::string_view("\x00\x00\x00\x01", 4),
                               std::string_view("\xFF\xD8\xFF", 3),  // JPEG
                               std::string_view("\x89PNG", 4), std::string_view("GIF8"),
                               std::string_view("II*\x00", 4), std::string_view("MM\x00*", 4),  // TIFF, DNG
                               std::string_view("BM"), std::string_view("\x0B\x77", 2)}) {       // BMP, AC-3
    if (at(0, sig)) return true;
  }
  // MPEG audio and ADTS AAC: an 11-bit frame sync.
  if (byte(0) == 0xFF && byte(1) >= 0xE0) return true;
  // MPEG transport stream: sync bytes every 188 (or 192, M2TS) bytes.
  if (byte(0) == 0x47 && (h.size() <= 188 || byte(188) == 0x47)) return true;
  if (byte(4) == 0x47 && (h.size() <= 196 || byte(196) == 0x47)) return true;
  return false;
}

// --- probe --------------------------------------------------------------------------

namespace {

MediaInfo probe_input(const Fd& file, const ProbeLimits& limits) {
  MediaInfo info;
  Input in(file, limits);
  if (in.source().size == 0) {
    info.reason = "not a media file: empty";
    return info;
  }
  if (const int rc = in.open(); rc < 0) {
    info.reason = in.failure(rc);
    return info;
  }
  const AVFormatContext* fmt = in.fmt();
  if (fmt->nb_streams == 0) {
    info.reason = "not a media file: no streams";
    return info;
  }
  bool any_known = false;
  for (unsigned i = 0; i < fmt->nb_streams; ++i) {
    info.streams.push_back(describe_stream(fmt->streams[i]));
    if (fmt->streams[i]->codecpar->codec_id != AV_CODEC_ID_NONE) any_known = true;
  }
  if (!any_known) {
    info.streams.clear();
    info.reason = std::string("not a media file: no known codec in ") + fmt->iformat->name;
    return info;
  }
  info.ok = true;
  info.container = fmt->iformat->name;
  info.duration = in.duration();
  if (fmt->bit_rate > 0) info.bit_rate = fmt->bit_rate;
  collect_tags(fmt, info.tags);
  return info;
}

}  // namespace

MediaInfo probe(const std::filesystem::path& file, const ProbeLimits& limits) {
  const Fd fd(file);
  return probe_input(fd, limits);
}

MediaInfo probe(int fd, const ProbeLimits& limits) { return probe_input(Fd(fd, "input"), limits); }

namespace {

template <class T>
boost::json::value opt(const std::optional<T>& v) {
  if (!v) return nullptr;
  return boost::json::value(*v);
}

}  // namespace

boost::json::object to_json(const MediaInfo& info) {
  boost::json::object o;
  if (!info.ok) {
    o["error"] = info.reason;
    return o;
  }
  o["container"] = info.container;
  o["duration"] = opt(info.duration);
  o["bit_rate"] = opt(info.bit_rate);
  boost::json::array streams;
  for (const auto& s : info.streams) {
    boost::json::object j;
    j["type"] = s.type;
    j["codec"] = s.codec;
    j["profile"] = opt(s.profile);
    j["width"] = opt(s.width);
    j["height"] = opt(s.height);
    j["frame_rate"] = opt(s.frame_rate);
    j["sample_rate"] = opt(s.sample_rate);
    j["channels"] = opt(s.channels);
    streams.push_back(std::move(j));
  }
  o["streams"] = std::move(streams);
  boost::json::object tags;
  for (const auto& [k, v] : info.tags) tags[k] = v;
  o["tags"] = std::move(tags);
  return o;
}

namespace {

[[noreturn]] void bad_json(const std::string& what) {
  throw Error(Errc::corrupt, "malformed media JSON: " + what);
}

const boost::json::value& member(const boost::json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  if (!v) bad_json(std::string("missing ") + key);
  return *v;
}

std::optional<double> opt_number(const boost::json::value& v, const char* key) {
  if (v.is_null()) return std::nullopt;
  if (v.is_double()) return v.get_double();
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  bad_json(std::string(key) + " is not a number");
}

std::optional<std::int64_t> opt_int(const boost::json::value& v, const char* key) {
  if (v.is_null()) return std::nullopt;
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    return static_cast<std::int64_t>(v.get_uint64());
  bad_json(std::string(key) + " is not an integer");
}

std::optional<int> opt_small_int(const boost::json::value& v, const char* key) {
  auto n = opt_int(v, key);
  if (!n) return std::nullopt;
  if (*n < std::numeric_limits<int>::min() || *n > std::numeric_limits<int>::max())
    bad_json(std::string(key) + " out of range");
  return static_cast<int>(*n);
}

std::string string_of(const boost::json::value& v, const char* key) {
  if (!v.is_string()) bad_json(std::string(key) + " is not a string");
  return std::string(v.get_string());
}

}  // namespace

MediaInfo media_info_from_json(const boost::json::value& v) {
  if (!v.is_object()) bad_json("not an object");
  const auto& o = v.get_object();
  MediaInfo info;
  if (const auto* err = o.if_contains("error")) {
    info.reason = string_of(*err, "error");
    return info;
  }
  info.ok = true;
  info.container = string_of(member(o, "container"), "container");
  info.duration = opt_number(member(o, "duration"), "duration");
  info.bit_rate = opt_int(member(o, "bit_rate"), "bit_rate");
  const auto& streams = member(o, "streams");
  if (!streams.is_array()) bad_json("streams is not an array");
  for (const auto& sv : streams.get_array()) {
    if (!sv.is_object()) bad_json("stream is not an object");
    const auto& so = sv.get_object();
    StreamInfo s;
    s.type = string_of(member(so, "type"), "type");
    s.codec = string_of(member(so, "codec"), "codec");
    if (const auto& p = member(so, "profile"); !p.is_null()) s.profile = string_of(p, "profile");
    s.width = opt_small_int(member(so, "width"), "width");
    s.height = opt_small_int(member(so, "height"), "height");
    s.frame_rate = opt_number(member(so, "frame_rate"), "frame_rate");
    s.sample_rate = opt_small_int(member(so, "sample_rate"), "sample_rate");
    s.channels = opt_small_int(member(so, "channels"), "channels");
    info.streams.push_back(std::move(s));
  }
  const auto& tags = member(o, "tags");
  if (!tags.is_object()) bad_json("tags is not an object");
  for (const auto& [k, tv] : tags.get_object()) info.tags[std::string(k)] = string_of(tv, "tag");
  return info;
}

// --- thumbnail ----------------------------------------------------------------------

namespace {

// Decodes the first frame of stream `index` from the current position; nullptr when
// none came within the packet budget.
FramePtr decode_one(Input& in, AVCodecContext* dec, int index) {
  constexpr int kMaxPackets = 2000;
  auto pkt = make_packet();
  auto frame = make_frame();
  bool flushing = false;
  for (int n = 0; n < kMaxPackets; ++n) {
    if (in.source().expired()) throw Error(Errc::unavailable, "thumbnail time limit exceeded");
    if (!flushing) {
      const int rc = av_read_frame(in.fmt(), pkt.get());
      if (rc < 0) {
        flushing = true;
        avcodec_send_packet(dec, nullptr);
      } else if (pkt->stream_index == index) {
        // A damaged packet is skipped, not fatal: the next one may decode.
        avcodec_send_packet(dec, pkt.get());
        av_packet_unref(pkt.get());
      } else {
        av_packet_unref(pkt.get());
        continue;
      }
    }
    const int rc = avcodec_receive_frame(dec, frame.get());
    if (rc == 0 && frame->width > 0 && frame->height > 0) return frame;
    if (rc == AVERROR_EOF || (flushing && rc < 0)) return nullptr;
  }
  return nullptr;
}

Bytes encode_jpeg(const AVFrame* src, int max_width) {
  // Display size: honour the sample aspect ratio so anamorphic footage looks right.
  double display_w = src->width;
  if (src->sample_aspect_ratio.num > 0 && src->sample_aspect_ratio.den > 0)
    display_w = src->width * av_q2d(src->sample_aspect_ratio);
  const double scale = std::min(1.0, max_width / display_w);
  int out_w = static_cast<int>(std::lround(display_w * scale)) & ~1;
  int out_h = static_cast<int>(std::lround(src->height * scale)) & ~1;
  out_w = std::max(out_w, 2);
  out_h = std::max(out_h, 2);

  SwsPtr sws(sws_getContext(src->width, src->height, static_cast<AVPixelFormat>(src->format), out_w,
                            out_h, AV_PIX_FMT_YUVJ420P, SWS_BICUBIC, nullptr, nullptr, nullptr));
  if (!sws) throw Error(Errc::corrupt, "cannot convert the frame's pixel format");
  auto dst = make_frame();
  dst->format = AV_PIX_FMT_YUVJ420P;
  dst->width = out_w;
  dst->height = out_h;
  if (av_frame_get_buffer(dst.get(), 0) < 0) throw Error(Errc::internal, "out of memory (frame buffer)");
  sws_scale(sws.get(), src->data, src->linesize, 0, src->height, dst->data, dst->linesize);

  const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
  if (!codec) throw Error(Errc::internal, "libavcodec has no mjpeg encoder");
  CodecPtr enc(avcodec_alloc_context3(codec));
  if (!enc) throw Error(Errc::internal, "out of memory (encoder)");
  enc->width = out_w;
  enc->height = out_h;
  enc->pix_fmt = AV_PIX_FMT_YUVJ420P;
  enc->color_range = AVCOL_RANGE_JPEG;
  enc->time_base = {1, 25};
  enc->flags |= AV_CODEC_FLAG_QSCALE;
  enc->global_quality = FF_QP2LAMBDA * 3;
  enc->thread_count = 1;
  if (int rc = avcodec_open2(enc.get(), codec, nullptr); rc < 0)
    throw Error(Errc::internal, "cannot open mjpeg encoder: " + av_error_text(rc));
  dst->pts = 0;
  dst->quality = enc->global_quality;
  if (int rc = avcodec_send_frame(enc.get(), dst.get()); rc < 0)
    throw Error(Errc::internal, "mjpeg encoding failed: " + av_error_text(rc));
  avcodec_send_frame(enc.get(), nullptr);
  auto pkt = make_packet();
  if (int rc = avcodec_receive_packet(enc.get(), pkt.get()); rc < 0)
    throw Error(Errc::internal, "mjpeg encoding failed: " + av_error_text(rc));
  return Bytes(pkt->data, pkt->data + pkt->size);
}

}  // namespace

namespace {

Bytes thumbnail_of(const Fd& file, int max_width, const ProbeLimits& limits) {
  if (max_width < 16 || max_width > 8192) throw Error(Errc::invalid_argument, "thumbnail width out of range");
  Input in(file, limits);
  if (const int rc = in.open(); rc < 0) {
    if (in.source().timed_out) throw Error(Errc::unavailable, "thumbnail time limit exceeded");
    throw Error(in.opened() ? Errc::corrupt : Errc::invalid_argument, in.failure(rc));
  }
  AVFormatContext* fmt = in.fmt();
  const int v = in.video_stream();
  if (v < 0) throw Error(Errc::invalid_argument, "no video stream");
  const AVStream* st = fmt->streams[v];
  const AVCodec* codec = avcodec_find_decoder(st->codecpar->codec_id);
  if (!codec) throw Error(Errc::corrupt, std::string("no decoder for ") + avcodec_get_name(st->codecpar->codec_id));
  CodecPtr dec(avcodec_alloc_context3(codec));
  if (!dec) throw Error(Errc::internal, "out of memory (decoder)");
  if (avcodec_parameters_to_context(dec.get(), st->codecpar) < 0)
    throw Error(Errc::corrupt, "bad codec parameters");
  dec->thread_count = 1;  // one small frame; leave the cores to the daemon
  dec->pkt_timebase = st->time_base;
  if (int rc = avcodec_open2(dec.get(), codec, nullptr); rc < 0)
    throw Error(Errc::corrupt, "cannot open decoder: " + av_error_text(rc));
  for (unsigned i = 0; i < fmt->nb_streams; ++i)
    if (static_cast<int>(i) != v) fmt->streams[i]->discard = AVDISCARD_ALL;

  FramePtr frame;
  bool seeked = false;
  if (auto d = in.duration(); d && *d > 1.0) {
    double target = *d * 0.1 * AV_TIME_BASE;
    if (fmt->start_time != AV_NOPTS_VALUE) target += static_cast<double>(fmt->start_time);
    if (std::abs(target) < 9e18)
      seeked = av_seek_frame(fmt, -1, static_cast<std::int64_t>(target), AVSEEK_FLAG_BACKWARD) >= 0;
  }
  frame = decode_one(in, dec.get(), v);
  if (!frame && seeked) {
    // A seek into damage can find nothing; the first keyframe may still decode.
    avcodec_flush_buffers(dec.get());
    const std::int64_t first = fmt->start_time != AV_NOPTS_VALUE ? fmt->start_time : 0;
    if (av_seek_frame(fmt, -1, first, AVSEEK_FLAG_BACKWARD) >= 0 || av_seek_frame(fmt, -1, 0, AVSEEK_FLAG_BYTE) >= 0)
      frame = decode_one(in, dec.get(), v);
  }
  if (!frame) throw Error(Errc::corrupt, "no decodable video frame");
  return encode_jpeg(frame.get(), max_width);
}

}  // namespace

Bytes thumbnail_jpeg(const std::filesystem::path& file, int max_width, const ProbeLimits& limits) {
  const Fd fd(file);
  return thumbnail_of(fd, max_width, limits);
}

Bytes thumbnail_jpeg(int fd, int max_width, const ProbeLimits& limits) {
  return thumbnail_of(Fd(fd, "input"), max_width, limits);
}

// --- segments -----------------------------------------------------------------------

namespace {

std::vector<Segment> segments_of(const Fd& fd, const ProbeLimits& limits) {
  init_libav();
  const auto size = static_cast<std::uint64_t>(fd.size());
  if (size == 0) return {};
  std::optional<VideoScan> scan;
  try {
    scan = scan_video(fd, limits);
  } catch (const Error& e) {
    if (e.code() == Errc::not_found || e.code() == Errc::io_error || e.code() == Errc::permission_denied) throw;
    scan.reset();
  }
  std::vector<Segment> segments = scan ? keyframe_ranges(*scan, size) : fixed_ranges(size);
  std::vector<std::uint8_t> buf(1 << 20);
  for (auto& s : segments) {
    auto id = hash_range(fd.get(), s.offset, s.length, buf, fd.name());
    if (!id) throw Error(Errc::io_error, "file shrank while hashing: " + fd.name());
    s.sha256 = *id;
  }
  return segments;
}

}  // namespace

std::vector<Segment> segment_hashes(const std::filesystem::path& file, const ProbeLimits& limits) {
  const Fd fd(file);
  return segments_of(fd, limits);
}

std::vector<Segment> segment_hashes(int fd, const ProbeLimits& limits) {
  return segments_of(Fd(fd, "input"), limits);
}

merkle::Hash segments_root(const std::vector<Segment>& segments) {
  std::function<merkle::Hash(unsigned, std::uint64_t)> subtree = [&](unsigned level, std::uint64_t index) {
    if (level == 0) return merkle::leaf_hash(segments.at(index).sha256.bytes);
    return merkle::node_hash(subtree(level - 1, 2 * index), subtree(level - 1, 2 * index + 1));
  };
  return merkle::root(subtree, segments.size());
}

std::vector<Segment> damaged_segments(const std::filesystem::path& file, const std::vector<Segment>& recorded) {
  Fd fd(file);
  const auto size = static_cast<std::uint64_t>(fd.size());
  std::vector<Segment> damaged;
  std::vector<std::uint8_t> buf(1 << 20);
  std::uint64_t recorded_end = 0;
  for (const auto& s : recorded) {
    recorded_end = std::max(recorded_end, s.offset + s.length);
    std::optional<ContentId> now;
    if (s.offset + s.length <= size) now = hash_range(fd.get(), s.offset, s.length, buf, fd.name());
    if (!now || *now != s.sha256) damaged.push_back(s);
  }
  if (size > recorded_end) {
    auto extra = hash_range(fd.get(), recorded_end, size - recorded_end, buf, fd.name());
    damaged.push_back({recorded_end, size - recorded_end, -1, -1, extra.value_or(ContentId{})});
  }
  return damaged;
}

boost::json::array to_json(const std::vector<Segment>& segments) {
  boost::json::array out;
  out.reserve(segments.size());
  for (const auto& s : segments) {
    boost::json::object o;
    o["offset"] = s.offset;
    o["length"] = s.length;
    o["start"] = s.start < 0 ? boost::json::value(nullptr) : boost::json::value(s.start);
    o["end"] = s.end < 0 ? boost::json::value(nullptr) : boost::json::value(s.end);
    o["sha256"] = s.sha256.hex();
    out.push_back(std::move(o));
  }
  return out;
}

std::vector<Segment> segments_from_json(const boost::json::value& v) {
  auto bad = [](const std::string& what) -> Error { return Error(Errc::corrupt, "malformed segment list: " + what); };
  if (!v.is_array()) throw bad("not an array");
  std::vector<Segment> out;
  std::uint64_t next = 0;
  for (const auto& item : v.get_array()) {
    if (!item.is_object()) throw bad("segment is not an object");
    const auto& o = item.get_object();
    auto u64 = [&](const char* key) -> std::uint64_t {
      const auto* x = o.if_contains(key);
      if (!x) throw bad(std::string("missing ") + key);
      if (x->is_uint64()) return x->get_uint64();
      if (x->is_int64() && x->get_int64() >= 0) return static_cast<std::uint64_t>(x->get_int64());
      throw bad(std::string(key) + " is not a non-negative integer");
    };
    auto time = [&](const char* key) -> double {
      const auto* x = o.if_contains(key);
      if (!x) throw bad(std::string("missing ") + key);
      if (x->is_null()) return -1;
      auto t = opt_number(*x, key);
      return t.value_or(-1);
    };
    Segment s;
    s.offset = u64("offset");
    s.length = u64("length");
    s.start = time("start");
    s.end = time("end");
    const auto* hex = o.if_contains("sha256");
    if (!hex || !hex->is_string()) throw bad("missing sha256");
    auto id = ContentId::from_hex(hex->get_string());
    if (!id) throw bad("sha256 is not 64 hex digits");
    s.sha256 = *id;
    if (s.offset != next) throw bad("segments are not contiguous at offset " + std::to_string(s.offset));
    if (s.length == 0) throw bad("empty segment");
    next = s.offset + s.length;
    out.push_back(s);
  }
  return out;
}

// --- clip ---------------------------------------------------------------------------

namespace {

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

// --- worker process -----------------------------------------------------------------

namespace {

int emit(const boost::json::value& v, int code) {
  std::cout << boost::json::serialize(v) << '\n';
  std::cout.flush();
#ifdef __SANITIZE_ADDRESS__
  // LeakSanitizer's check at exit needs a thread, ptrace and /proc/self/maps, all of
  // which the sandbox's filter refuses: it would fail the worker after its answer.
  // A sanitizer build's worker ends here instead; the same code's leaks are checked
  // in process by the media tests.
  std::fflush(nullptr);
  ::_exit(code);
#endif
  return code;
}

void write_all(int fd, const Bytes& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw system_error(n < 0 ? errno : EIO, "write the output descriptor");
    done += static_cast<std::size_t>(n);
  }
}

double parse_seconds(const char* s) {
  char* end = nullptr;
  errno = 0;
  const double d = std::strtod(s, &end);
  if (errno != 0 || end == s || *end != '\0' || !std::isfinite(d))
    throw Error(Errc::invalid_argument, std::string("not a number of seconds: ") + s);
  return d;
}

// The entries of DIR/keys, for the selftest (read before the sandbox shuts).
std::vector<std::string> key_names(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(dir) / "keys", ec))
    names.push_back(e.path().filename().string());
  return names;
}

}  // namespace

int media_worker_main(int argc, char** argv) {
  // Wait for the parent to apply our resource limits: it closes the pipe after prlimit.
  struct stat st{};
  if (::fstat(0, &st) == 0 && S_ISFIFO(st.st_mode)) {
    char sink[256];
    for (;;) {
      const ssize_t n = ::read(0, sink, sizeof sink);
      if (n > 0 || (n < 0 && errno == EINTR)) continue;
      break;
    }
  }
  const std::string verb = argc >= 2 ? argv[1] : "";
  const bool writes = verb == "thumbnail" || verb == "clip";
  const bool reads = writes || verb == "probe" || verb == "segments";
  const bool selftest = verb == "selftest" && argc >= 4;
  const auto keys = selftest ? key_names(argv[2]) : std::vector<std::string>{};
  // Before any input byte is parsed; for good. Everything below is what a hostile
  // file could reach.
  const Sandbox sandbox = confine_media_worker(writes ? kWorkerOutputFd : reads ? kWorkerInputFd : 2,
                                               verb == "status" || selftest);

  const std::string usage =
      "usage: probe | thumbnail [WIDTH] | segments | clip START END | status | selftest DIR PORT [PATH...] "
      "(input on descriptor 3, output to descriptor 4)";
  try {
    if (verb == "probe" && argc == 2) {
      return emit(to_json(probe(kWorkerInputFd)), 0);
    }
    if (verb == "thumbnail" && (argc == 2 || argc == 3)) {
      const int width = argc == 3 ? static_cast<int>(parse_seconds(argv[2])) : 320;
      const Bytes jpeg = thumbnail_jpeg(kWorkerInputFd, width);
      write_all(kWorkerOutputFd, jpeg);
      return emit(boost::json::object{{"size", jpeg.size()}}, 0);
    }
    if (verb == "segments" && argc == 2) {
      const auto segments = segment_hashes(kWorkerInputFd);
      const auto root = segments_root(segments);
      return emit(boost::json::object{{"segments", to_json(segments)}, {"root", to_hex(root)}}, 0);
    }
    if (verb == "clip" && argc == 4) {
      const auto r = clip(kWorkerInputFd, parse_seconds(argv[2]), parse_seconds(argv[3]), kWorkerOutputFd);
      return emit(boost::json::object{{"start", r.start}, {"end", r.end}, {"format", r.format}}, 0);
    }
    if (verb == "status" && argc == 2) {
      return emit(boost::json::object{{"sandbox", sandbox_status(sandbox)}}, 0);
    }
    if (selftest) {
      const std::vector<std::string> paths(argv + 4, argv + argc);
      return emit(sandbox_selftest(sandbox, argv[2], keys, static_cast<int>(parse_seconds(argv[3])), paths), 0);
    }
  } catch (const Error& e) {
    return emit(boost::json::object{{"error", e.what()}, {"code", errc_name(e.code())}}, 1);
  } catch (const std::exception& e) {
    return emit(boost::json::object{{"error", e.what()}, {"code", "internal"}}, 1);
  }
  return emit(boost::json::object{{"error", usage}}, 2);
}

namespace {

struct SpawnAttr {
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  SpawnAttr() {
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&actions);
  }
  ~SpawnAttr() {
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
  }
  SpawnAttr(const SpawnAttr&) = delete;
  SpawnAttr& operator=(const SpawnAttr&) = delete;
};

struct Pipe {
  int fd[2] = {-1, -1};
  Pipe() {
    if (::pipe2(fd, O_CLOEXEC) != 0) throw system_error(errno, "pipe");
  }
  ~Pipe() {
    close_read();
    close_write();
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  void close_read() {
    if (fd[0] >= 0) ::close(fd[0]);
    fd[0] = -1;
  }
  void close_write() {
    if (fd[1] >= 0) ::close(fd[1]);
    fd[1] = -1;
  }
};

std::optional<boost::json::value> fail(std::string* failure, std::string why) {
  if (failure) *failure = std::move(why);
  return std::nullopt;
}

// A copy of `fd` at 10 or above (close-on-exec), so that moving it to 3 or 4 in the
// child cannot overwrite the other one or a pipe end not yet moved.
struct HighFd {
  int fd = -1;
  explicit HighFd(int source) {
    if (source >= 0 && (fd = ::fcntl(source, F_DUPFD_CLOEXEC, 10)) < 0) throw system_error(errno, "dup");
  }
  ~HighFd() {
    if (fd >= 0) ::close(fd);
  }
  HighFd(const HighFd&) = delete;
  HighFd& operator=(const HighFd&) = delete;
};

}  // namespace

WorkerFile WorkerFile::input(const std::filesystem::path& file) {
  int fd;
  do {
    fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) throw system_error(errno, "open " + file.string());
  return WorkerFile(fd);
}

WorkerFile WorkerFile::output(const std::filesystem::path& file) {
  int fd;
  do {
    fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) throw system_error(errno, "create " + file.string());
  return WorkerFile(fd);
}

WorkerFile::~WorkerFile() {
  if (fd_ >= 0) ::close(fd_);
}

std::optional<boost::json::value> run_media_worker(const std::string& exe, const std::vector<std::string>& args,
                                                   int timeout_s, std::size_t memory_limit_bytes,
                                                   std::string* failure, int nice_increment) {
  WorkerOptions o;
  o.timeout_s = timeout_s;
  o.memory_limit_bytes = memory_limit_bytes;
  o.nice_increment = nice_increment;
  return run_media_worker(exe, args, o, failure);
}

std::optional<boost::json::value> run_media_worker(const std::string& exe, const std::vector<std::string>& args,
                                                   const WorkerOptions& options, std::string* failure) {
  const int timeout_s = options.timeout_s;
  if (timeout_s <= 0) return fail(failure, "timeout must be positive");
  constexpr std::size_t kMaxOutput = 64u << 20;

  Pipe in, out;
  const HighFd input_copy(options.input_fd), output_copy(options.output_fd);
  const int input_fd = input_copy.fd, output_fd = output_copy.fd;
  SpawnAttr sa;
  posix_spawn_file_actions_adddup2(&sa.actions, in.fd[0], 0);
  posix_spawn_file_actions_adddup2(&sa.actions, out.fd[1], 1);
  posix_spawn_file_actions_addopen(&sa.actions, 2, "/dev/null", O_WRONLY, 0);
  // 3 is the input and 4 the output, when given; /dev/null keeps the numbering when
  // only an output is.
  if (input_fd >= 0) posix_spawn_file_actions_adddup2(&sa.actions, input_fd, kWorkerInputFd);
  else if (output_fd >= 0) posix_spawn_file_actions_addopen(&sa.actions, kWorkerInputFd, "/dev/null", O_RDONLY, 0);
  if (output_fd >= 0) posix_spawn_file_actions_adddup2(&sa.actions, output_fd, kWorkerOutputFd);
  // The daemon's sockets, LMDB and blob descriptors are none of the worker's business.
  posix_spawn_file_actions_addclosefrom_np(&sa.actions,
                                           output_fd >= 0 ? kWorkerOutputFd + 1 : input_fd >= 0 ? kWorkerInputFd + 1 : 3);
  sigset_t empty, defaults;
  sigemptyset(&empty);
  sigfillset(&defaults);
  sigdelset(&defaults, SIGKILL);
  sigdelset(&defaults, SIGSTOP);
  posix_spawnattr_setsigmask(&sa.attr, &empty);
  posix_spawnattr_setsigdefault(&sa.attr, &defaults);
  posix_spawnattr_setpgroup(&sa.attr, 0);  // its own group, so a kill reaches all of it
  posix_spawnattr_setflags(&sa.attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);

  std::vector<std::string> owned;
  owned.push_back(exe);
  owned.insert(owned.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : owned) argv.push_back(s.data());
  argv.push_back(nullptr);

  // No environment: nothing of the daemon's (paths, settings, a token in a variable)
  // reaches the worker, and libav reads no setting from it.
  char* no_env[] = {nullptr};
  pid_t pid = -1;
  if (int rc = posix_spawn(&pid, exe.c_str(), &sa.actions, &sa.attr, argv.data(), no_env); rc != 0)
    return fail(failure, "cannot spawn " + exe + ": " + std::strerror(rc));
  in.close_read();
  out.close_write();

  auto kill_child = [&] {
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
  };
  auto reap = [&] {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
  };

  // Soft and hard alike: the worker, root or not, cannot raise them (it drops root, and
  // its seccomp filter refuses prlimit/setrlimit anyway).
  struct Limit {
    __rlimit_resource resource;
    rlim_t value;
    const char* what;
  };
  std::vector<Limit> limits = {
      // CPU seconds cannot exceed wall-clock ones: the timeout kill stays the rule;
      // this one holds if the parent dies first.
      {RLIMIT_CPU, static_cast<rlim_t>(timeout_s), "CPU time"},
      {RLIMIT_NOFILE, static_cast<rlim_t>(kWorkerMaxFiles), "open files"},
      {RLIMIT_FSIZE, static_cast<rlim_t>(options.max_output_bytes), "file size"},
      {RLIMIT_CORE, 0, "core size"},
  };
  if (options.memory_limit_bytes > 0)
    limits.push_back({RLIMIT_AS, static_cast<rlim_t>(options.memory_limit_bytes), "memory"});
  for (const auto& l : limits) {
    const rlimit lim{l.value, l.value};
    if (::prlimit(pid, l.resource, &lim, nullptr) != 0) {
      const int err = errno;
      kill_child();
      reap();
      return fail(failure, std::string("cannot apply the ") + l.what + " limit: " + std::strerror(err));
    }
  }
  // Best effort: a worker at normal priority is still a correct worker.
  if (options.nice_increment > 0) (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(pid), options.nice_increment);
  in.close_write();  // the worker may start now

  const auto deadline = Clock::now() + std::chrono::seconds(timeout_s);
  std::string output;
  bool timed_out = false, too_big = false;
  char buf[64 * 1024];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{out.fd[0], POLLIN, 0};
    const int pr = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000)));
    if (pr < 0 && errno != EINTR) break;
    if (pr <= 0) continue;
    const ssize_t n = ::read(out.fd[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    output.append(buf, static_cast<std::size_t>(n));
    if (output.size() > kMaxOutput) {
      too_big = true;
      break;
    }
  }
  int status = 0;
  bool exited = false;
  while (!timed_out && !too_big) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      exited = true;
      break;
    }
    if (r < 0 && errno != EINTR) break;
    if (Clock::now() >= deadline) {
      timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (!exited) {
    kill_child();
    status = reap();
  }
  if (timed_out) return fail(failure, "timed out after " + std::to_string(timeout_s) + " s");
  if (too_big) return fail(failure, "output larger than 64 MiB");
  if (WIFSIGNALED(status)) return fail(failure, "killed by signal " + std::to_string(WTERMSIG(status)));
  if (!WIFEXITED(status)) return fail(failure, "did not exit normally");
  boost::system::error_code ec;
  auto value = boost::json::parse(output, ec);
  if (ec) {
    return fail(failure, "no JSON on stdout (exit code " + std::to_string(WEXITSTATUS(status)) + ")");
  }
  return value;
}

}  // namespace evidence::media
