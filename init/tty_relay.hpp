// What pid 1 of a container with a terminal (tty=yes) does once the user's program runs:
// the reaper's work (reaper.hpp) plus the relay between the pty master and the outside.
// Runs as uid 0 with only CAP_KILL, no_new_privs and the reaper's seccomp filter widened
// for the relay (seccomp_profile.hpp). Input: the terminal's output (untrusted: whatever
// the program writes, copied as bytes and never interpreted), the broker's FIFOs, signals.
#pragma once

#include "init/container_io.hpp"

#include <sys/types.h>

#include <csignal>

namespace dockerbox::init {

/// Until `child` exits: forwards every signal read from `signalFd` (a signalfd of
/// `signals`, all blocked before the fork) and reaps zombies exactly as reapUntilExit,
/// copies the terminal's output to fd 1 (waiting when fd 1 is full: nothing is dropped),
/// the stdin FIFO's bytes into the master (until its EOF; the master stays open) and the
/// control FIFO's window sizes onto it. Then kills what is left in the namespace (as pid
/// 1's exit would), copies what the terminal still holds and returns the child's status.
/// Allocates nothing: the reaper's filter has no brk or mmap.
[[nodiscard]] int relayUntilExit(pid_t child, int signalFd, const sigset_t& signals,
                                 ContainerIo& io);

}  // namespace dockerbox::init
