// The container's loopback interface as Docker leaves it: up. miniboxd gives a Run a new
// network namespace whose `lo` is down, so nothing in the container could reach
// 127.0.0.1, the port proxy's sockets included. Runs in pid 1 of a Run, as host root with
// every capability, before the fork. Input: none (the kernel's view of `lo`).
#pragma once

#include "common/result.hpp"

namespace dockerbox::init {

/// Sets IFF_UP on `lo` of the calling process's network namespace when it is down; does
/// nothing when it is up already (--network host, where the namespace is the host's: its
/// interfaces are not the container's to change). Any failure is fatal to the container.
[[nodiscard]] Result<void> bringLoopbackUp();

}  // namespace dockerbox::init
