// Keyframe-aligned byte ranges and their hashes. See segments.h.
#include "verify/media/segments.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <span>

#include "base/error.h"
#include "store/content_id.h"
#include "verify/media/json_read.h"
#include "verify/media/libav.h"

namespace evidence::media {

using namespace detail;

namespace {

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

}  // namespace evidence::media
