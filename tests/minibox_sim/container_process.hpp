// minibox-sim, miniboxd process model: the Run child as upstream's process.rs and namespace.rs make
// it (minibox-protocol.md §11). Runs as root in the simulator; the child stays host uid 0 with
// every capability, in new pid, mount, UTS, IPC (and network) namespaces, with no seccomp, no
// no_new_privs and no rlimits. Test infrastructure that reproduces a dangerous daemon on purpose,
// so that dockerbox's confinement can be shown against it.
#pragma once

#include "common/result.hpp"
#include "tests/minibox_sim/process.hpp"

namespace dockerbox::sim {

/// Clones the container init (spec.miniboxd must be set): new namespaces, hostname, bind mounts,
/// pivot_root into spec.miniboxd->rootfs, optional privileged capset, setsid, close fds > 2,
/// execve(argv[0]) without PATH search. The returned pid is the pid-namespace init as the simulator
/// sees it. EOF on `status` means the execve happened; a failed setup writes a
/// ChildStep::ContainerSetup record (and a message on the container's stderr) and exits 127, which
/// upstream reports as a started container that exits 127.
[[nodiscard]] Result<Forked> cloneContainerProcess(const SpawnSpec& spec);

/// Checked once at start: can this process create the five namespaces and mount proc, sysfs and
/// devtmpfs in them? The error names the step that failed.
[[nodiscard]] Result<void> probeNamespaces();

}  // namespace dockerbox::sim
