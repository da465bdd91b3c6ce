// What a file is, through libav's demuxers. See probe.h.
#include "verify/media/probe.h"

#include <algorithm>
#include <limits>
#include <string_view>

#include "base/error.h"
#include "store/ids.h"
#include "verify/media/json_read.h"
#include "verify/media/libav.h"

namespace evidence::media {

using namespace detail;

namespace {

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

const boost::json::value& member(const boost::json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  if (!v) bad_json(std::string("missing ") + key);
  return *v;
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

}  // namespace evidence::media
