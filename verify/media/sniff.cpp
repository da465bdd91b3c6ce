// looks_like_media: signatures only, no libav. See sniff.h.
#include "verify/media/sniff.h"

#include <cstring>
#include <string_view>

namespace evidence::media {

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

}  // namespace evidence::media
