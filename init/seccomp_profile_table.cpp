// Docker's default seccomp profile as data (see seccomp_profile_table.hpp for the upstream
// version). Every group below is one entry of moby's "syscalls" list, in upstream order;
// the comment above each says when the profile grants it and why.
#include "init/seccomp_profile_table.hpp"

#include <linux/capability.h>
#include <sys/personality.h>
#include <sys/socket.h>

#include <sched.h>

namespace dockerbox::init {
namespace {

// Always allowed: the ordinary calls of an unprivileged Linux program. Names from every
// x86 ABI (chown32 is i386 only, epoll_ctl_old x86_64 only) and from other architectures
// sit side by side as upstream has them; libseccomp maps each to the ABIs that have it.
// Names newer than the libseccomp in use are skipped at load time and counted, as moby
// does (Debian 12's 2.5.4 lacks listmount, statmount, mseal, uretprobe, riscv_hwprobe, the
// *xattrat calls and, below, the lsm_* calls); such calls get EPERM. `socket` is not here
// (see the AF_ALG/AF_VSOCK rules) but `socketcall` is, so 32-bit callers reach every
// family through it: upstream's known gap, kept as is.
// Packed in upstream's (alphabetical) order, to diff against the JSON.
// clang-format off
constexpr std::string_view kAlwaysAllowed[] = {
    "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat", "capget",
    "capset", "chdir", "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64",
    "clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
    "clock_nanosleep_time64", "close", "close_range", "connect", "copy_file_range", "creat", "dup",
    "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait",
    "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat",
    "exit", "exit_group", "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate",
    "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat",
    "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr",
    "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate",
    "ftruncate64", "futex", "futex_requeue", "futex_time64", "futex_wait", "futex_waitv",
    "futex_wake", "futimesat", "getcpu", "getcwd", "getdents", "getdents64", "getegid",
    "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32",
    "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority",
    "getrandom", "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit",
    "get_robust_list", "getrusage", "getsid", "getsockname", "getsockopt", "get_thread_area",
    "gettid", "gettimeofday", "getuid", "getuid32", "getxattr", "getxattrat", "inotify_add_watch",
    "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy",
    "io_getevents", "io_pgetevents", "io_pgetevents_time64", "ioprio_get", "ioprio_set",
    "io_setup", "io_submit", "ipc", "kill", "landlock_add_rule", "landlock_create_ruleset",
    "landlock_restrict_self", "lchown", "lchown32", "lgetxattr", "link", "linkat", "listen",
    "listmount", "listxattr", "listxattrat", "llistxattr", "_llseek", "lremovexattr", "lseek",
    "lsetxattr", "lstat", "lstat64", "madvise", "map_shadow_stack", "membarrier", "memfd_create",
    "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2",
    "mlockall", "mmap", "mmap2", "mprotect", "mq_getsetattr", "mq_notify", "mq_open",
    "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64",
    "mq_unlink", "mremap", "mseal", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock",
    "munlockall", "munmap", "name_to_handle_at", "nanosleep", "newfstatat", "_newselect", "open",
    "openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc",
    "pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv",
    "preadv2", "prlimit64", "process_mrelease", "pselect6", "pselect6_time64", "pwrite64",
    "pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv", "recv",
    "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr",
    "removexattrat", "rename", "renameat", "renameat2", "restart_syscall", "riscv_hwprobe",
    "rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo",
    "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64",
    "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr", "sched_getparam",
    "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler",
    "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr",
    "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl", "semget",
    "semop", "semtimedop", "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg",
    "sendmsg", "sendto", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32",
    "setgroups", "setgroups32", "setitimer", "setpgid", "setpriority", "setregid", "setregid32",
    "setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32", "setrlimit",
    "set_robust_list", "setsid", "setsockopt", "set_thread_area", "set_tid_address", "setuid",
    "setuid32", "setxattr", "setxattrat", "shmat", "shmctl", "shmdt", "shmget", "shutdown",
    "sigaltstack", "signalfd", "signalfd4", "sigprocmask", "sigreturn", "socketcall", "socketpair",
    "splice", "stat", "stat64", "statfs", "statfs64", "statmount", "statx", "symlink", "symlinkat",
    "sync", "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create",
    "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime",
    "timer_settime64", "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime",
    "timerfd_settime64", "times", "tkill", "truncate", "truncate64", "ugetrlimit", "umask",
    "uname", "unlink", "unlinkat", "uretprobe", "utime", "utimensat", "utimensat_time64", "utimes",
    "vfork", "vmsplice", "wait4", "waitid", "waitpid", "write", "writev",
};
// clang-format on

// Kernel >= 4.8: ptrace can no longer bypass seccomp (before 4.8 a tracer could rewrite a
// filtered call after the check), so tracing a process you already own becomes safe.
constexpr std::string_view kPtraceSinceKernel48[] = {"process_vm_readv", "process_vm_writev",
                                                     "ptrace"};

constexpr std::string_view kSocket[] = {"socket"};
constexpr std::string_view kPersonality[] = {"personality"};

// x86_64 and x32: arch_prctl sets the FS/GS base for thread-local storage (libc startup).
constexpr std::string_view kArchPrctl[] = {"arch_prctl"};
// x86_64, x32 and x86: modify_ldt, used by 16-bit/Wine-style code and some old runtimes.
constexpr std::string_view kModifyLdt[] = {"modify_ldt"};

// CAP_DAC_READ_SEARCH: open_by_handle_at opens any inode on the filesystem by handle
// (the 2014 "shocker" container escape), so only with the capability that implies it.
constexpr std::string_view kDacReadSearch[] = {"open_by_handle_at"};

// CAP_SYS_ADMIN: mounts, namespaces, new-style mount API, BPF, perf, quotas, host names,
// kernel log, LSM attributes and clone/clone3 without the namespace-flag restriction.
constexpr std::string_view kSysAdmin[] = {
    "bpf",
    "clone",
    "clone3",
    "fanotify_init",
    "fsconfig",
    "fsmount",
    "fsopen",
    "fspick",
    "lookup_dcookie",
    "lsm_get_self_attr",
    "lsm_list_modules",
    "lsm_set_self_attr",
    "mount",
    "mount_setattr",
    "move_mount",
    "open_tree",
    "perf_event_open",
    "quotactl",
    "quotactl_fd",
    "setdomainname",
    "sethostname",
    "setns",
    "syslog",
    "umount",
    "umount2",
    "unshare",
};

// Without CAP_SYS_ADMIN: clone, but no flag that creates a namespace (the JSON excludes
// s390/s390x here, where the flags are argument 1 instead; not an x86 concern).
constexpr std::string_view kClone[] = {"clone"};
constexpr std::uint64_t kNamespaceFlags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC |
                                          CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET |
                                          CLONE_NEWCGROUP;
static_assert(kNamespaceFlags == 0x7E020000, "moby's clone mask");

// Without CAP_SYS_ADMIN: clone3 passes its flags in memory, which seccomp cannot read, so
// it answers ENOSYS and glibc (2.34+) falls back to clone, which the rule above checks.
constexpr std::string_view kClone3[] = {"clone3"};

// CAP_SYS_BOOT: reboot.
constexpr std::string_view kSysBoot[] = {"reboot"};
// CAP_SYS_CHROOT: chroot.
constexpr std::string_view kSysChroot[] = {"chroot"};
// CAP_SYS_MODULE: loading and unloading kernel modules.
constexpr std::string_view kSysModule[] = {"delete_module", "init_module", "finit_module"};
// CAP_SYS_PACCT: process accounting.
constexpr std::string_view kSysPacct[] = {"acct"};
// CAP_SYS_PTRACE: tracing and reading/writing other processes' memory and fds.
constexpr std::string_view kSysPtrace[] = {
    "kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"};
// CAP_SYS_RAWIO: x86 I/O port access.
constexpr std::string_view kSysRawio[] = {"iopl", "ioperm"};
// CAP_SYS_TIME: setting the (host-wide) clock.
constexpr std::string_view kSysTime[] = {"settimeofday", "stime", "clock_settime",
                                         "clock_settime64"};
// CAP_SYS_TTY_CONFIG: vhangup.
constexpr std::string_view kSysTtyConfig[] = {"vhangup"};
// CAP_SYS_NICE: NUMA memory policy.
constexpr std::string_view kSysNice[] = {"get_mempolicy", "mbind", "set_mempolicy",
                                         "set_mempolicy_home_node"};
// CAP_SYSLOG: the kernel log.
constexpr std::string_view kSyslog[] = {"syslog"};
// CAP_BPF: bpf (split out of CAP_SYS_ADMIN in Linux 5.8).
constexpr std::string_view kBpf[] = {"bpf"};
// CAP_PERFMON: perf_event_open (split out of CAP_SYS_ADMIN in Linux 5.8).
constexpr std::string_view kPerfmon[] = {"perf_event_open"};

// AF_ALG (kernel crypto sockets) and AF_VSOCK (host/guest sockets) are refused; the socket
// rules below allow every family below, between and above them. Beyond moby: seccomp
// compares all 64 bits of the argument while the kernel reads an int, so moby's
// "> AF_VSOCK" rule lets socket((1UL << 32) | AF_VSOCK) reach AF_VSOCK. The families above
// AF_VSOCK are therefore allowed by masked equality on the low 32 bits only (41, 42-43,
// 44-47, 48-63; the kernel has none at 64 or above), and the two rules below AF_VSOCK are
// exact 64-bit comparisons that a high bit cannot satisfy.
static_assert(AF_ALG == 38 && AF_VSOCK == 40, "the socket rules assume AF_ALG=38, AF_VSOCK=40");

constexpr ArgCheck argIs(std::uint64_t value) { return {0, SCMP_CMP_EQ, value, 0}; }
/// (arg0 & mask) == value: only the bits of the mask (within the low 32) count.
constexpr ArgCheck lowBitsAre(std::uint64_t mask, std::uint64_t value) {
  return {0, SCMP_CMP_MASKED_EQ, mask, value};
}

constexpr ProfileRule kRules[] = {
    {.names = kAlwaysAllowed},
    {.names = kPtraceSinceKernel48, .when = kernelAtLeast(4, 8)},
    {.names = kSocket, .arg = ArgCheck{0, SCMP_CMP_LT, AF_ALG, 0}},
    {.names = kSocket, .arg = argIs(AF_ALG + 1)},
    {.names = kSocket, .arg = lowBitsAre(0xffffffff, AF_VSOCK + 1)},  // 41
    {.names = kSocket, .arg = lowBitsAre(0xfffffffe, 42)},            // 42-43
    {.names = kSocket, .arg = lowBitsAre(0xfffffffc, 44)},            // 44-47
    {.names = kSocket, .arg = lowBitsAre(0xfffffff0, 48)},            // 48-63
    // personality: only the plain Linux persona, 32-bit (PER_LINUX32), UNAME26 variants of
    // both, and 0xffffffff (a query that changes nothing). Not ADDR_NO_RANDOMIZE & co.
    {.names = kPersonality, .arg = argIs(PER_LINUX)},
    {.names = kPersonality, .arg = argIs(PER_LINUX32)},
    {.names = kPersonality, .arg = argIs(UNAME26)},
    {.names = kPersonality, .arg = argIs(std::uint64_t{UNAME26} | PER_LINUX32)},
    {.names = kPersonality, .arg = argIs(0xffffffff)},
    // (upstream's ppc64le and arm/arm64 groups: not on x86)
    {.names = kArchPrctl},
    {.names = kModifyLdt},
    // (upstream's s390/s390x and riscv64 groups: not on x86)
    {.names = kDacReadSearch, .when = withCap(CAP_DAC_READ_SEARCH)},
    {.names = kSysAdmin, .when = withCap(CAP_SYS_ADMIN)},
    {.names = kClone,
     .when = withoutCap(CAP_SYS_ADMIN),
     .arg = ArgCheck{0, SCMP_CMP_MASKED_EQ, kNamespaceFlags, 0}},
    // (upstream's s390 clone rule, flags in argument 1: not on x86)
    {.names = kClone3, .verdict = Verdict::FailWithNoSys, .when = withoutCap(CAP_SYS_ADMIN)},
    {.names = kSysBoot, .when = withCap(CAP_SYS_BOOT)},
    {.names = kSysChroot, .when = withCap(CAP_SYS_CHROOT)},
    {.names = kSysModule, .when = withCap(CAP_SYS_MODULE)},
    {.names = kSysPacct, .when = withCap(CAP_SYS_PACCT)},
    {.names = kSysPtrace, .when = withCap(CAP_SYS_PTRACE)},
    {.names = kSysRawio, .when = withCap(CAP_SYS_RAWIO)},
    {.names = kSysTime, .when = withCap(CAP_SYS_TIME)},
    {.names = kSysTtyConfig, .when = withCap(CAP_SYS_TTY_CONFIG)},
    {.names = kSysNice, .when = withCap(CAP_SYS_NICE)},
    {.names = kSyslog, .when = withCap(CAP_SYSLOG)},
    {.names = kBpf, .when = withCap(CAP_BPF)},
    {.names = kPerfmon, .when = withCap(CAP_PERFMON)},
};

}  // namespace

std::span<const ProfileRule> dockerDefaultRules() { return kRules; }

}  // namespace dockerbox::init
