// A poster frame: decode near 10% of the duration, scale, encode as JPEG. See thumbnail.h.
#include "verify/media/thumbnail.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"
#include "verify/media/libav.h"

namespace evidence::media {

using namespace detail;

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

}  // namespace evidence::media
