// Entering the registry client's sandbox. Runs in: dockerbox-registry, once, at start-up,
// as root (it needs root for the mount namespace and the id change), before it sends or
// reads a byte on the network.
#pragma once

#include "common/confine.hpp"
#include "common/result.hpp"

#include <sys/types.h>

#include <vector>

namespace dockerbox::registry {

struct SandboxConfig {
  uid_t uid = 0;  // the registry client's own user; 0 is refused
  gid_t gid = 0;
  std::vector<int> keepFds;  // besides stderr
};

/// The files name resolution needs inside the empty root, read from the host now:
/// /etc/resolv.conf and /etc/hosts as they are, and an /etc/nsswitch.conf of "files dns"
/// (glibc's built-in modules; nothing is loaded from disk).
[[nodiscard]] Result<std::vector<confine::File>> resolverFiles();

/// Confines the calling process for good: only stderr and `keepFds` open, no_new_privs, own
/// mount and IPC namespaces whose read-only empty root holds only the resolver files, no
/// capability in any set, the client's user, death with the parent, then a seccomp
/// deny-list that allows outgoing IP sockets but no exec, mount, namespace, ptrace, BPF,
/// keyring or id change. The network namespace stays the host's: the client must reach
/// registries. Reads the result back and aborts on any surprise.
[[nodiscard]] Result<void> enterSandbox(const SandboxConfig& config);

}  // namespace dockerbox::registry
