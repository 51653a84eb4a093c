// Entering the engine's sandbox. Runs in: dockerbox-engine, once, at start-up, as root
// (it needs root for the namespaces, the bind of its state directory and the id change).
#pragma once

#include "common/result.hpp"

#include <sys/types.h>

#include <string>
#include <vector>

namespace dockerbox::engine {

struct SandboxConfig {
  uid_t uid = 0;             // the engine's own user (DOCKERBOX_ENGINE_USER); 0 is refused
  gid_t gid = 0;
  std::string dataDir;       // host path of the engine's state, owned by `uid`: becomes /state
  std::vector<int> keepFds;  // the channels to the monitor (besides stderr)
};

/// Where the engine's state directory is inside the sandbox.
inline constexpr const char* kSandboxDataDir = "/state";

/// Confines the calling process for good: no inherited descriptors but the channels, new
/// mount, network and IPC namespaces whose read-only empty root holds only the state
/// directory (at /state), no capabilities, no_new_privs, the engine's user, and a seccomp
/// filter (last) that refuses what the engine never does: exec, sockets, mounts,
/// namespaces, ptrace, keyrings, BPF, modules. Reads the result back from the kernel and
/// aborts if any of it did not hold. Before any thread is started.
[[nodiscard]] Result<void> enterSandbox(const SandboxConfig& config);

}  // namespace dockerbox::engine
