// Entering the port proxy's sandbox. Runs in: dockerbox-proxy, once, at start-up, as root
// (it needs root for the namespaces and the id change), before it reads a byte from anyone.
#pragma once

#include "common/result.hpp"

#include <sys/types.h>

#include <vector>

namespace dockerbox::proxy {

struct SandboxConfig {
  uid_t uid = 0;  // the proxy's own user; 0 is refused
  gid_t gid = 0;
  std::vector<int> keepFds;  // the monitor's channel (besides stderr)
};

/// Confines the calling process for good: only stderr and `keepFds` open, no_new_privs,
/// own mount, network and IPC namespaces (it needs no network: every socket it uses is
/// handed to it) whose read-only empty root holds nothing, no capability in any set, the
/// proxy's user, death with the parent, then two seccomp filters: the helpers' deny-list
/// (no exec, no new socket of any family, no socketpair, mount, namespace, ptrace, BPF,
/// keyring or id change) and the proxy's own (no bind, no listen: it only accepts on and
/// connects the sockets it was given). Reads the result back and aborts on any surprise.
/// Before any thread is started.
[[nodiscard]] Result<void> enterSandbox(const SandboxConfig& config);

}  // namespace dockerbox::proxy
