// What pid 1 of a container with a terminal (tty=yes), or the init of an exec with one,
// does once the user's program runs:
// the reaper's work (reaper.hpp, the port channel's service included) plus the relay
// between the pty master and the outside.
// Runs as uid 0 with only CAP_KILL, no_new_privs and the reaper's seccomp filter widened
// for the relay (seccomp_profile.hpp). Input: the terminal's output (untrusted: whatever
// the program writes, copied as bytes and never interpreted), the broker's FIFOs, signals,
// the port proxy's requests (untrusted; port_channel.cpp reads them).
#pragma once

#include "init/container_io.hpp"
#include "init/port_channel.hpp"

#include <sys/types.h>

#include <csignal>

namespace dockerbox::init {

/// What the relay does once the program has exited: pid 1 kills what is left in its
/// namespace (its own exit would); an exec's relay leaves the container's processes alone.
enum class RelayEnd { KillNamespace, LeaveOthers };

struct RelayOwner {
  pid_t self = 1;  // the relay's pid in its namespace: its own SIGPIPE is not forwarded
  RelayEnd end = RelayEnd::KillNamespace;
};

/// Until `child` exits: forwards every signal read from `signalFd` (a signalfd of
/// `signals`, all blocked before the fork), reaps zombies and serves `ports` exactly as
/// reapUntilExit, copies the terminal's output to fd 1 (waiting when fd 1 is full: nothing
/// is dropped),
/// the stdin FIFO's bytes into the master (until its EOF; the master stays open) and the
/// control FIFO's window sizes onto it. Then (RelayEnd::KillNamespace) kills what is left
/// in the namespace, copies what the terminal still holds and returns the child's status.
/// Allocates nothing: the reaper's filter has no brk or mmap.
[[nodiscard]] int relayUntilExit(pid_t child, int signalFd, const sigset_t& signals,
                                 ContainerIo& io, PortChannel& ports, RelayOwner owner);

}  // namespace dockerbox::init
