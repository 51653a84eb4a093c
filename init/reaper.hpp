// What pid 1 of a container does once the user's program is forked: a tini-like reaper,
// which also serves the port channel (port_channel.hpp) when the container has one.
// Runs as uid 0 with only CAP_KILL, no_new_privs and its own seccomp allow-list.
#pragma once

#include "init/port_channel.hpp"

#include <sys/types.h>

#include <csignal>
#include <cstdint>

namespace dockerbox::init {

/// Waits for `child`'s setup to end: the child writes a failure (exit code byte, then the
/// message) into `statusFd`, whose write end is CLOEXEC, so EOF without bytes means the
/// program was exec'd. On failure prints the message, reaps the child and returns its
/// code; on success returns -1.
[[nodiscard]] int awaitExec(int statusFd, pid_t child);

/// One signal pid 1 took, as sigwaitinfo's siginfo_t or the relay's signalfd_siginfo
/// tells it: the fields that decide what to do with it.
struct TakenSignal {
  int number = 0;
  /// si_code: above 0 the kernel raised it (a child's SIGCHLD, the port channel's SIGIO
  /// with POLL_IN...), 0 or below a process sent it (kill, tgkill, sigqueue). A process
  /// cannot send another a positive code: the kernel refuses rt_sigqueueinfo that.
  int code = 0;
};

/// What pid 1 does with one signal it took: SIGCHLD reaps every zombie of the namespace;
/// SIGIO tells `ports` it may have requests (served by the caller's loop), and is
/// forwarded only when a process sent it; any other signal is forwarded to `child`. The
/// child's exit status as Docker reports it (the exit code, or 128 + the signal that
/// killed it) once it was reaped, else -1.
[[nodiscard]] int takeSignal(pid_t child, TakenSignal signal, PortChannel& ports);

/// Forwards every signal in `signals` (all blocked by the caller before the fork) to
/// `child`, reaps every zombie of the namespace, serves `ports` between signals, and
/// returns the child's exit status as Docker reports it (the exit code, or 128 + the
/// signal that killed it). With `timeoutMs` (not 0), the child's process group gets
/// SIGKILL once that many milliseconds have passed.
[[nodiscard]] int reapUntilExit(pid_t child, const sigset_t& signals, PortChannel& ports,
                                std::uint32_t timeoutMs = 0);

}  // namespace dockerbox::init
