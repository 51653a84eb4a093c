// Runs as root. Input: resolved bind sources from the broker's own stored configs (paths the
// policy judged at create, but chosen by a client and living in directories the client owns:
// they may have been swapped for symlinks since), and the kernel identity of the caller.
//
// Pinned binds (design.md P12): what miniboxd mounts must be exactly what was checked as the
// caller. miniboxd takes a path and resolves it itself, as root, later; so the broker opens
// each source (no symlink may be left on its path), checks as the caller that they can reach
// that very object in the bind's mode, clones the object's mount tree from the descriptor
// (open_tree), marks it nosuid,nodev (and read-only) and attaches it (move_mount) onto a
// per-container path under <runDir>/pinned/<container id>/ that only root can write. miniboxd
// is given that path: nothing the caller does to their own directories can change what it
// mounts. The mounts are made in miniboxd's own mount namespace, joined through a pidfd of
// the process behind its socket, whatever namespace the broker runs in (systemd's
// ProtectHome=, PrivateMounts=, ... give it a private one).
#pragma once

#include "broker/peer.hpp"
#include "broker/request.hpp"
#include "common/result.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace dockerbox::broker {

/// A bind to pin: the stored resolved source and its mode.
struct BindToPin {
  std::string resolvedSource;
  MountAccess access = MountAccess::ReadOnly;
  /// The source is one of dockerbox's own volume directories (monitor/volumes.hpp), in a
  /// tree only root can enter: pinned without the check as the caller, who cannot reach it.
  bool dockerboxVolume = false;
};

/// How long pinning one source may take (a hung NFS source counts as unreachable).
inline constexpr std::chrono::milliseconds kPinDeadline{2000};

/// Pins `binds` for container `containerId` (64 hex) and returns the host path of each pinned
/// mount, in order. Any failure (a symlink on the path, the caller cannot reach it, a mount
/// error) unpins what was done and is a Forbidden error naming the container path's bind
/// index, never the host path (which the caller may not be allowed to learn).
[[nodiscard]] Result<std::vector<std::string>> pinBinds(const std::string& runDir, const std::string& miniboxSocket,
                                                        const std::string& containerId,
                                                        const std::vector<BindToPin>& binds, const Identity& caller);

/// Detaches and removes the pinned mounts of one container. Safe to call when none exist.
void unpinBinds(const std::string& runDir, const std::string& miniboxSocket, const std::string& containerId,
                std::size_t count);

/// At start-up: detaches every pinned mount left by a broker that died mid-start (when
/// miniboxd is reachable; otherwise the next start of each container does).
void clearPinned(const std::string& runDir, const std::string& miniboxSocket);

}  // namespace dockerbox::broker
