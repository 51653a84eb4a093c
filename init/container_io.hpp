// The program's input and terminal (Docker's run -i/-t, exec -i/-t): the broker's FIFOs,
// bound into the container under config.unmountPath for a Run (an exec's are in a
// subdirectory of that directory, which pid 1 keeps open), and a pty of the container's
// own devpts; and a Run's port channel (docker run -p), reached in the same directory.
// Runs as host root with every capability: openContainerIo in pid 1 after setUpMounts and
// before the fork, openExecIo in an exec's init; attachProgramIo and giveTerminalTo in the
// program's process before its privilege drop. Input: the broker's
// paths (trusted); what the init finds at them is checked (a procfs, a root-only
// directory, a FIFO, the ptmx device, a socket) before it is used.
#pragma once

#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "init/config.hpp"
#include "init/window_size.hpp"

#include <sys/types.h>

namespace dockerbox::init {

/// Every fd is CLOEXEC and none is 0, 1 or 2.
struct ContainerIo {
  /// The read end of config.stdinPath, O_NONBLOCK: the program's fd 0 without a tty
  /// (made blocking there), the relay's input with one.
  UniqueFd stdinFifo;
  /// The write ends of config.stdoutPath and stderrPath (tty=no only): the program's fds
  /// 1 and 2.
  UniqueFd stdoutFifo;
  UniqueFd stderrFifo;
  /// The read end of config.controlPath, O_NONBLOCK (tty=yes only), and its decoder.
  UniqueFd controlFifo;
  WindowSizeDecoder windowSizes;
  /// tty=yes only: the master (O_NONBLOCK), which pid 1 relays, and the slave, which
  /// becomes the program's controlling terminal and fds 0, 1 and 2.
  UniqueFd ptyMaster;
  UniqueFd ptySlave;
  /// Run with FIFOs: their directory, at kHeldIoDirFd in pid 1 for its execs. The child
  /// closes it (with the rest of this struct) before the program runs.
  UniqueFd heldIoDir;
  /// Run with published ports (config.portsPath): pid 1's connection to the broker's
  /// listener, non-blocking, which it serves after the fork (port_channel.hpp). Never the
  /// program's: the child closes it with the rest of this struct.
  UniqueFd portChannel;
};

/// What `config` asks for, in this order: the FIFOs are opened (each must be one), the
/// port channel is connected, the mount at config.unmountPath is detached, and with
/// tty=yes a pty is opened and given the window size already waiting in the control FIFO.
/// Any failure is fatal to the container: nothing of the user's may run.
[[nodiscard]] Result<ContainerIo> openContainerIo(const InitConfig& config);

/// An exec's: the FIFOs `config` names (relative paths), beneath the run's directory that
/// pid 1 holds, reached through /proc/1/fd/kHeldIoDirFd (the exec's init is root with every
/// capability, so may); with tty=yes a new pty of the container's devpts, sized as the
/// control FIFO says. Nothing is opened, and no pid 1 needed, when `config` names no FIFO.
[[nodiscard]] Result<ContainerIo> openExecIo(const InitConfig& config);

/// Pid 1 after the fork: closes what only the program uses (the slave; without a tty the
/// stdin FIFO), so that the program's exit is what ends the terminal and the input.
void closeProgramEnds(ContainerIo& io);

/// The child, after setsid and before its drop: with a pty, the slave becomes the
/// controlling terminal and fds 0, 1 and 2; without one, the stdin FIFO (if any) becomes a
/// blocking fd 0, the stdout and stderr FIFOs (if any) fds 1 and 2 (else they stay as
/// miniboxd gave them). Every fd of `io` is
/// closed on return.
[[nodiscard]] Result<void> attachProgramIo(ContainerIo&& io);

/// The child with tty=yes, once the user is known and before its drop: hands the terminal
/// (fd 0, checked to be a pty slave) to `uid` as runc does for the container's user:
/// owner uid, group tty (5, devpts' gid= in mounts.cpp), mode 0620.
[[nodiscard]] Result<void> giveTerminalTo(uid_t uid);

}  // namespace dockerbox::init
