// minibox-sim, miniboxd process model: Exec as upstream's adapters/exec.rs does it
// (build_nsenter_command, minibox-protocol.md §11). Runs in the simulator (root). Input: Exec's
// cmd, env and working_dir from test clients, already validated as upstream's validate_exec_spec
// does; nothing else is checked, on purpose.
#pragma once

#include "tests/minibox_sim/process.hpp"

#include <optional>
#include <string>
#include <vector>

namespace dockerbox::sim {

/// `nsenter --target <pid> --mount --pid --net --uts --ipc [--wd DIR] -- CMD...`: no `--cgroup`, no
/// `--user`, so the command runs in the container's namespaces as host root.
[[nodiscard]] std::vector<std::string> nsenterArgv(pid_t target,
                                                   const std::vector<std::string>& cmd,
                                                   const std::optional<std::string>& workingDir);

/// The SpawnSpec for that command: the environment is exactly the request's `env`
/// (Command::env_clear() then env(k, v)), which also decides where `nsenter` is found: a request
/// `PATH=/tmp/evil` runs /tmp/evil/nsenter as host root, outside every namespace.
[[nodiscard]] SpawnSpec nsenterSpec(pid_t target, const std::vector<std::string>& cmd,
                                    const std::vector<std::string>& env,
                                    const std::optional<std::string>& workingDir);

}  // namespace dockerbox::sim
