// Runs as root. Input: client-chosen bind source paths and kernel-attested identities.
//
// checkBindSource forks one child per source. The child resolves the path as root (as the
// mount will), then becomes the caller (groups, gid, uid, in that order, each checked) and
// asks the kernel whether the caller may access the resolved path. It reports through a
// pipe; the parent reads with a deadline and kills the child if it runs out.
// Between fork and _exit the child may only make async-signal-safe calls (the broker has
// other threads whose locks may be held at fork): everything it needs is prepared first.
#include "broker/bind_check.hpp"

#include "common/syscall.hpp"
#include "common/unique_fd.hpp"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace dockerbox::broker {

namespace {

// The child's one-byte verdict, followed by the resolved path for Access and NoAccess.
constexpr char kUnresolved = 'U';
constexpr char kNoAccess = 'N';
constexpr char kAccess = 'A';

// After the deadline the child is killed; this long more is allowed for it to be reaped.
// A child stuck in uninterruptible sleep (hung NFS) is left to the broker's SIGCHLD reaper.
constexpr int kReapGraceMs = 500;

struct ChildInput {
  const char* path;
  uid_t uid;
  gid_t gid;
  const gid_t* groups;
  std::size_t groupCount;
  MountAccess access;
  int out;  // the pipe's write end
};

// Async-signal-safe from here to the end of childMain: raw syscalls, no allocation.

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

[[noreturn]] void finish(int out, char verdict, const char* path = nullptr, std::size_t length = 0) {
  writeAll(out, &verdict, 1);
  if (path != nullptr) writeAll(out, path, length);
  ::_exit(0);
}

// "/proc/self/fd/<fd>" without snprintf (not async-signal-safe).
void fdLinkPath(int fd, std::array<char, 32>& buf) {
  constexpr char kPrefix[] = "/proc/self/fd/";
  std::size_t i = 0;
  for (; kPrefix[i] != '\0'; ++i) buf[i] = kPrefix[i];
  std::array<char, 12> digits{};
  std::size_t n = 0;
  do {
    digits[n++] = static_cast<char>('0' + fd % 10);
    fd /= 10;
  } while (fd > 0 && n < digits.size());
  while (n > 0) buf[i++] = digits[--n];
  buf[i] = '\0';
}

bool hasCapabilities() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  std::array<__user_cap_data_struct, _LINUX_CAPABILITY_U32S_3> data{};
  if (::syscall(SYS_capget, &header, data.data()) != 0) return true;  // unknown counts as "has"
  for (const auto& d : data) {
    if (d.effective != 0 || d.permitted != 0) return true;
  }
  return false;
}

[[noreturn]] void childMain(const ChildInput& in) {
  // 1. Resolve as root, following symlinks the way the mount will. Magic links
  //    (/proc/<pid>/root, /proc/<pid>/fd/N) are refused: they lead outside our view of the
  //    file system and their readlink text does not name what they point to.
  int fd = openPath(in.path, RESOLVE_NO_MAGICLINKS);
  if (fd < 0) finish(in.out, kUnresolved);
  struct stat st {};
  if (::fstat(fd, &st) != 0) finish(in.out, kUnresolved);
  std::array<char, 32> link{};
  fdLinkPath(fd, link);
  std::array<char, PATH_MAX> resolved{};
  ssize_t n = ::readlink(link.data(), resolved.data(), resolved.size() - 1);
  // n == size - 1 may be a truncated name.
  if (n <= 0 || static_cast<std::size_t>(n) >= resolved.size() - 1 || resolved[0] != '/') finish(in.out, kUnresolved);
  const auto length = static_cast<std::size_t>(n);
  resolved[length] = '\0';
  // 2. The text must name the same object with no symlink left in it. This refuses
  //    "... (deleted)" names, paths from another mount namespace and anything that changed
  //    since step 1.
  if (!sameObject(st, resolved.data(), RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)) finish(in.out, kUnresolved);

  // 3. Become the caller: supplementary groups, then gid, then uid (after setresuid we
  //    could no longer change groups). Raw syscalls: glibc's wrappers broadcast the change
  //    to every thread of the process; this child has exactly one thread, and the raw call
  //    changes exactly it. Any failure means the check cannot be made: no access.
  if (::syscall(SYS_setgroups, in.groupCount, in.groups) != 0 ||
      ::syscall(SYS_setresgid, in.gid, in.gid, in.gid) != 0 ||
      ::syscall(SYS_setresuid, in.uid, in.uid, in.uid) != 0) {
    finish(in.out, kNoAccess, resolved.data(), length);
  }
  // 4. Read the drop back: a non-root caller must have no capability left (no
  //    CAP_DAC_OVERRIDE answering for them).
  if (in.uid != 0 && hasCapabilities()) finish(in.out, kNoAccess, resolved.data(), length);

  // 5. As the caller: the same path must reach the same object (this also needs search
  //    permission on every directory above it), and the kernel must grant the mode.
  if (!sameObject(st, resolved.data(), RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)) {
    finish(in.out, kNoAccess, resolved.data(), length);
  }
  int mode = R_OK;
  if (in.access == MountAccess::ReadWrite) mode |= W_OK;
  if (S_ISDIR(st.st_mode)) mode |= X_OK;  // a directory one cannot search is not usable
  if (::faccessat(AT_FDCWD, resolved.data(), mode, 0) != 0) finish(in.out, kNoAccess, resolved.data(), length);
  finish(in.out, kAccess, resolved.data(), length);
}

// End of the async-signal-safe part.

void reap(pid_t pid, const UniqueFd& pidfd, bool killed) {
  if (pidfd) {
    pollfd p{pidfd.get(), POLLIN, 0};
    auto ready = DOCKERBOX_SYSCALL(::poll(&p, 1, kReapGraceMs), "poll pidfd");
    if (!ready || *ready == 0) {
      spdlog::warn("event=bind_check_child_stuck pid={} killed={}", pid, killed);
      return;  // the SIGCHLD reaper collects it when it finally exits
    }
  } else if (killed) {
    // Without a pidfd, do not block on a child that may be stuck in the kernel.
    (void)::waitpid(pid, nullptr, WNOHANG);
    return;
  }
  int status = 0;
  // ECHILD: another reaper was faster; the verdict came through the pipe anyway.
  (void)DOCKERBOX_SYSCALL(::waitpid(pid, &status, 0), "waitpid bind check");
}

// Reads the child's report until EOF or the deadline. nullopt on timeout or error.
std::optional<std::string> readReport(const UniqueFd& in, std::chrono::milliseconds deadline) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  std::string report;
  std::array<char, 4096> buf{};
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{in.get(), POLLIN, 0};
    auto ready = DOCKERBOX_SYSCALL(::poll(&p, 1, static_cast<int>(left.count())), "poll bind check");
    if (!ready || *ready == 0) return std::nullopt;
    auto n = DOCKERBOX_SYSCALL(::read(in.get(), buf.data(), buf.size()), "read bind check");
    if (!n) return std::nullopt;
    if (*n == 0) return report;
    report.append(buf.data(), static_cast<std::size_t>(*n));
    if (report.size() > PATH_MAX + 1) return std::nullopt;  // more than the child can send
  }
}

}  // namespace

BindSourceFacts checkBindSource(std::string_view source, const Identity& caller, MountAccess access,
                                std::chrono::milliseconds deadline) {
  BindSourceFacts facts;
  // A relative source is not a host path (in Binds it names a volume); NUL would cut the
  // path short in the kernel; longer than PATH_MAX cannot resolve.
  if (source.empty() || source.front() != '/' || source.find('\0') != std::string_view::npos ||
      source.size() >= PATH_MAX) {
    return facts;
  }
  // -1 tells setres[ug]id "leave unchanged", which would leave the child root.
  constexpr auto kNoUid = static_cast<uid_t>(-1);
  constexpr auto kNoGid = static_cast<gid_t>(-1);
  if (caller.uid == kNoUid || caller.gid == kNoGid) return facts;
  for (gid_t g : caller.groups) {
    if (g == kNoGid) return facts;
  }

  const std::string path(source);
  int fds[2] = {-1, -1};
  if (auto r = DOCKERBOX_SYSCALL(::pipe2(fds, O_CLOEXEC), "pipe2"); !r) {
    spdlog::error("event=bind_check_failed error=\"{}\"", r.error().context);
    return facts;
  }
  UniqueFd readEnd(fds[0]);
  UniqueFd writeEnd(fds[1]);
  const ChildInput input{path.c_str(), caller.uid, caller.gid, caller.groups.data(), caller.groups.size(),
                         access, writeEnd.get()};

  // Block signals across fork so the child never runs one of the broker's handlers (Asio's
  // would write into the broker's own signal pipe); the child keeps them blocked.
  sigset_t all;
  sigset_t previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  pid_t pid = ::fork();
  if (pid == 0) childMain(input);
  const int forkErrno = errno;
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (pid < 0) {
    spdlog::error("event=bind_check_failed error=\"fork: {}\"", errnoText(forkErrno));
    return facts;
  }
  writeEnd.reset();
  // Opened before anyone could reap the child: the broker reaps on its own thread's loop.
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));

  auto report = readReport(readEnd, deadline);
  if (!report) {
    spdlog::warn("event=bind_check_timeout pid={} deadline_ms={}", pid, deadline.count());
    (void)::kill(pid, SIGKILL);
  }
  reap(pid, pidfd, !report);
  if (!report || report->empty()) return facts;
  const char verdict = report->front();
  if ((verdict != kAccess && verdict != kNoAccess) || report->size() < 2 || (*report)[1] != '/') return facts;
  facts.resolved = report->substr(1);
  facts.access = verdict == kAccess ? CallerAccess::Allowed : CallerAccess::Denied;
  return facts;
}

bool stillResolvesTo(std::string_view resolvedPath, const Identity& caller, MountAccess access,
                     std::chrono::milliseconds deadline) {
  auto facts = checkBindSource(resolvedPath, caller, access, deadline);
  return facts.resolved && *facts.resolved == resolvedPath && facts.access == CallerAccess::Allowed;
}

}  // namespace dockerbox::broker
