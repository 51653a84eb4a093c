// Runs in: dockerbox-engine and dockerbox-registry, at the end of their sandbox set-up.
#include "common/deny_filter.hpp"

#include <linux/sched.h>
#include <sched.h>
#include <seccomp.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <string>

namespace dockerbox::confine {
namespace {

struct ContextDeleter {
  void operator()(scmp_filter_ctx ctx) const { seccomp_release(ctx); }
};
using FilterContext = std::unique_ptr<void, ContextDeleter>;

Result<void> check(int rc, const std::string& what) {
  if (rc == 0) return {};
  return fail(ErrorKind::Internal, "seccomp filter setup failed", what + ": " + std::strerror(-rc));
}

}  // namespace

// Names this libseccomp does not know are skipped (the kernel would not know them either).
Result<void> loadDenyFilter(const DenyFilterOptions& options) {
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
  // helper that tries is dead.
  if (auto ok = deny(SCMP_ACT_KILL_PROCESS, {"execve", "execveat"}); !ok) return ok;
  if (auto ok = deny(SCMP_ACT_ERRNO(EPERM),
                     {// other connections: the helper speaks on the channels it was given
                      "socketpair",
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
  if (options.networkClient) {
    // The default action allows: refuse every family but AF_UNIX, AF_INET, AF_INET6 and
    // AF_NETLINK, and any netlink protocol but NETLINK_ROUTE.
    if (auto ok = check(seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 1,
                                         SCMP_A0(SCMP_CMP_GT, AF_NETLINK)),
                        "deny other socket families");
        !ok) return ok;
    for (scmp_datum_t domain = 0; domain < AF_NETLINK; ++domain) {
      if (domain == AF_UNIX || domain == AF_INET || domain == AF_INET6) continue;
      if (auto ok = check(seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 1,
                                           SCMP_A0(SCMP_CMP_EQ, domain)),
                          "deny a socket family");
          !ok) return ok;
    }
    if (auto ok = check(seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 2,
                                         SCMP_A0(SCMP_CMP_EQ, AF_NETLINK), SCMP_A2(SCMP_CMP_NE, NETLINK_ROUTE)),
                        "deny netlink protocols");
        !ok) return ok;
  } else if (auto ok = deny(SCMP_ACT_ERRNO(EPERM), {"socket"}); !ok) {
    return ok;
  }
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


}  // namespace dockerbox::confine
