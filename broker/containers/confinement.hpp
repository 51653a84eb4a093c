// Runs as root, in the broker. Input: a container's judged create config (the broker's own
// stored record), a validated exec request, and the caller's kernel identity with the grants
// of the policy rule that decided the request.
//
// What every container and exec must be confined to (design.md P10-P11, "Confining
// containers"), decided here by the broker and carried to dockerbox-init inside the miniboxd
// request. Nothing the frontend or the stored record says about identity is used: the caller
// and the grants come from the kernel and the policy.
//
// The rules:
// - Docker's default container: Docker's default capability set adjusted by CapAdd/CapDrop
//   (CapAdd was judged by the policy), Docker's default seccomp profile, no_new_privs always
//   (beyond Docker), private /dev, masked /proc and /sys, every bind nosuid,nodev.
// - A WRITABLE bind must never be written by host root or by another user's uid: without the
//   rule's `root_user`, a container (and every exec in it) with a writable bind runs as the
//   caller's own uid and primary gid. An empty User becomes that; any other User is refused.
// - A named User the policy could not see as root is refused by the init when the image's
//   /etc/passwd maps it to uid 0 or gid 0 (UserCheck::NotRoot), unless the rule allows root.
// - `seccomp=unconfined` and rlimits above miniboxd's are privilege-raising: the policy allows
//   the first only with `privileged`; the init refuses the second without it.
#pragma once

#include "broker/caller.hpp"
#include "broker/containers/run_spec.hpp"
#include "broker/request.hpp"
#include "common/result.hpp"
#include "init/config.hpp"

#include <cstdint>
#include <string_view>
#include <vector>

namespace dockerbox::broker::containers {

/// Docker's capability set after CapAdd and CapDrop (moby's TweakCapabilities): "ALL" in
/// CapAdd starts from every capability, "ALL" in CapDrop from none; names with or without
/// "CAP_", any case. An unknown name is a BadRequest (`unknown capability: "X"`).
[[nodiscard]] Result<std::uint64_t> capabilitySet(const std::vector<std::string>& capAdd,
                                                  const std::vector<std::string>& capDrop);

/// The SecurityOpt entries dockerbox can honour: no-new-privileges (always on anyway),
/// seccomp=unconfined, apparmor=unconfined and label=disable (no AppArmor or SELinux here);
/// anything else is NotImplemented. Returns the seccomp mode they ask for.
[[nodiscard]] Result<init::Seccomp> seccompOf(const std::vector<std::string>& securityOpt);

/// A tmpfs at `path` with Docker's options text ("rw,size=64m,mode=1777,noexec", as
/// `--tmpfs PATH:OPTIONS` takes them): size, mode, uid, gid, nr_inodes, exec/noexec, ro/rw,
/// and nosuid/nodev/notmpcopyup, which are always so. suid and dev are refused (every tmpfs
/// is nosuid,nodev); anything else is a BadRequest naming it.
[[nodiscard]] Result<init::Tmpfs> tmpfsOf(const std::string& path, std::string_view options);

/// Refuses at create what the init cannot apply (unknown capabilities, security options,
/// ulimit names).
[[nodiscard]] Result<void> checkConfinable(const RunConfig& config);

/// The init configuration of a container's run, without argv and env (filled by the run
/// spec). `dockerId` names the default hostname.
[[nodiscard]] Result<init::InitConfig> runConfinement(const RunConfig& config, const Caller& who,
                                                      std::string_view dockerId);

/// The init configuration of an exec in a running container: the container's confinement,
/// the exec's user (or the container's), working dir and environment.
[[nodiscard]] Result<init::InitConfig> execConfinement(const RunConfig& container, const CreateExecOp& exec,
                                                       const Caller& who);

/// Whether any bind of the container is writable.
[[nodiscard]] bool hasWritableBind(const RunConfig& config);

}  // namespace dockerbox::broker::containers
