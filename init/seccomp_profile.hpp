// The seccomp filters dockerbox-init installs on itself: Docker's default profile before it
// execs the user's program, and a tiny allow-list for the pid-1 reaper that stays behind.
// Runs in dockerbox-init, inside the container, as the last step of its privilege drop
// (style.md §4.7: seccomp goes last because it blocks calls the earlier steps need).
// Input: the capability set the broker chose; no bytes from the container or the client.
#pragma once

#include "common/result.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>

namespace dockerbox::init {

/// Loads Docker's default seccomp profile (moby profiles/seccomp/default.json) for a process whose
/// capability bounding set is `capabilities` (bit n = capability n): syscalls the profile allows
/// only with a capability (its "includes": {"caps": [...]}) are allowed only when that
/// capability is in the set, and the profile's excludes likewise. Default action ERRNO(EPERM)
/// as moby; architectures x86_64 + x86 + x32 as moby's for amd64. Applies to the calling thread;
/// the caller has already set no_new_privs.
///
/// Names this libseccomp does not know are skipped, as moby does (see
/// dockerDefaultNameCoverage); such calls get EPERM. A call from any other ABI kills the
/// process. Fails (Internal) if libseccomp or the kernel refuses the filter; the caller
/// must then not exec the user's program.
[[nodiscard]] Result<void> loadDockerDefaultSeccomp(std::uint64_t capabilities);

/// The fds the reaper uses beyond its stderr, fixed before its filter is loaded: the
/// filter names them, so no other fd it could come to hold gets the same calls.
struct ReaperFds {
  /// A container with a terminal: the pty master pid 1 relays (tty_relay.hpp).
  std::optional<int> relayedPtyMaster;
  /// A Run with published ports: the port channel pid 1 serves (port_channel.hpp).
  std::optional<int> portChannel;
};

/// The tiny allow-list of the container's pid-1 reaper after it forked the user's program:
/// it only waits, forwards signals and exits (wait4, waitid, kill, tgkill, rt_sigtimedwait,
/// rt_sigprocmask, rt_sigaction, rt_sigreturn, signalfd4, read, write (stderr), close,
/// exit, exit_group, restart_syscall, and what glibc's static startup/exit path needs);
/// anything else kills the process (SCMP_ACT_KILL_PROCESS).
///
/// With `relayedPtyMaster` (a container with a terminal, whose pty pid 1 relays) also:
/// poll, write on fd 1 and on that master fd, and ioctl(that fd, TIOCSWINSZ).
///
/// With `portChannel` (a Run with published ports) also: socket only for AF_INET and
/// AF_INET6, SOCK_STREAM or SOCK_DGRAM, each with SOCK_CLOEXEC, protocol 0; and sendmsg
/// only on that fd with MSG_DONTWAIT | MSG_NOSIGNAL. (Its reads are the reaper's read.)
///
/// write and writev are allowed on fd 2 only (and write on the two above): flush stdout
/// before loading this (or leave with _exit), or glibc's exit-time flush of stdout may
/// kill the reaper. x86_64 only.
[[nodiscard]] Result<void> loadReaperSeccomp(const ReaperFds& fds = {});

/// How many of the default profile's distinct syscall names (all groups, gated or not)
/// this libseccomp resolves, overall and to a real call number on each ABI. A name can be
/// real on one ABI only (chown32 is i386, arch_prctl is not), so the per-ABI counts are
/// each below `names`; `unknownToLibrary` are the names the loader skips.
struct SeccompNameCoverage {
  std::size_t names = 0;
  std::size_t unknownToLibrary = 0;
  std::size_t realOnX8664 = 0;
  std::size_t realOnX86 = 0;
  std::size_t realOnX32 = 0;
};
[[nodiscard]] SeccompNameCoverage dockerDefaultNameCoverage();

}  // namespace dockerbox::init
