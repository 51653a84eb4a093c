// Runs as root. Input: bind sources from validated requests (paths the client chose, so
// hostile: symlinks, `..`, paths it cannot read) and the caller's kernel-attested identity.
//
// The facts the policy needs about a bind source (policy/README.md, "Bind mounts"): where it
// really is on the host, resolved the way a mount would resolve it, and whether the CALLER
// could reach it with their own uid, gid and groups. Both are found in a short-lived child
// process with a deadline, so that a hung file system cannot hang the broker and the access
// check is made by the kernel with the caller's credentials, not guessed from mode bits.
//
// What is checked here is not what gets mounted: the caller may swap a directory they own
// for a symlink at any time. So a create stores the RESOLVED path (Authorization::
// resolvedBinds, applyAuthorization), and each start pins it (bind_pin.hpp): opened with no
// symlink allowed, checked again as the caller, and mounted from that descriptor onto a
// root-only path that miniboxd is given. Unconfined runs (privileged rules only) still
// mount by path and re-check with stillResolvesTo() just before.
#pragma once

#include "broker/peer.hpp"
#include "broker/request.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace dockerbox::broker {

/// How long one bind-source check may take. A local path answers in microseconds; this
/// bounds a hung NFS or FUSE mount, after which the source counts as unresolved (denied).
inline constexpr std::chrono::milliseconds kBindCheckDeadline{2000};

/// Whether the caller could open the source themselves in the mount's mode.
enum class CallerAccess { Denied, Allowed };

struct BindSourceFacts {
  /// The canonical absolute path (realpath semantics: symlinks, `..`, `//`, `/./`, a
  /// trailing `/.` resolved; magic links such as /proc/<pid>/root refused). nullopt when
  /// the source is relative, missing, or could not be resolved in time.
  std::optional<std::string> resolved;
  /// Checked with the caller's uid, gid and supplementary groups on the resolved path:
  /// read (and search, for a directory) for ReadOnly, read and write for ReadWrite.
  /// Denied whenever it was not checked.
  CallerAccess access = CallerAccess::Denied;
};

/// Resolves `source` on the host and checks the caller's access to it. Never throws on
/// input; every failure gives resolved = nullopt or access = Denied (the policy denies).
/// `mountView`: a pidfd of miniboxd (child_probe.hpp, miniboxProcess) whose mount namespace
/// the check runs in, so that it sees what miniboxd will mount (the broker's own namespace
/// may be a systemd unit's, with /home read-only); -1 checks in the broker's own.
[[nodiscard]] BindSourceFacts checkBindSource(std::string_view source, const Identity& caller, MountAccess access,
                                              std::chrono::milliseconds deadline = kBindCheckDeadline,
                                              int mountView = -1);

/// Whether a path that was checked earlier (a stored, resolved bind source) still resolves
/// to itself, so no symlink has been swapped in since, and `caller` can still access it.
/// For containers.start: between create and start the caller has all the time in the world
/// to replace a directory they own with a symlink. False on any doubt.
[[nodiscard]] bool stillResolvesTo(std::string_view resolvedPath, const Identity& caller, MountAccess access,
                                   std::chrono::milliseconds deadline = kBindCheckDeadline);

}  // namespace dockerbox::broker
