// The shared libav plumbing of verify/media/: see libav.h.
#include "verify/media/libav.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <mutex>

#include "base/error.h"

namespace evidence::media::detail {

namespace {

// libav logs every oddity of a damaged file to stderr; for evidence that is noise in
// the daemon's log. EVIDENCE_MEDIA_LOG=1 brings it back when debugging.
//
// No single buffer that probing, a poster frame or segment hashing of footage up to
// 8K needs is near 256 MiB (an 8K RGBA frame is 127 MiB), but a 200-byte WAV whose
// INFO chunk declares 1.7 GB makes libav ask for that much at once (found by
// fuzz_media). Capping libav's allocations makes such a file fail as "not media"
// at once, instead of at the worker's memory limit.
constexpr std::size_t kMaxLibavAllocation = std::size_t{256} << 20;

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

}  // namespace

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

Fd::Fd(const std::filesystem::path& path) : name_(path.string()), owned_(true) {
  do {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd_ < 0 && errno == EINTR);
  if (fd_ < 0) throw system_error(errno, "open " + name_);
}

Fd::Fd(int borrowed, std::string name) : fd_(borrowed), name_(std::move(name)), owned_(false) {
  if (fd_ < 0) throw Error(Errc::invalid_argument, "no descriptor for " + name_);
}

Fd::~Fd() {
  if (owned_ && fd_ >= 0) ::close(fd_);
}

std::int64_t Fd::size() const {
  struct stat st{};
  if (::fstat(fd_, &st) != 0) throw system_error(errno, "stat " + name_);
  if (!S_ISREG(st.st_mode)) throw Error(Errc::invalid_argument, "not a regular file: " + name_);
  return st.st_size;
}

Input::Input(const Fd& file, const ProbeLimits& limits) {
  init_libav();
  src_.fd = file.get();
  src_.size = file.size();
  src_.max_bytes = limits.max_bytes;
  if (limits.seconds > 0) {
    src_.deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                       std::chrono::duration<double>(limits.seconds));
  }
}

Input::~Input() {
  if (fmt_) avformat_close_input(&fmt_);
  if (avio_) {
    av_freep(&avio_->buffer);
    avio_context_free(&avio_);
  }
}

int Input::open() {
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

std::string Input::failure(int rc) const {
  if (src_.timed_out) return "probe time limit exceeded";
  if (src_.over_budget) return "probe read limit exceeded";
  if (!fmt_) return "not a media file: " + av_error_text(rc);
  return "unreadable media: " + av_error_text(rc);
}

double Input::seconds(const AVStream* st, std::int64_t ts) const {
  // Doubles for the subtraction: damaged files carry timestamps near INT64's ends.
  const double origin = fmt_->start_time != AV_NOPTS_VALUE ? static_cast<double>(fmt_->start_time) : 0;
  const double us = static_cast<double>(av_rescale_q(ts, st->time_base, AV_TIME_BASE_Q)) - origin;
  return us / AV_TIME_BASE;
}

std::optional<double> Input::duration() const {
  if (fmt_->duration == AV_NOPTS_VALUE || fmt_->duration <= 0) return std::nullopt;
  return static_cast<double>(fmt_->duration) / AV_TIME_BASE;
}

int Input::video_stream() const {
  for (unsigned i = 0; i < fmt_->nb_streams; ++i) {
    const AVStream* st = fmt_->streams[i];
    if (st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO &&
        !(st->disposition & AV_DISPOSITION_ATTACHED_PIC))
      return static_cast<int>(i);
  }
  return -1;
}

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

}  // namespace evidence::media::detail
