// Runs in: the frontend process at start-up, as root, before it reads a single byte from
// any client. After enterSandbox() returns, the process (and every worker forked from it)
// holds no capability, no root id, no host file and no network, and can make only the
// syscalls in seccomp_filter.cpp (design.md P3).
#include "frontend/sandbox.hpp"

#include "common/confine.hpp"
#include "common/syscall.hpp"
#include "frontend/seccomp_filter.hpp"

#include <execinfo.h>
#include <sched.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <ctime>

namespace dockerbox::frontend {

Result<void> enterSandbox(const SandboxConfig& config) {
  if (config.uid == 0 || config.gid == 0) {
    return fail(ErrorKind::Internal, "refusing to run the frontend as uid or gid 0");
  }
  const int keep[] = {config.controlFd};
  const pid_t parent = ::getppid();

  // 1. Warm up what libc loads lazily, while host files are still reachable: the time zone
  //    (spdlog formats UTC, but localtime anywhere would open /etc/localtime) and
  //    libgcc_s, which backtrace() (used by kj for exception traces) dlopens on first use.
  ::tzset();
  void* frames[4];
  (void)::backtrace(frames, 4);

  // 2. Close every inherited descriptor except stderr and the control socket.
  if (auto ok = confine::closeInheritedDescriptors(keep); !ok) return ok;

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
  if (auto ok = confine::enterEmptyRoot({}); !ok) return ok;

  // 6. Empty the capability bounding set. Needs CAP_SETPCAP, so before the id change.
  if (auto ok = confine::dropBoundingSet(); !ok) return ok;

  // 7. Groups first (setgroups needs CAP_SETGID), then gid, then uid (after setresuid we
  //    could no longer change the others).
  if (auto ok = confine::becomeUser(config.uid, config.gid); !ok) return ok;

  // 8. Die with the broker. The kernel clears the parent-death signal when the euid
  //    changes, so this must come after step 7; the getppid() check closes the race where
  //    the broker died before the signal was armed.
  if (auto ok = confine::dieWithParent(parent); !ok) return ok;

  // 9. Clear whatever capability sets remain (setresuid away from 0 already cleared
  //    permitted and effective; this makes it explicit and covers inheritable and ambient).
  if (auto ok = confine::clearCapabilities(); !ok) return ok;

  // 10. Read everything back from the kernel; abort on any surprise.
  confine::verifyUnprivileged("dockerbox-frontend", config.uid, config.gid);

  // 11. Seccomp last: it forbids calls the steps above still needed (mount, unshare,
  //     setresuid, prctl, ...). Asio objects are built per worker, under the filter, with
  //     calls the filter allows (epoll_create1, eventfd2, timerfd_create).
  return loadSeccompFilter(config.onViolation);
}

}  // namespace dockerbox::frontend
