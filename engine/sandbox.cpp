// Runs in: dockerbox-engine at start-up, as root, before it reads a byte from the monitor.
// After enterSandbox() returns, the engine holds no capability, no root id, no host file
// but its own state directory, no network and no way to reach miniboxd (its socket is out
// of the mount namespace; abstract sockets are scoped by the network namespace; `socket`
// is refused), so it cannot do root's work even when compromised (issue 9).
#include "engine/sandbox.hpp"

#include "common/confine.hpp"
#include "common/syscall.hpp"

#include <execinfo.h>
#include <linux/sched.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>

namespace dockerbox::engine {
namespace {

struct ContextDeleter {
  void operator()(scmp_filter_ctx ctx) const { seccomp_release(ctx); }
};
using FilterContext = std::unique_ptr<void, ContextDeleter>;

Result<void> check(int rc, const std::string& what) {
  if (rc == 0) return {};
  return fail(ErrorKind::Internal, "seccomp filter setup failed", what + ": " + std::strerror(-rc));
}

/// A deny-list: the engine is ordinary code (SQLite, Asio, Cap'n Proto) whose syscalls are
/// many and change with libraries; what it must never do is short and stable. Names this
/// libseccomp does not know are skipped (the kernel would not know them either).
Result<void> loadFilter() {
  FilterContext ctx(seccomp_init(SCMP_ACT_ALLOW));
  if (!ctx) return fail(ErrorKind::Internal, "seccomp filter setup failed", "seccomp_init");
  auto deny = [&](std::uint32_t action, std::initializer_list<const char*> names) -> Result<void> {
    for (const char* name : names) {
      const int nr = seccomp_syscall_resolve_name(name);
      if (nr == __NR_SCMP_ERROR) continue;
      if (auto ok = check(seccomp_rule_add(ctx.get(), action, nr, 0), std::string("deny ") + name); !ok) return ok;
    }
    return {};
  };
  // Running anything else: there is nothing to run in the empty root, but a compromised
  // engine that tries is dead.
  if (auto ok = deny(SCMP_ACT_KILL_PROCESS, {"execve", "execveat"}); !ok) return ok;
  if (auto ok = deny(SCMP_ACT_ERRNO(EPERM),
                     {// new connections of any kind: the engine speaks only on the channels it was given
                      "socket", "socketpair",
                      // mounts, roots and namespaces
                      "mount", "umount2", "pivot_root", "chroot", "unshare", "setns", "fsopen", "fsmount",
                      "fsconfig", "fspick", "move_mount", "open_tree", "mount_setattr",
                      // other processes' memory and descriptors
                      "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp",
                      // the kernel's own interfaces
                      "bpf", "perf_event_open", "keyctl", "add_key", "request_key", "kexec_load",
                      "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot", "swapon",
                      "swapoff", "acct", "quotactl", "open_by_handle_at", "name_to_handle_at", "fanotify_init",
                      "userfaultfd", "lookup_dcookie", "syslog", "vhangup", "iopl", "ioperm", "mknod", "mknodat",
                      "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "io_uring_setup",
                      "io_uring_enter", "io_uring_register", "personality", "setuid", "setgid", "setreuid",
                      "setregid", "setresuid", "setresgid", "setgroups", "setfsuid", "setfsgid", "capset"});
      !ok) return ok;
  // Threads may be made, namespaces may not. clone3 passes its flags in memory, which a
  // filter cannot read: ENOSYS makes glibc fall back to clone.
  if (auto ok = deny(SCMP_ACT_ERRNO(ENOSYS), {"clone3"}); !ok) return ok;
  for (scmp_datum_t flag : {CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUTS,
                            CLONE_NEWCGROUP}) {
    auto rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                               SCMP_CMP(0, SCMP_CMP_MASKED_EQ, flag, flag));
    if (auto ok = check(rc, "deny clone with namespace flags"); !ok) return ok;
  }
  return check(seccomp_load(ctx.get()), "seccomp_load");
}

}  // namespace

Result<void> enterSandbox(const SandboxConfig& config) {
  if (config.uid == 0 || config.gid == 0) return fail(ErrorKind::Internal, "refusing to run the engine as root");
  if (config.dataDir.empty() || config.dataDir.front() != '/') {
    return fail(ErrorKind::Internal, "the engine's state directory must be an absolute path");
  }
  const pid_t parent = ::getppid();
  // 1. What libc loads lazily, while host files are reachable: the time zone and libgcc_s
  //    (backtrace, used by kj for exception traces).
  ::tzset();
  void* frames[4];
  (void)::backtrace(frames, 4);
  // 2. Only stderr and the channels stay.
  if (auto ok = confine::closeInheritedDescriptors(config.keepFds); !ok) return ok;
  // 3. Nothing executed could gain privileges (and the seccomp filter may be loaded).
  if (auto rc = DOCKERBOX_SYSCALL(::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "PR_SET_NO_NEW_PRIVS"); !rc) {
    return rc.error();
  }
  // 4. Own mount, network and IPC namespaces: no host path, no network, no abstract socket.
  if (auto rc = DOCKERBOX_SYSCALL(::unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC), "unshare(NEWNS|NEWNET|NEWIPC)");
      !rc) return rc.error();
  // 5. A read-only empty root holding the state directory alone.
  const confine::Bind binds[] = {{config.dataDir, std::string(kSandboxDataDir + 1)}};
  if (auto ok = confine::enterEmptyRoot(binds); !ok) return ok;
  // 6.-9. No bounding set, the engine's ids, death with the monitor, no capability left.
  if (auto ok = confine::dropBoundingSet(); !ok) return ok;
  if (auto ok = confine::becomeUser(config.uid, config.gid); !ok) return ok;
  if (auto ok = confine::dieWithParent(parent); !ok) return ok;
  if (auto ok = confine::clearCapabilities(); !ok) return ok;
  // 10. Read back; abort on any surprise.
  confine::verifyUnprivileged("dockerbox-engine", config.uid, config.gid);
  // 11. The filter last: it refuses calls the steps above needed.
  return loadFilter();
}

}  // namespace dockerbox::engine
