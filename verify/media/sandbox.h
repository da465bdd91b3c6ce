// The media worker's sandbox: what keeps a memory bug in libav, triggered by a hostile
// file, away from the daemon's keys, index, blobs and network.
//
// The worker (worker.h's media_worker_main, run by run_media_worker) confines itself
// after exec and before it reads a byte of its input, in this order:
//   1. descriptors: closes all but 0-2 and its input (3) and output (4); its
//      environment is already empty (run_media_worker spawns it with none), and its
//      resource limits (memory, CPU time, open files, file size, no core) were set by
//      the parent before the worker was let go;
//   2. namespaces: a private network namespace (no interface but a down loopback), a
//      private IPC namespace and a private mount namespace whose root is an empty
//      read-only tmpfs, so no path leads anywhere. Needs root or unprivileged user
//      namespaces; where neither works this layer is left out and the report says why;
//   3. identity: when running as root, drops to uid/gid kUnprivilegedId (nobody) with
//      no supplementary groups, which also clears every capability;
//   4. PR_SET_NO_NEW_PRIVS and a seccomp filter (libseccomp) that allows only what
//      decoding, muxing and answering need: reads, writes to stdout, stderr and the
//      output descriptor, memory management without executable mappings, time,
//      futexes. open/openat/creat/socket fail with EACCES, every other syscall with
//      EPERM; exec, ptrace and namespace or mount changes kill the process.
// Each step that cannot be applied is reported, not fatal: the report is what the
// daemon logs at start (`media_worker_sandbox`), so an operator sees what holds.
#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <vector>

namespace evidence::media {

inline constexpr unsigned kUnprivilegedId = 65534;  // nobody / nogroup on Debian

struct Sandbox {
  // {"namespaces": "net,ipc,mount" or "off: reason", "user": "uid 65534" or "unchanged
  // (not root)" or "failed: reason", "no_new_privs": bool, "seccomp": "filter" or
  // "off: reason", "limits": {"as", "cpu", "nofile", "fsize", "core"}} (limits in
  // bytes, seconds or counts, null when unlimited).
  boost::json::object report;
  // /proc/self/status, opened before the filter closed the door (only when asked for:
  // status and selftest read it to show Seccomp: 2 and NoNewPrivs: 1); -1 otherwise.
  int proc_status_fd = -1;
};

// Applies steps 1-4 to the calling process, for good. Call once, single-threaded,
// before touching untrusted input. `last_fd` is the highest descriptor to keep (2, 3 or 4).
Sandbox confine_media_worker(int last_fd, bool keep_proc_status);

// The protections as the kernel sees them now: the report plus "seccomp_mode" and
// "no_new_privs" from /proc/self/status (read through sandbox.proc_status_fd), "uid", "gid".
boost::json::object sandbox_status(const Sandbox& sandbox);

// For tests, run inside a confined worker: tries what a compromised decoder would
// want and reports what worked: {"open_keys": any file under DIR/keys opened,
// "open_dir": DIR opened, "opened": {path: bool} for each of `paths`, "create": a file
// created in /tmp or DIR, "socket", "connect": to 127.0.0.1:port, "fork", "env":
// [environment], plus sandbox_status's keys}. `key_names` are the entries of DIR/keys,
// listed by the caller before confinement (names only: reading them is the test).
boost::json::object sandbox_selftest(const Sandbox& sandbox, const std::string& dir,
                                     const std::vector<std::string>& key_names, int port,
                                     const std::vector<std::string>& paths);

}  // namespace evidence::media
