// Runs as root. See child_probe.hpp. The asyncsafe functions run in forked children: raw
// system calls only, no allocation, no locks.
#include "broker/child_probe.hpp"

#include "common/syscall.hpp"
#include "common/unique_fd.hpp"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sched.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace dockerbox::broker {

namespace asyncsafe {

int openPath(const char* path, std::uint64_t resolve) {
  struct open_how how {};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = resolve;
  return static_cast<int>(::syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how));
}

bool sameObject(const struct stat& a, const char* path, std::uint64_t resolve) {
  int fd = openPath(path, resolve);
  if (fd < 0) return false;
  struct stat b {};
  bool same = ::fstat(fd, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
  ::close(fd);
  return same;
}

void writeAll(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the parent gave up; nothing to do but exit
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

void finish(int out, char verdict, const char* text, std::size_t length) {
  writeAll(out, &verdict, 1);
  if (text != nullptr) writeAll(out, text, length);
  ::_exit(0);
}

namespace {
bool hasCapabilities() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  std::array<__user_cap_data_struct, _LINUX_CAPABILITY_U32S_3> data{};
  if (::syscall(SYS_capget, &header, data.data()) != 0) return true;  // unknown counts as "has"
  for (const auto& d : data) {
    if (d.effective != 0 || d.permitted != 0) return true;
  }
  return false;
}
}  // namespace

bool joinMountNamespace(int pidfd) { return ::setns(pidfd, CLONE_NEWNS) == 0; }

bool becomeCaller(const CallerIds& ids) {
  // Raw syscalls: glibc's wrappers broadcast the change to every thread of the process; this
  // child has exactly one thread, and the raw call changes exactly it.
  if (::syscall(SYS_setgroups, ids.groupCount, ids.groups) != 0 ||
      ::syscall(SYS_setresgid, ids.gid, ids.gid, ids.gid) != 0 ||
      ::syscall(SYS_setresuid, ids.uid, ids.uid, ids.uid) != 0) {
    return false;
  }
  // A non-root caller must have no capability left (no CAP_DAC_OVERRIDE answering for them).
  return ids.uid == 0 || !hasCapabilities();
}

}  // namespace asyncsafe

namespace {

// After the deadline the child is killed; this long more is allowed for it to be reaped.
// A child stuck in uninterruptible sleep (hung NFS) is left to the broker's SIGCHLD reaper.
constexpr int kReapGraceMs = 500;

void reap(pid_t pid, const UniqueFd& pidfd, bool killed, const char* what) {
  if (pidfd) {
    pollfd p{pidfd.get(), POLLIN, 0};
    auto ready = DOCKERBOX_SYSCALL(::poll(&p, 1, kReapGraceMs), "poll pidfd");
    if (!ready || *ready == 0) {
      spdlog::warn("event=child_probe_stuck probe={} pid={} killed={}", what, pid, killed);
      return;  // the SIGCHLD reaper collects it when it finally exits
    }
  } else if (killed) {
    // Without a pidfd, do not block on a child that may be stuck in the kernel.
    (void)::waitpid(pid, nullptr, WNOHANG);
    return;
  }
  int status = 0;
  // ECHILD: another reaper was faster; the verdict came through the pipe anyway.
  (void)DOCKERBOX_SYSCALL(::waitpid(pid, &status, 0), "waitpid child probe");
}

std::optional<std::string> readReport(const UniqueFd& in, std::chrono::milliseconds deadline, std::size_t maxReport) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  std::string report;
  std::array<char, 4096> buf{};
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{in.get(), POLLIN, 0};
    auto ready = DOCKERBOX_SYSCALL(::poll(&p, 1, static_cast<int>(left.count())), "poll child probe");
    if (!ready || *ready == 0) return std::nullopt;
    auto n = DOCKERBOX_SYSCALL(::read(in.get(), buf.data(), buf.size()), "read child probe");
    if (!n) return std::nullopt;
    if (*n == 0) return report;
    report.append(buf.data(), static_cast<std::size_t>(*n));
    if (report.size() > maxReport) return std::nullopt;  // more than the child can send
  }
}

}  // namespace

Result<UniqueFd> miniboxProcess(const std::string& socketPath) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socketPath.size() >= sizeof addr.sun_path) return fail(ErrorKind::Internal, "miniboxd socket path too long");
  std::memcpy(addr.sun_path, socketPath.data(), socketPath.size());
  // Non-blocking: a Unix connect to a full backlog fails at once (EAGAIN) instead of blocking
  // the broker's thread without a deadline.
  auto fd = DOCKERBOX_SYSCALL(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), "socket");
  if (!fd) return fd.error();
  UniqueFd sock(*fd);
  auto connected = DOCKERBOX_SYSCALL(::connect(sock.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr),
                                     "connect " + socketPath);
  if (!connected) return fail(ErrorKind::Unavailable, "cannot reach miniboxd at " + socketPath, connected.error().context);
  ucred cred{};
  socklen_t len = sizeof cred;
  if (auto r = DOCKERBOX_SYSCALL(::getsockopt(sock.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len), "SO_PEERCRED"); !r) {
    return r.error();
  }
  auto pidfd = DOCKERBOX_SYSCALL(static_cast<int>(::syscall(SYS_pidfd_open, cred.pid, 0)), "pidfd_open miniboxd");
  if (!pidfd) return pidfd.error();
  UniqueFd process(*pidfd);
  // The pid named the process at accept(); while its end of our connection is open it is
  // still that process, so the pidfd cannot name a successor that reused the pid.
  pollfd p{sock.get(), POLLRDHUP, 0};
  auto ready = DOCKERBOX_SYSCALL(::poll(&p, 1, 0), "poll miniboxd connection");
  if (!ready || (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0) {
    return fail(ErrorKind::Unavailable, "miniboxd went away while dockerbox looked for its mount namespace");
  }
  return process;
}

std::optional<CallerIds> callerIds(const Identity& caller) {
  // -1 tells setres[ug]id "leave unchanged", which would leave the child root.
  constexpr auto kNoUid = static_cast<uid_t>(-1);
  constexpr auto kNoGid = static_cast<gid_t>(-1);
  if (caller.uid == kNoUid || caller.gid == kNoGid) return std::nullopt;
  for (gid_t g : caller.groups) {
    if (g == kNoGid) return std::nullopt;
  }
  return CallerIds{caller.uid, caller.gid, caller.groups.data(), caller.groups.size()};
}

std::optional<std::string> runChildProbe(ChildBody body, const void* input, std::chrono::milliseconds deadline,
                                         std::size_t maxReport, const char* what) {
  int fds[2] = {-1, -1};
  if (auto r = DOCKERBOX_SYSCALL(::pipe2(fds, O_CLOEXEC), "pipe2"); !r) {
    spdlog::error("event=child_probe_failed probe={} error=\"{}\"", what, r.error().context);
    return std::nullopt;
  }
  UniqueFd readEnd(fds[0]);
  UniqueFd writeEnd(fds[1]);
  // Block signals across fork so the child never runs one of the broker's handlers (Asio's
  // would write into the broker's own signal pipe); the child keeps them blocked.
  sigset_t all;
  sigset_t previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  pid_t pid = ::fork();
  if (pid == 0) {
    body(input, writeEnd.get());
    ::_exit(0);
  }
  const int forkErrno = errno;
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (pid < 0) {
    spdlog::error("event=child_probe_failed probe={} error=\"fork: {}\"", what, errnoText(forkErrno));
    return std::nullopt;
  }
  writeEnd.reset();
  // Opened before anyone could reap the child: the broker reaps on its own thread's loop.
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  auto report = readReport(readEnd, deadline, maxReport);
  if (!report) {
    spdlog::warn("event=child_probe_timeout probe={} pid={} deadline_ms={}", what, pid, deadline.count());
    (void)::kill(pid, SIGKILL);
  }
  reap(pid, pidfd, !report, what);
  return report;
}

}  // namespace dockerbox::broker
