// The seccomp deny-list of the unprivileged helpers that run ordinary library code (the
// engine, the registry client). Runs in: the helper, once, last step of its sandbox.
#pragma once

#include "common/result.hpp"

namespace dockerbox::confine {

struct DenyFilterOptions {
  /// The registry client connects out: `socket` is then allowed for AF_INET, AF_INET6,
  /// AF_UNIX (glibc's nscd probe) and AF_NETLINK (getaddrinfo's AI_ADDRCONFIG) only.
  /// Otherwise `socket` is refused outright.
  bool networkClient = false;
};

/// Loads a filter that kills on exec and refuses (EPERM) what such a helper never does:
/// new sockets (see above), socketpair, mounts, namespaces (including clone flags; clone3
/// gets ENOSYS so that glibc falls back to clone), ptrace and other processes' memory,
/// keyrings, BPF, perf, modules, id and capability changes. A deny-list: the helpers'
/// library code makes many, changing syscalls; what they must never do is short and stable.
[[nodiscard]] Result<void> loadDenyFilter(const DenyFilterOptions& options);

}  // namespace dockerbox::confine
