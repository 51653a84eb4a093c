// Runs in: the frontend process (root until moments before this runs; unprivileged now).
// The filter is an allow-list: anything not named below kills the process. Each group says
// who needs it. To find a missing call, run with --seccomp-violation=trap: the number of
// the refused syscall is printed to stderr (see `ausyscall NUMBER`), and the process still
// dies. That switch never allows anything more.
#include "frontend/seccomp_filter.hpp"

#include <fcntl.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <string>

namespace dockerbox::frontend {
namespace {

struct ContextDeleter {
  void operator()(scmp_filter_ctx ctx) const { seccomp_release(ctx); }
};
using FilterContext = std::unique_ptr<void, ContextDeleter>;

/// A syscall number that no kernel assigns. Issuing it again from the SIGSYS handler,
/// where SIGSYS is blocked, makes the kernel kill the process with SIGSYS.
constexpr long kNoSuchSyscall = 0xfff;

/// Debug mode's SIGSYS handler: report, then die of the same signal. Async-signal-safe.
void reportViolation(int, siginfo_t* info, void*) {
  char message[64] = "dockerbox-frontend: seccomp refused syscall ";
  std::size_t length = std::strlen(message);
  int nr = info->si_syscall;
  char digits[16];
  int count = 0;
  do {
    digits[count++] = static_cast<char>('0' + nr % 10);
    nr /= 10;
  } while (nr > 0 && count < 15);
  while (count > 0 && length < sizeof message - 2) message[length++] = digits[--count];
  message[length++] = '\n';
  (void)!::write(STDERR_FILENO, message, length);
  ::syscall(kNoSuchSyscall);
}

Result<void> check(int rc, const char* what) {
  if (rc == 0) return {};
  return fail(ErrorKind::Internal, "seccomp filter setup failed",
              std::string(what) + ": " + std::strerror(-rc));
}

Result<void> allow(scmp_filter_ctx ctx, std::initializer_list<int> syscalls) {
  for (int nr : syscalls) {
    if (auto ok = check(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0), "seccomp_rule_add"); !ok) {
      return ok;
    }
  }
  return {};
}

/// Allows `nr` only when argument `arg` equals one of `values`.
Result<void> allowIfArgIn(scmp_filter_ctx ctx, int nr, unsigned arg,
                          std::initializer_list<scmp_datum_t> values) {
  for (scmp_datum_t value : values) {
    auto rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_CMP(arg, SCMP_CMP_EQ, value));
    if (auto ok = check(rc, "seccomp_rule_add(argument)"); !ok) return ok;
  }
  return {};
}

Result<void> addRules(scmp_filter_ctx ctx) {
  // Memory: glibc malloc, libstdc++, Cap'n Proto and Asio buffers.
  if (auto ok = allow(ctx, {SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap),
                            SCMP_SYS(mprotect), SCMP_SYS(madvise)});
      !ok) return ok;
  // Leaving: exit_group (normal exit, _exit), exit (thread end inside glibc).
  if (auto ok = allow(ctx, {SCMP_SYS(exit_group), SCMP_SYS(exit)}); !ok) return ok;
  // Signals: returning from the zygote's SIGCHLD handler; the zygote's mask around ppoll;
  // a new worker resetting SIGCHLD; glibc fork() and abort() masking signals.
  if (auto ok = allow(ctx, {SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask),
                            SCMP_SYS(rt_sigaction)});
      !ok) return ok;
  // Time: clock_gettime and gettimeofday normally go through the vDSO; these are the
  // fallbacks (spdlog timestamps, Asio timers, the system clock for Status strings).
  if (auto ok = allow(ctx, {SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday)}); !ok) return ok;
  // Locks: futex for spdlog's mutex and static-initialisation guards.
  if (auto ok = allow(ctx, {SCMP_SYS(futex)}); !ok) return ok;
  // Identity queries that reveal nothing outside the process: spdlog, glibc fork/abort.
  if (auto ok = allow(ctx, {SCMP_SYS(getpid), SCMP_SYS(gettid)}); !ok) return ok;
  // glibc's fork() re-registers the child's robust-futex list (its own memory only).
  if (auto ok = allow(ctx, {SCMP_SYS(set_robust_list)}); !ok) return ok;

  // Zygote: wait for the control socket or SIGCHLD, receive descriptors, reap workers.
  if (auto ok = allow(ctx, {SCMP_SYS(ppoll), SCMP_SYS(recvmsg), SCMP_SYS(wait4)}); !ok) {
    return ok;
  }
  // Zygote: fork() is clone(SIGCHLD | CHILD_SETTID | CHILD_CLEARTID). Any namespace flag
  // is refused, most of all CLONE_NEWUSER: a compromised worker must not gain capabilities
  // in a user namespace of its own. CLONE_THREAD is refused too: no threads, so the
  // filter (which covers the calling thread) covers everything.
  constexpr scmp_datum_t kRefusedCloneFlags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC |
                                              CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET |
                                              CLONE_NEWCGROUP | CLONE_THREAD | CLONE_VM;
  if (auto ok = check(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                                       SCMP_A0(SCMP_CMP_MASKED_EQ, kRefusedCloneFlags, 0)),
                      "seccomp_rule_add(clone)");
      !ok) return ok;
  // clone3 passes its flags in memory, which a filter cannot inspect: answer ENOSYS so
  // glibc falls back to clone, where the flags are checked.
  if (auto ok = check(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0),
                      "seccomp_rule_add(clone3)");
      !ok) return ok;

  // Workers: Asio's reactor (epoll, its eventfd interrupter and timerfd deadlines).
  if (auto ok = allow(ctx, {SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_wait),
                            SCMP_SYS(epoll_pwait), SCMP_SYS(eventfd2), SCMP_SYS(timerfd_create),
                            SCMP_SYS(timerfd_settime)});
      !ok) return ok;
  // Workers: I/O on the client connection, the IPC channel and stderr. Both sockets were
  // received already connected; nothing here can name a new peer.
  if (auto ok = allow(ctx, {SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
                            SCMP_SYS(recvfrom), SCMP_SYS(sendto), SCMP_SYS(sendmsg),
                            SCMP_SYS(shutdown), SCMP_SYS(getsockopt), SCMP_SYS(close)});
      !ok) return ok;
  // Workers: Asio switches sockets to non-blocking with ioctl(FIONBIO) and reads the
  // flags with fcntl; no other ioctl or fcntl command is needed.
  if (auto ok = allowIfArgIn(ctx, SCMP_SYS(ioctl), 1, {FIONBIO}); !ok) return ok;
  if (auto ok = allowIfArgIn(ctx, SCMP_SYS(fcntl), 1, {F_GETFL, F_SETFL, F_GETFD, F_SETFD});
      !ok) return ok;
  // Workers: stack the narrower worker filter (narrowFilterForWorker). Only adding a
  // filter, with no flags (no TSYNC, no user-notification listener), is allowed.
  if (auto ok = check(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(seccomp), 2,
                                       SCMP_A0(SCMP_CMP_EQ, SECCOMP_SET_MODE_FILTER),
                                       SCMP_A1(SCMP_CMP_EQ, 0)),
                      "seccomp_rule_add(seccomp)");
      !ok) return ok;
  // socket() only for AF_UNIX (future socketpairs for streams). No AF_INET/AF_INET6/
  // AF_NETLINK/...: the worker must never reach a network, nor the kernel's other families.
  if (auto ok = allowIfArgIn(ctx, SCMP_SYS(socket), 0, {AF_UNIX}); !ok) return ok;

#if defined(DOCKERBOX_SANITIZER_BUILD) && DOCKERBOX_SANITIZER_BUILD
  // Sanitizer builds only: ASan/UBSan runtimes read /proc/self/* when reporting (there is
  // no /proc in the sandbox, so these fail harmlessly), create pipes for symbolizers and
  // query their own state. Never in a production build: opening files is exactly what
  // the empty root and this filter are meant to prevent.
  if (auto ok = allow(ctx, {SCMP_SYS(open), SCMP_SYS(openat), SCMP_SYS(readlink),
                            SCMP_SYS(readlinkat), SCMP_SYS(pipe2), SCMP_SYS(sched_yield),
                            SCMP_SYS(sigaltstack), SCMP_SYS(prctl), SCMP_SYS(getrlimit),
                            SCMP_SYS(prlimit64), SCMP_SYS(mincore), SCMP_SYS(fstat),
                            SCMP_SYS(newfstatat), SCMP_SYS(lseek), SCMP_SYS(tgkill)});
      !ok) return ok;
#endif
  return {};
}

}  // namespace

Result<void> loadSeccompFilter(SeccompViolation onViolation) {
  if (onViolation == SeccompViolation::Trap) {
    struct sigaction action {};
    action.sa_sigaction = &reportViolation;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    if (::sigaction(SIGSYS, &action, nullptr) != 0) {
      return fail(ErrorKind::Internal, "seccomp filter setup failed", "sigaction(SIGSYS)");
    }
  }
  uint32_t defaultAction =
      onViolation == SeccompViolation::Trap ? SCMP_ACT_TRAP : SCMP_ACT_KILL_PROCESS;
  FilterContext ctx(seccomp_init(defaultAction));
  if (!ctx) return fail(ErrorKind::Internal, "seccomp filter setup failed", "seccomp_init");
  // Only the native architecture: a syscall made through another ABI (i386 int 0x80 on
  // x86_64, or x32) has other numbers and would slip past a list written for this one.
  if (auto ok = check(seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS),
                      "seccomp_attr_set(BADARCH)");
      !ok) return ok;
  if (seccomp_arch_exist(ctx.get(), seccomp_arch_native()) != 0) {
    return fail(ErrorKind::Internal, "seccomp filter setup failed", "native arch missing");
  }
  // no_new_privs is set by enterSandbox() earlier; the filter requires it (we hold no
  // CAP_SYS_ADMIN by now), and libseccomp must not try to set it on its own.
  if (auto ok = check(seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0), "seccomp_attr_set(NNP)");
      !ok) return ok;
  if (auto ok = addRules(ctx.get()); !ok) return ok;
  return check(seccomp_load(ctx.get()), "seccomp_load");
}

Result<void> narrowFilterForWorker() {
  // Hand-written BPF rather than libseccomp: this runs under the first filter, where
  // libseccomp's own probing syscalls are not allowed. No architecture check is needed
  // here: the first filter already kills every foreign architecture.
  sock_filter program[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 3, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_wait4, 2, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_ppoll, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
  };
  sock_fprog filter{static_cast<unsigned short>(std::size(program)), program};
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &filter) != 0) {
    return fail(ErrorKind::Internal, "seccomp filter setup failed",
                std::string("seccomp(worker filter): ") + std::strerror(errno));
  }
  return {};
}

}  // namespace dockerbox::frontend
