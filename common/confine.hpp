// The steps an unprivileged helper takes to confine itself (the frontend's zygote and the
// engine). Runs in: the helper, once, at start-up, as root (it needs root for the
// namespaces, the mounts and the id change), before it reads anything from anyone.
#pragma once

#include "common/result.hpp"

#include <sys/types.h>

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace dockerbox::confine {

/// Closes every inherited descriptor except stderr and `keep`, then refills 0 and 1 (stdout
/// goes to stderr; stdin reads EOF) so that no descriptor opened later lands on them.
[[nodiscard]] Result<void> closeInheritedDescriptors(std::span<const int> keep);

/// A host directory made visible, writable, at /<name> of the helper's empty root.
struct Bind {
  std::string source;  // absolute host path, resolved while host files are still reachable
  std::string name;    // one path component: the mount point at the new root
};

/// A small file written into the helper's empty root (its contents read by the caller while
/// host files were reachable): what glibc reads at run time, such as /etc/resolv.conf.
struct File {
  std::string path;      // "etc/resolv.conf": one directory level at most, relative
  std::string contents;  // at most 64 KiB
};

/// In a mount namespace of its own (already unshared): an empty tmpfs becomes `/`, with
/// `binds` mounted on it (nosuid, nodev, noexec) and `files` written into it (mode 0444),
/// and is made read-only. No other host file is reachable by any path afterwards.
[[nodiscard]] Result<void> enterEmptyRoot(std::span<const Bind> binds, std::span<const File> files = {});

/// Empties the capability bounding set (needs CAP_SETPCAP: before the id change).
[[nodiscard]] Result<void> dropBoundingSet();

/// A helper's `--uid` or `--gid` argument as dockerboxd passes it: decimal, not 0 (a helper
/// never runs as root). nullopt otherwise.
[[nodiscard]] std::optional<unsigned> parseId(std::string_view text);

/// No supplementary groups, then gid, then uid (in that order: each needs the rights the
/// next one takes away). Refuses 0 for either.
[[nodiscard]] Result<void> becomeUser(uid_t uid, gid_t gid);

/// SIGKILL when the parent (`parent`, read before the id change) dies. After becomeUser:
/// the kernel clears the parent-death signal when the euid changes. Fails if the parent
/// is already gone.
[[nodiscard]] Result<void> dieWithParent(pid_t parent);

/// Empties the effective, permitted, inheritable and ambient capability sets.
[[nodiscard]] Result<void> clearCapabilities();

/// The first steps of the engine's and the registry client's sandboxes: what libc loads
/// lazily is loaded while host files are reachable (the time zone; libgcc_s, which
/// backtrace() dlopens for kj's traces), every descriptor but stderr and `keep` is closed,
/// and no_new_privs is set.
[[nodiscard]] Result<void> beginSandbox(std::span<const int> keep);

/// Their last steps before the seccomp filter: dropBoundingSet, becomeUser, dieWithParent
/// (`parent` read before the id change), clearCapabilities, then verifyUnprivileged.
[[nodiscard]] Result<void> becomeUnprivileged(const char* who, uid_t uid, gid_t gid, pid_t parent);

/// Reads back from the kernel what the steps above promise (ids, no groups, no capability
/// in any set, no_new_privs, the parent-death signal) and aborts, naming `who`, on any
/// surprise: carrying on half-confined is worse than not serving at all.
void verifyUnprivileged(const char* who, uid_t uid, gid_t gid);

}  // namespace dockerbox::confine
