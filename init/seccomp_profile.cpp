// Builds and loads dockerbox-init's seccomp filters with libseccomp. Runs in dockerbox-init
// as the last step of its privilege drop. Input: the broker's capability set (trusted).
// The default profile's data lives in seccomp_profile_table.cpp; this file only applies it.
#include "init/seccomp_profile.hpp"

#include "init/port_channel.hpp"
#include "init/seccomp_profile_table.hpp"
#include "init/sys_error.hpp"

#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <compare>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#if defined(DOCKERBOX_SANITIZER_BUILD)
#include <sanitizer/common_interface_defs.h>
#include <sanitizer/lsan_interface.h>
#endif

// The architectures below, the reaper's native-only filter and the syscall names are
// x86_64's; another target needs its own review, not a silent build.
#if !defined(__x86_64__) || defined(__ILP32__)
#error "dockerbox-init's seccomp filters are written for x86_64"
#endif

namespace dockerbox::init {
namespace {

struct FilterRelease {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
/// A libseccomp filter under construction (scmp_filter_ctx is a void*).
using Filter = std::unique_ptr<void, FilterRelease>;

/// libseccomp returns 0 or a negative errno and leaves errno alone.
Result<void> checkSeccomp(int rc, std::string_view what) {
  if (rc < 0) return sysError(what, -rc);
  return {};
}

/// A new filter whose unlisted calls get `defaultAction`, for the native ABI plus
/// `extraArches`. A call from any other ABI kills the process: no program of ours or of
/// the container's (on an x86_64 host) makes one, so it can only be an attempt to slip
/// past rules written for the listed ABIs.
Result<Filter> newFilter(std::uint32_t defaultAction,
                         std::initializer_list<std::uint32_t> extraArches) {
  Filter filter(seccomp_init(defaultAction));
  if (!filter) return sysError("seccomp_init", ENOMEM);
  auto badArch =
      checkSeccomp(seccomp_attr_set(filter.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS),
                   "seccomp_attr_set(SCMP_FLTATR_ACT_BADARCH)");
  if (!badArch) return badArch.error();
  // libseccomp sets no_new_privs itself before loading (its default); the caller has
  // already done so, which makes this a no-op rather than a new side effect.
  for (std::uint32_t arch : extraArches) {
    auto added = checkSeccomp(seccomp_arch_add(filter.get(), arch), "seccomp_arch_add");
    if (!added) return added.error();
  }
  return filter;
}

/// Adds `action` for `name` (with at most one argument check). libseccomp translates the
/// name to every ABI of the filter and leaves out ABIs that lack the call.
Result<void> addRule(const Filter& filter, std::uint32_t action, int syscallNr,
                     std::string_view name, const std::optional<ArgCheck>& arg) {
  std::string what = "seccomp_rule_add(" + std::string(name) + ")";
  if (!arg) return checkSeccomp(seccomp_rule_add(filter.get(), action, syscallNr, 0), what);
  scmp_arg_cmp cmp{arg->index, arg->op, arg->value, arg->valueTwo};
  return checkSeccomp(seccomp_rule_add_array(filter.get(), action, syscallNr, 1, &cmp), what);
}

Result<void> load(const Filter& filter) {
  return checkSeccomp(seccomp_load(filter.get()), "seccomp_load");
}

struct KernelVersion {
  int kernel = 0;
  int major = 0;
  auto operator<=>(const KernelVersion&) const = default;
};

/// The host kernel's "<kernel>.<major>", read as moby reads it (3.12.25-gentoo is 3.12).
Result<KernelVersion> hostKernelVersion() {
  utsname uts{};
  if (auto rc = sysCheck(::uname(&uts), "uname"); !rc) return rc.error();
  std::string_view release(uts.release);
  KernelVersion version;
  const char* end = release.data() + release.size();
  auto first = std::from_chars(release.data(), end, version.kernel);
  if (first.ec == std::errc{} && first.ptr != end && *first.ptr == '.') {
    auto second = std::from_chars(first.ptr + 1, end, version.major);
    if (second.ec == std::errc{}) return version;
  }
  return fail(ErrorKind::Internal,
              "cannot parse the kernel release \"" + std::string(release) + "\"");
}

bool hasCap(std::uint64_t capabilities, int cap) {
  return cap >= 0 && cap < 64 && ((capabilities >> cap) & 1U) != 0;
}

/// moby's includes/excludes, evaluated once for this process (seccomp_linux.go).
bool applies(const Gate& gate, std::uint64_t capabilities, KernelVersion host) {
  switch (gate.kind) {
    case GateKind::Always: return true;
    case GateKind::WithCap: return hasCap(capabilities, gate.capability);
    case GateKind::WithoutCap: return !hasCap(capabilities, gate.capability);
    case GateKind::KernelAtLeast: return host >= KernelVersion{gate.kernelMajor, gate.kernelMinor};
  }
  return false;  // an unknown gate grants nothing
}

std::uint32_t actionFor(Verdict verdict) {
  switch (verdict) {
    case Verdict::Allow: return SCMP_ACT_ALLOW;
    case Verdict::FailWithNoSys: return SCMP_ACT_ERRNO(ENOSYS);
  }
  return SCMP_ACT_ERRNO(EPERM);  // an unknown verdict is the default's refusal
}

/// What the pid-1 reaper may call after it forked the user's program. Anything else kills
/// it, and with it the container: it holds no secrets, but it is pid 1 of a namespace the
/// user's program shares and must not become a second program.
// clang-format off
constexpr std::string_view kReaperCalls[] = {
    // Reaping: the user's program and every orphan the pid namespace reparents to pid 1.
    "wait4", "waitid",
    // Forwarding the signals it receives (docker stop's SIGTERM, docker kill's signal).
    "kill", "tgkill",
    // Receiving them synchronously: blocked with sigprocmask, then read from a signalfd or
    // taken with sigtimedwait; sigaction to reset dispositions it inherited.
    "rt_sigprocmask", "rt_sigtimedwait", "signalfd4", "read", "rt_sigaction",
    // Issued by the kernel's own return paths: from a signal handler, and the restart of a
    // wait interrupted by SIGSTOP/SIGCONT.
    "rt_sigreturn", "restart_syscall",
    // Closing the signalfd and the fds it no longer needs.
    "close",
    // Leaving: exit_group is glibc's _exit and exit(); exit ends a single thread.
    "exit", "exit_group",
    // glibc's raise() and abort() (a failed DOCKERBOX_ASSERT must end in SIGABRT, not
    // SIGSYS) ask for the process and thread ids before tgkill.
    "getpid", "gettid",
    // An exec's timeout (a health check's): the clock, where the vDSO does not answer.
    "clock_gettime",
};
// clang-format on

/// Its only output: diagnostics on stderr, written with write(2) or, for glibc's fatal
/// messages (__libc_message), writev(2).
constexpr std::string_view kReaperStderrCalls[] = {"write", "writev"};

/// With a terminal only (tty_relay.cpp): waiting on the signalfd, the pty master and the
/// FIFOs at once. Its reads are the reaper's read; its writes and its one ioctl are added
/// per fd by allowRelayFds.
constexpr std::string_view kRelayCalls[] = {"poll"};

/// Unlike the profile's, every name the reaper uses is old enough that libseccomp must
/// know it: an unknown one is an error, never a silent gap (which would kill it later).
Result<int> resolveReaperCall(std::string_view name) {
  int nr = seccomp_syscall_resolve_name(std::string(name).c_str());
  if (nr == __NR_SCMP_ERROR) {
    return sysError("seccomp_syscall_resolve_name(" + std::string(name) + ")", ENOSYS);
  }
  return nr;
}

/// Allows `name` only when its first argument is `fd`.
Result<void> allowOnFd(const Filter& filter, std::string_view name, int fd) {
  auto nr = resolveReaperCall(name);
  if (!nr) return nr.error();
  ArgCheck onFd{0, SCMP_CMP_EQ, static_cast<std::uint64_t>(fd), 0};
  return addRule(filter, SCMP_ACT_ALLOW, *nr, name, onFd);
}

/// The relay's writes: the terminal's output to its own stdout (which miniboxd captures)
/// and the program's input into the pty master; and on the master only TIOCSWINSZ, for
/// the window sizes of the control FIFO. The fd numbers are fixed before the filter is
/// loaded, so no other fd the reaper could come to hold is writable.
Result<void> allowRelayFds(const Filter& filter, int ptyMaster) {
  if (auto ok = allowOnFd(filter, "write", STDOUT_FILENO); !ok) return ok;
  if (auto ok = allowOnFd(filter, "write", ptyMaster); !ok) return ok;
  auto master = static_cast<scmp_datum_t>(ptyMaster);
  return checkSeccomp(
      seccomp_rule_add(filter.get(), SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,
                       SCMP_A0(SCMP_CMP_EQ, master), SCMP_A1(SCMP_CMP_EQ, TIOCSWINSZ)),
      "seccomp_rule_add(ioctl TIOCSWINSZ)");
}

/// With published ports only (port_channel.cpp): the four kinds of socket the proxy may
/// ask for, each by its exact arguments, and the reply on the channel. The whole 64-bit
/// argument is compared, so a high bit set beside AF_INET is no match and kills: pid 1
/// never passes one. sendmsg cannot be checked for what it carries (the fd comes through
/// a pointer); pid 1 only ever attaches the socket it has just made, and the filter at
/// least keeps every other fd from sending, and sendmsg from waiting or raising SIGPIPE.
/// The requests come in through the reaper's read (read(2) on a Unix socket discards any
/// fd the proxy attaches), so neither recvmsg nor recvfrom is needed; the channel was made
/// non-blocking and asynchronous before the filter, so neither is fcntl.
Result<void> allowPortChannel(const Filter& filter, int channel) {
  for (int domain : {AF_INET, AF_INET6}) {
    for (int type : {SOCK_STREAM, SOCK_DGRAM}) {
      auto added = checkSeccomp(
          seccomp_rule_add(filter.get(), SCMP_ACT_ALLOW, SCMP_SYS(socket), 3,
                           SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(domain)),
                           SCMP_A1(SCMP_CMP_EQ, static_cast<scmp_datum_t>(type | SOCK_CLOEXEC)),
                           SCMP_A2(SCMP_CMP_EQ, 0)),
          "seccomp_rule_add(socket)");
      if (!added) return added;
    }
  }
  return checkSeccomp(
      seccomp_rule_add(filter.get(), SCMP_ACT_ALLOW, SCMP_SYS(sendmsg), 2,
                       SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(channel)),
                       SCMP_A2(SCMP_CMP_EQ, static_cast<scmp_datum_t>(kPortReplyFlags))),
      "seccomp_rule_add(sendmsg)");
}

#if defined(DOCKERBOX_SANITIZER_BUILD)
/// Sanitizer builds only (style.md §8): ASan's _exit interceptor reads sigaltstack, and
/// its runtime maps memory and waits on its locks while it reports an error (the report
/// still stops at its first line, where symbolizing would open /proc/self/maps). Never
/// part of a release build's list.
constexpr std::string_view kReaperSanitizerCalls[] = {
    "sigaltstack", "mmap", "munmap", "mprotect", "madvise", "futex", "sched_yield"};
#else
constexpr std::span<const std::string_view> kReaperSanitizerCalls;
#endif

/// Sanitizer builds only: lets the runtime cache what it would open later (the module
/// list from /proc/self/maps), and runs LeakSanitizer's check now, because the one at
/// exit needs clone and ptrace, which the reaper never gets. A no-op otherwise.
Result<void> prepareSanitizerForSeccomp([[maybe_unused]] const Filter& filter) {
#if defined(DOCKERBOX_SANITIZER_BUILD)
  // The report's colour: isatty(2) is ioctl(2, TCGETS).
  auto tty = checkSeccomp(
      seccomp_rule_add(filter.get(), SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,
                       SCMP_A0(SCMP_CMP_EQ, STDERR_FILENO), SCMP_A1(SCMP_CMP_EQ, TCGETS)),
      "seccomp_rule_add(ioctl)");
  if (!tty) return tty;
  __sanitizer_sandbox_on_notify(nullptr);
  __lsan_do_leak_check();
#endif
  return {};
}

}  // namespace

Result<void> loadDockerDefaultSeccomp(std::uint64_t capabilities) {
  auto host = hostKernelVersion();
  if (!host) return host.error();
  // EPERM for everything unlisted, as moby; x86 and x32 as moby's archMap for amd64.
  auto filter = newFilter(SCMP_ACT_ERRNO(EPERM), {SCMP_ARCH_X86, SCMP_ARCH_X32});
  if (!filter) return filter.error();
  for (const ProfileRule& rule : dockerDefaultRules()) {
    if (!applies(rule.when, capabilities, *host)) continue;
    for (std::string_view name : rule.names) {
      // As moby: a name this libseccomp does not know (newer than it) is left out, and the
      // call gets the default EPERM. dockerDefaultNameCoverage counts these.
      int nr = seccomp_syscall_resolve_name(std::string(name).c_str());
      if (nr == __NR_SCMP_ERROR) continue;
      auto added = addRule(*filter, actionFor(rule.verdict), nr, name, rule.arg);
      if (!added) return added.error();
    }
  }
  return load(*filter);
}

Result<void> loadReaperSeccomp(const ReaperFds& fds) {
  auto filter = newFilter(SCMP_ACT_KILL_PROCESS, {});
  if (!filter) return filter.error();
  std::vector<std::string_view> allowed(std::begin(kReaperCalls), std::end(kReaperCalls));
  allowed.insert(allowed.end(), std::begin(kReaperSanitizerCalls), std::end(kReaperSanitizerCalls));
  if (fds.relayedPtyMaster) {
    allowed.insert(allowed.end(), std::begin(kRelayCalls), std::end(kRelayCalls));
  }
  for (std::string_view name : allowed) {
    auto nr = resolveReaperCall(name);
    if (!nr) return nr.error();
    if (auto added = addRule(*filter, SCMP_ACT_ALLOW, *nr, name, std::nullopt); !added)
      return added;
  }
  for (std::string_view name : kReaperStderrCalls) {
    if (auto added = allowOnFd(*filter, name, STDERR_FILENO); !added) return added;
  }
  if (fds.relayedPtyMaster) {
    if (auto added = allowRelayFds(*filter, *fds.relayedPtyMaster); !added) return added;
  }
  if (fds.portChannel) {
    if (auto added = allowPortChannel(*filter, *fds.portChannel); !added) return added;
  }
  if (auto prepared = prepareSanitizerForSeccomp(*filter); !prepared) return prepared;
  return load(*filter);
}

SeccompNameCoverage dockerDefaultNameCoverage() {
  std::set<std::string_view> distinct;
  for (const ProfileRule& rule : dockerDefaultRules())
    distinct.insert(rule.names.begin(), rule.names.end());
  SeccompNameCoverage coverage;
  coverage.names = distinct.size();
  for (std::string_view name : distinct) {
    std::string text(name);
    if (seccomp_syscall_resolve_name(text.c_str()) == __NR_SCMP_ERROR) ++coverage.unknownToLibrary;
    // Negative numbers are libseccomp's placeholders for "exists elsewhere, not on this ABI".
    if (seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, text.c_str()) >= 0)
      ++coverage.realOnX8664;
    if (seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86, text.c_str()) >= 0) ++coverage.realOnX86;
    if (seccomp_syscall_resolve_name_arch(SCMP_ARCH_X32, text.c_str()) >= 0) ++coverage.realOnX32;
  }
  return coverage;
}

}  // namespace dockerbox::init
