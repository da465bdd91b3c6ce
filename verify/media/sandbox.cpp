// The media worker's sandbox; see sandbox.h for what each step gives.
#include "verify/media/sandbox.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <netinet/in.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

// libseccomp's SCMP_A0..SCMP_A5 macros build struct scmp_arg_cmp with the second datum
// left out, which clang's -Wmissing-field-initializers (an error here) reports in our
// code; the omitted field is zero, as the library intends.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <boost/json/array.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

extern char** environ;

namespace evidence::media {

namespace {

std::string errno_text(int err) { return std::strerror(err); }

// Step 2: private network, IPC and mount namespaces, the mount namespace's root an
// empty read-only tmpfs. Returns "" on success, else why not.
std::string enter_namespaces() {
  int flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC;
  // Without root, a user namespace of our own gives the capabilities these need
  // (where the kernel allows unprivileged user namespaces).
  if (::geteuid() != 0) flags |= CLONE_NEWUSER;
  if (::unshare(flags) != 0) return "unshare: " + errno_text(errno);
  // Nothing we mount may leak back to the daemon's view (shared propagation).
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return "private /: " + errno_text(errno);
  // Any directory serves as the mount point: it is the new root and the old tree is
  // detached from under it.
  const char* point = "/tmp";
  if (::mount("none", point, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=0555") != 0)
    return "tmpfs: " + errno_text(errno);
  if (::chdir(point) != 0) return "chdir: " + errno_text(errno);
  // pivot_root(".", "."): the old root ends up stacked on the new one, then detached.
  if (::syscall(SYS_pivot_root, ".", ".") != 0) return "pivot_root: " + errno_text(errno);
  if (::umount2(".", MNT_DETACH) != 0) return "detach old root: " + errno_text(errno);
  if (::chdir("/") != 0) return "chdir /: " + errno_text(errno);
  return "";
}

// Step 3. Returns a description of the identity the worker now runs as.
std::string drop_privileges(bool* ok) {
  *ok = true;
  if (::geteuid() != 0) return "unchanged (not root): uid " + std::to_string(::getuid());
  const gid_t gid = kUnprivilegedId;
  const uid_t uid = kUnprivilegedId;
  if (::setgroups(0, nullptr) != 0 || ::setresgid(gid, gid, gid) != 0 || ::setresuid(uid, uid, uid) != 0) {
    *ok = false;
    return "failed: " + errno_text(errno);
  }
  // Verify, rather than trust the return codes: root must not be regainable.
  uid_t r, e, s;
  if (::getresuid(&r, &e, &s) != 0 || r != uid || e != uid || s != uid || ::setuid(0) == 0) {
    *ok = false;
    return "failed: still root";
  }
  return "uid " + std::to_string(uid) + " gid " + std::to_string(gid);
}

// Step 4's filter. Returns "" when loaded, else why not.
std::string load_filter() {
  // Anything not listed fails with EPERM: an optional feature libav or glibc probes
  // for (an ioctl on stdout, sysinfo, a clone for a thread) fails gracefully.
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
  if (!ctx) return "seccomp_init failed";
  struct Release {
    scmp_filter_ctx c;
    ~Release() { seccomp_release(c); }
  } release{ctx};
  int rc = 0;
  auto allow = [&](int nr) {
    if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
  };
  auto allow_if = [&](int nr, scmp_arg_cmp cmp) {
    if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, cmp);
  };
  auto act = [&](int nr, std::uint32_t action) {
    if (rc == 0) rc = seccomp_rule_add(ctx, action, nr, 0);
  };

  // Reading: the input descriptor (pread; the demuxer seeks), the gate pipe, and
  // /proc/self/status opened before the filter in status and selftest runs.
  for (int nr : {SCMP_SYS(read), SCMP_SYS(readv), SCMP_SYS(pread64), SCMP_SYS(preadv), SCMP_SYS(preadv2),
                 SCMP_SYS(lseek), SCMP_SYS(close), SCMP_SYS(fstat)})
    allow(nr);
  // glibc's fstat is newfstatat(fd, "", buf, AT_EMPTY_PATH). With a path it could tell
  // whether a file exists (not read it); only the fstat form is allowed.
  allow_if(SCMP_SYS(newfstatat), SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH));
  // Writing: the JSON answer (1), diagnostics (2, /dev/null), the output file (4).
  for (int nr : {SCMP_SYS(write), SCMP_SYS(writev), SCMP_SYS(pwrite64), SCMP_SYS(pwritev)}) {
    for (int fd : {1, 2, 4}) allow_if(nr, SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(fd)));
  }
#ifdef __SANITIZE_ADDRESS__
  // Sanitizer builds only (EVIDENCE_SANITIZE turns on ASan and UBSan together): UBSan's
  // vptr check asks whether memory is readable by writing it into a pipe of its own
  // (sanitizer_common's IsAccessibleMemoryRange). Without pipe2 and writes to any
  // descriptor every virtual call would be reported as an invalid vptr. Test builds
  // only; release builds keep writes to 1, 2 and 4.
  allow(SCMP_SYS(pipe2));
  allow(SCMP_SYS(pipe));
  allow(SCMP_SYS(write));
#endif
  // Memory, never executable: an exploit cannot map the bytes it wrote as code.
  allow_if(SCMP_SYS(mmap), SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
  allow_if(SCMP_SYS(mprotect), SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
  for (int nr : {SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(brk), SCMP_SYS(madvise)}) allow(nr);
  // Time, waiting, randomness, exit, signals to itself (abort).
  for (int nr : {SCMP_SYS(futex), SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres), SCMP_SYS(gettimeofday),
                 SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep), SCMP_SYS(sched_yield),
                 SCMP_SYS(sched_getaffinity), SCMP_SYS(getrandom), SCMP_SYS(exit), SCMP_SYS(exit_group),
                 SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigaction),
                 SCMP_SYS(sigaltstack), SCMP_SYS(restart_syscall), SCMP_SYS(getpid), SCMP_SYS(gettid),
                 SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid),
                 SCMP_SYS(getrlimit)})
    allow(nr);
  const auto self = static_cast<scmp_datum_t>(::getpid());
  allow_if(SCMP_SYS(tgkill), SCMP_A0(SCMP_CMP_EQ, self));
  allow_if(SCMP_SYS(kill), SCMP_A0(SCMP_CMP_EQ, self));
  // prlimit64 only to read a limit (new limit NULL), never to raise one.
  allow_if(SCMP_SYS(prlimit64), SCMP_A2(SCMP_CMP_EQ, 0));

  // The worker opens nothing: its input and output are descriptors. EACCES (not a
  // kill) so that libav's and glibc's optional opens (locale, /dev/urandom, /proc,
  // /sys for the CPU count) fail as on a locked-down machine.
  for (int nr : {SCMP_SYS(open), SCMP_SYS(openat), SCMP_SYS(openat2), SCMP_SYS(creat), SCMP_SYS(socket),
                 SCMP_SYS(socketpair), SCMP_SYS(open_by_handle_at)})
    act(nr, SCMP_ACT_ERRNO(EACCES));
  // No legitimate path needs these; an attempt is an exploit: kill.
  for (int nr : {SCMP_SYS(execve), SCMP_SYS(execveat), SCMP_SYS(ptrace), SCMP_SYS(process_vm_readv),
                 SCMP_SYS(process_vm_writev), SCMP_SYS(bpf), SCMP_SYS(perf_event_open), SCMP_SYS(mount),
                 SCMP_SYS(umount2), SCMP_SYS(pivot_root), SCMP_SYS(chroot), SCMP_SYS(unshare), SCMP_SYS(setns),
                 SCMP_SYS(keyctl), SCMP_SYS(add_key), SCMP_SYS(request_key), SCMP_SYS(userfaultfd),
                 SCMP_SYS(io_uring_setup), SCMP_SYS(kexec_load), SCMP_SYS(init_module),
                 SCMP_SYS(finit_module), SCMP_SYS(personality), SCMP_SYS(pkey_mprotect)})
    act(nr, SCMP_ACT_KILL_PROCESS);
  if (rc != 0) return "seccomp_rule_add: " + errno_text(-rc);
  if ((rc = seccomp_load(ctx)) != 0) return "seccomp_load: " + errno_text(-rc);
  return "";
}

boost::json::value limit_value(int resource) {
  rlimit r{};
  if (::getrlimit(resource, &r) != 0 || r.rlim_cur == RLIM_INFINITY) return nullptr;
  return static_cast<std::uint64_t>(r.rlim_cur);
}

// "Seccomp:" or "NoNewPrivs:" from /proc/self/status; -1 when unknown.
int status_field(int fd, const char* key) {
  if (fd < 0) return -1;
  char buf[8192];
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return -1;
  buf[n] = '\0';
  const std::string text(buf, static_cast<std::size_t>(n));
  const std::string needle = std::string("\n") + key + ":";
  const auto at = text.find(needle);
  if (at == std::string::npos) return -1;
  return std::atoi(text.c_str() + at + needle.size());
}

}  // namespace

Sandbox confine_media_worker(int last_fd, bool keep_proc_status) {
  Sandbox sb;
  // 1. Nothing but stdio and the handed-over descriptors (posix_spawn closed the rest
  // already; this holds however the worker was started).
  ::syscall(SYS_close_range, static_cast<unsigned>(last_fd + 1), ~0u, 0u);
  // A write past RLIMIT_FSIZE then fails with EFBIG (a clean error) instead of killing.
  ::signal(SIGXFSZ, SIG_IGN);
  if (keep_proc_status) sb.proc_status_fd = ::open("/proc/self/status", O_RDONLY | O_CLOEXEC);

  // 2.
  const std::string ns = enter_namespaces();
  sb.report["namespaces"] = ns.empty() ? std::string("net,ipc,mount (empty root)") : "off: " + ns;
  // 3.
  bool dropped = false;
  sb.report["user"] = drop_privileges(&dropped);
  // Not ptrace-able nor dumpable by another process of the same user.
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  // 4.
  const bool nnp = ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0;
  sb.report["no_new_privs"] = nnp;
  const std::string filter = load_filter();
  sb.report["seccomp"] = filter.empty() ? std::string("filter") : "off: " + filter;

  boost::json::object limits;
  limits["as"] = limit_value(RLIMIT_AS);
  limits["cpu"] = limit_value(RLIMIT_CPU);
  limits["nofile"] = limit_value(RLIMIT_NOFILE);
  limits["fsize"] = limit_value(RLIMIT_FSIZE);
  limits["core"] = limit_value(RLIMIT_CORE);
  sb.report["limits"] = std::move(limits);
  return sb;
}

boost::json::object sandbox_status(const Sandbox& sandbox) {
  boost::json::object o = sandbox.report;
  o["seccomp_mode"] = status_field(sandbox.proc_status_fd, "Seccomp");
  o["no_new_privs_flag"] = status_field(sandbox.proc_status_fd, "NoNewPrivs");
  o["uid"] = static_cast<std::uint64_t>(::getuid());
  o["gid"] = static_cast<std::uint64_t>(::getgid());
  return o;
}

boost::json::object sandbox_selftest(const Sandbox& sandbox, const std::string& dir,
                                     const std::vector<std::string>& key_names, int port,
                                     const std::vector<std::string>& paths) {
  boost::json::object out;
  out["sandbox"] = sandbox_status(sandbox);
  out["seccomp"] = status_field(sandbox.proc_status_fd, "Seccomp");
  out["no_new_privs"] = status_field(sandbox.proc_status_fd, "NoNewPrivs");
  out["uid"] = static_cast<std::uint64_t>(::getuid());
  out["gid"] = static_cast<std::uint64_t>(::getgid());

  auto can_open = [](const std::string& p, int flags) {
    const int fd = ::open(p.c_str(), flags | O_CLOEXEC);
    if (fd < 0) return false;
    ::close(fd);
    return true;
  };
  bool keys = false;
  for (const auto& name : key_names) keys = can_open(dir + "/keys/" + name, O_RDONLY) || keys;
  // With no key listed the answer would be vacuous: try the folder itself too.
  out["open_keys"] = keys || can_open(dir + "/keys", O_RDONLY | O_DIRECTORY);
  out["open_dir"] = can_open(dir, O_RDONLY | O_DIRECTORY);
  boost::json::object opened;
  for (const auto& p : paths) opened[p] = can_open(p, O_RDONLY);
  out["opened"] = std::move(opened);

  bool created = false;
  for (const std::string& folder : {std::string("/tmp"), dir}) {
    const std::string p = folder + "/sandbox-selftest-" + std::to_string(::getpid());
    const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
      created = true;
      ::close(fd);
      ::unlink(p.c_str());
    }
  }
  out["create"] = created;

  bool socket_ok = false, connected = false;
  const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s >= 0) {
    socket_ok = true;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected = ::connect(s, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0;
    ::close(s);
  }
  out["socket"] = socket_ok;
  out["connect"] = connected;

  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  if (child > 0) ::waitpid(child, nullptr, 0);
  out["fork"] = child > 0;

  boost::json::array env;
  for (char** e = environ; e && *e; ++e) env.emplace_back(*e);
  out["env"] = std::move(env);
  return out;
}

}  // namespace evidence::media
