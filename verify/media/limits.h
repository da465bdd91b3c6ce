// Media awareness: what a piece of footage is (probe), a poster frame (thumbnail),
// byte ranges aligned to keyframes whose hashes pin damage to seconds (segments),
// and stream-copied sub-ranges (clip).
//
// FFmpeg's libav* is used only inside verify/media/ (the evidence_verify_media
// library, which links it privately); callers see our own types. One header per
// concern: probe.h, sniff.h, thumbnail.h, segments.h, clip.h, worker.h; this one
// holds what they share.
//
// Threat model: every input file is untrusted evidence, possibly damaged or hostile.
// In-process calls are bounded (a deadline checked in the I/O callbacks and packet
// loops, probesize/analyzeduration caps, a cap on bytes read, no nested URLs: a
// playlist or concat file can never make the demuxer open another file or the
// network). They cannot bound memory or a decoder stuck in a loop without reading,
// so for real isolation run the same functions in a child process through
// `media_worker_main` / `run_media_worker`, which add resource limits, a kill on
// timeout and a sandbox (verify/media/sandbox.h): the worker gets its input as a
// descriptor and can open no file, reach no network and write no file of its own.
//
// Thread safety: every function is safe to call concurrently from several threads
// (each call owns its libav contexts).
#pragma once

#include <cstdint>

namespace evidence::media {

// Bounds for one call. `seconds` is a wall-clock deadline for the whole call (0 means
// none); `max_bytes` caps the bytes the demuxer may read from the file (0 means none;
// seeks are free, so an MP4 whose index sits at the end costs only what is read).
struct ProbeLimits {
  double seconds = 10.0;
  std::uint64_t max_bytes = 256ull << 20;
};

}  // namespace evidence::media
