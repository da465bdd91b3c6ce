// A first look at a file's leading bytes, before any media worker is spent on it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace evidence::media {

// A cheap first look, in process and without libav: false when the first bytes of a
// file (pass at least kSniffBytes when the file has them) carry none of the
// signatures of the containers and streams recorders, phones and cameras write
// (MP4/MOV/3GP/HEIF, Matroska/WebM, AVI/WAV/WebP, MPEG-TS/PS, raw H.264/H.265,
// FLV, ASF, Ogg, FLAC, MP3/AAC, AMR, AIFF, CAF, JPEG, PNG, GIF, TIFF, BMP). The daemon
// spawns a media worker only for files that pass, so a document or random bytes do
// not cost a process each. Errs on the side of true.
inline constexpr std::size_t kSniffBytes = 512;
bool looks_like_media(std::span<const std::uint8_t> head);

}  // namespace evidence::media
