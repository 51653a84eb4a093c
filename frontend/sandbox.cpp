// Runs in: the frontend process at start-up, as root, before it reads a single byte from
// any client. After enterSandbox() returns, the process (and every worker forked from it)
// holds no capability, no root id, no host file and no network, and can make only the
// syscalls in seccomp_filter.cpp (design.md P3).
#include "frontend/sandbox.hpp"

#include "common/syscall.hpp"
#include "frontend/seccomp_filter.hpp"

#include <execinfo.h>
#include <fcntl.h>
#include <signal.h>
#include <grp.h>
#include <linux/close_range.h>
#include <sched.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

namespace dockerbox::frontend {
namespace {

/// Aborts when a read-back shows the sandbox is not what it should be: carrying on in a
/// half-confined process is worse than not serving at all.
void require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "dockerbox-frontend: sandbox check failed: %s\n", what);
  std::fflush(stderr);
  std::abort();
}

Result<void> closeInheritedDescriptors(int keep) {
  // Everything but stderr (2) and the control socket goes. Only those two can have come
  // from the broker on purpose; anything else leaked from somewhere and could be a file.
  std::vector<unsigned> kept{STDERR_FILENO};
  if (keep >= 0 && keep != STDERR_FILENO) kept.push_back(static_cast<unsigned>(keep));
  std::sort(kept.begin(), kept.end());
  unsigned next = 0;
  for (unsigned k : kept) {
    if (k > next) {
      auto rc = DOCKERBOX_SYSCALL(::syscall(SYS_close_range, next, k - 1, 0), "close_range");
      if (!rc) return rc.error();
    }
    next = k + 1;
  }
  if (auto rc = DOCKERBOX_SYSCALL(::syscall(SYS_close_range, next, UINT_MAX, 0), "close_range");
      !rc) return rc.error();
  // Refill 0 and 1 so that no socket the worker opens later can land on them: a stray
  // printf must go to the log (stdout -> stderr), never into a client's HTTP stream; stdin
  // is the read end of a pipe whose write end is gone (reads see EOF, like /dev/null).
  if (keep != STDOUT_FILENO) {
    if (auto rc = DOCKERBOX_SYSCALL(::dup2(STDERR_FILENO, STDOUT_FILENO), "dup2(2, 1)"); !rc) return rc.error();
  }
  if (keep != STDIN_FILENO) {
    int ends[2];
    if (auto rc = DOCKERBOX_SYSCALL(::pipe2(ends, O_CLOEXEC), "pipe2"); !rc) return rc.error();
    ::close(ends[1]);
    if (ends[0] != STDIN_FILENO) {
      auto rc = DOCKERBOX_SYSCALL(::dup2(ends[0], STDIN_FILENO), "dup2(pipe, 0)");
      ::close(ends[0]);
      if (!rc) return rc.error();
    }
  }
  return {};
}

Result<void> enterEmptyRoot() {
  // Our mounts must not propagate back to the host's namespace (systemd makes / shared).
  if (auto rc = DOCKERBOX_SYSCALL(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr),
                                  "mount(/, MS_REC|MS_PRIVATE)");
      !rc) return rc.error();
  // An empty tmpfs becomes the new root. It is mounted over /tmp only inside our own mount
  // namespace; the host's /tmp is untouched.
  if (auto rc = DOCKERBOX_SYSCALL(::mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                                          "size=4k,nr_inodes=2,mode=0555"),
                                  "mount(tmpfs, /tmp)");
      !rc) return rc.error();
  if (auto rc = DOCKERBOX_SYSCALL(::chdir("/tmp"), "chdir(/tmp)"); !rc) return rc.error();
  // pivot_root(".", ".") stacks the old root on top of the new one; detaching "." then
  // removes the old root, and with it every host file, from this namespace.
  if (auto rc = DOCKERBOX_SYSCALL(::syscall(SYS_pivot_root, ".", "."), "pivot_root(., .)"); !rc) {
    return rc.error();
  }
  if (auto rc = DOCKERBOX_SYSCALL(::umount2(".", MNT_DETACH), "umount2(old root)"); !rc) {
    return rc.error();
  }
  if (auto rc = DOCKERBOX_SYSCALL(::chdir("/"), "chdir(/)"); !rc) return rc.error();
  if (auto rc = DOCKERBOX_SYSCALL(::mount(nullptr, "/", nullptr,
                                          MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID |
                                              MS_NODEV | MS_NOEXEC,
                                          nullptr),
                                  "mount(/, MS_REMOUNT|MS_RDONLY)");
      !rc) return rc.error();
  return {};
}

Result<void> dropBoundingSet() {
  // PR_CAPBSET_READ fails with EINVAL past the kernel's last capability, so this covers
  // capabilities newer than our headers too.
  for (int cap = 0; ::prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; ++cap) {
    if (auto rc = DOCKERBOX_SYSCALL(::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), "prctl(PR_CAPBSET_DROP)");
        !rc) return rc.error();
  }
  return {};
}

Result<void> clearCapabilities() {
  cap_t empty = cap_init();  // all three sets empty
  if (empty == nullptr) return fail(ErrorKind::Internal, "sandbox setup failed", "cap_init");
  int rc = cap_set_proc(empty);
  cap_free(empty);
  if (rc != 0) return fail(ErrorKind::Internal, "sandbox setup failed", "cap_set_proc(empty)");
  if (cap_reset_ambient() != 0) {
    return fail(ErrorKind::Internal, "sandbox setup failed", "cap_reset_ambient");
  }
  return {};
}

void verifyConfinement(const SandboxConfig& config) {
  uid_t ruid = 0, euid = 0, suid = 0;
  gid_t rgid = 0, egid = 0, sgid = 0;
  require(::getresuid(&ruid, &euid, &suid) == 0, "getresuid");
  require(::getresgid(&rgid, &egid, &sgid) == 0, "getresgid");
  require(ruid == config.uid && euid == config.uid && suid == config.uid, "uids");
  require(rgid == config.gid && egid == config.gid && sgid == config.gid, "gids");
  require(::getgroups(0, nullptr) == 0, "supplementary groups");
  require(::setresuid(0, 0, 0) != 0, "regaining uid 0 must fail");

  cap_t current = cap_get_proc();
  require(current != nullptr, "cap_get_proc");
  cap_t empty = cap_init();
  bool clear = cap_compare(current, empty) == 0;
  cap_free(empty);
  cap_free(current);
  require(clear, "effective/permitted/inheritable capabilities");
  for (int cap = 0;; ++cap) {
    int inBounding = ::prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (inBounding < 0) {
      require(cap > CAP_LAST_CAP, "bounding set readable up to CAP_LAST_CAP");
      break;
    }
    require(inBounding == 0, "bounding set is empty");
    require(::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) == 0, "ambient set is empty");
  }
  require(::prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1, "no_new_privs");
  int deathSignal = 0;
  require(::prctl(PR_GET_PDEATHSIG, &deathSignal, 0, 0, 0) == 0 && deathSignal == SIGKILL,
          "parent-death signal");
}

}  // namespace

Result<void> enterSandbox(const SandboxConfig& config) {
  if (config.uid == 0 || config.gid == 0) {
    return fail(ErrorKind::Internal, "refusing to run the frontend as uid or gid 0");
  }
  const pid_t parent = ::getppid();

  // 1. Warm up what libc loads lazily, while host files are still reachable: the time zone
  //    (spdlog formats UTC, but localtime anywhere would open /etc/localtime) and
  //    libgcc_s, which backtrace() (used by kj for exception traces) dlopens on first use.
  ::tzset();
  void* frames[4];
  (void)::backtrace(frames, 4);

  // 2. Close every inherited descriptor except stderr and the control socket.
  if (auto ok = closeInheritedDescriptors(config.controlFd); !ok) return ok;

  // 3. no_new_privs: nothing we could still execute may gain privileges (also required
  //    for an unprivileged seccomp filter).
  if (auto rc = DOCKERBOX_SYSCALL(::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "PR_SET_NO_NEW_PRIVS");
      !rc) return rc.error();

  // 4. New mount, network and IPC namespaces, while we are still root (needs
  //    CAP_SYS_ADMIN). The network namespace has only a downed loopback, and it also
  //    scopes abstract Unix sockets: none of the host's can be reached.
  if (auto rc = DOCKERBOX_SYSCALL(::unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC),
                                  "unshare(NEWNS|NEWNET|NEWIPC)");
      !rc) return rc.error();

  // 5. An empty, read-only root: no host file is reachable by any path from here on.
  if (auto ok = enterEmptyRoot(); !ok) return ok;

  // 6. Empty the capability bounding set. Needs CAP_SETPCAP, so before the id change.
  if (auto ok = dropBoundingSet(); !ok) return ok;

  // 7. Groups first (setgroups needs CAP_SETGID), then gid, then uid (after setresuid we
  //    could no longer change the others).
  if (auto rc = DOCKERBOX_SYSCALL(::setgroups(0, nullptr), "setgroups(0)"); !rc) return rc.error();
  if (auto rc = DOCKERBOX_SYSCALL(::setresgid(config.gid, config.gid, config.gid), "setresgid");
      !rc) return rc.error();
  if (auto rc = DOCKERBOX_SYSCALL(::setresuid(config.uid, config.uid, config.uid), "setresuid");
      !rc) return rc.error();

  // 8. Die with the broker. The kernel clears the parent-death signal when the euid
  //    changes, so this must come after step 7; the getppid() check closes the race where
  //    the broker died before the signal was armed.
  if (auto rc = DOCKERBOX_SYSCALL(::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0), "PR_SET_PDEATHSIG");
      !rc) return rc.error();
  if (::getppid() != parent) return fail(ErrorKind::Internal, "the broker exited during start-up");

  // 9. Clear whatever capability sets remain (setresuid away from 0 already cleared
  //    permitted and effective; this makes it explicit and covers inheritable and ambient).
  if (auto ok = clearCapabilities(); !ok) return ok;

  // 10. Read everything back from the kernel; abort on any surprise.
  verifyConfinement(config);

  // 11. Seccomp last: it forbids calls the steps above still needed (mount, unshare,
  //     setresuid, prctl, ...). Asio objects are built per worker, under the filter, with
  //     calls the filter allows (epoll_create1, eventfd2, timerfd_create).
  return loadSeccompFilter(config.onViolation);
}

}  // namespace dockerbox::frontend
