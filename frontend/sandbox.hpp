// Entering the frontend's sandbox. Runs in: the frontend process, once, at start-up, as
// root (it needs root to create namespaces and to drop to the given ids).
#pragma once

#include "common/result.hpp"

#include <sys/types.h>

namespace dockerbox::frontend {

/// What happens when sandboxed code makes a syscall outside the allow-list.
enum class SeccompViolation {
  Kill,  // the process dies at once with SIGSYS (production)
  Trap,  // debug: log the syscall number to stderr, then die with SIGSYS. Never allows it.
};

struct SandboxConfig {
  uid_t uid = 0;       // unprivileged uid to run as (chosen by the broker); 0 is refused
  gid_t gid = 0;       // unprivileged gid; 0 is refused
  int controlFd = -1;  // the one descriptor kept besides stderr (-1: none)
  SeccompViolation onViolation = SeccompViolation::Kill;
};

/// Confines the calling process for good: no inherited descriptors, new mount, network
/// and IPC namespaces with an empty read-only root, no capabilities, no_new_privs, the
/// given unprivileged ids, and a seccomp allow-list (last). Reads the result back from the
/// kernel and aborts if any of it did not hold. Must run before any thread is started
/// (seccomp applies to the calling thread only). Fails if a step fails; the caller must
/// then exit, since the process is half-confined.
[[nodiscard]] Result<void> enterSandbox(const SandboxConfig& config);

}  // namespace dockerbox::frontend
