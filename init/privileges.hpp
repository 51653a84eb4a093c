// The privilege drop of dockerbox-init: from miniboxd's host root with every capability
// to the container's user with Docker's confinement. One ordered function per process
// that drops (the user's program, and the reaper that stays pid 1), each followed by a
// read-back of /proc/self/status that must match exactly.
#pragma once

#include "common/result.hpp"
#include "init/config.hpp"
#include "init/passwd.hpp"
#include "init/proc_status.hpp"
#include "init/seccomp_profile.hpp"

#include <cstdint>

namespace dockerbox::init {

/// Refuses a user the config may not run as (UserCheck::NotRoot: uid 0, gid 0 or group 0
/// among the supplementary groups, since each gives root's file access through binds).
[[nodiscard]] Result<void> checkUserAllowed(const InitConfig& config, const ExecUser& user);

/// The kernel's highest capability number (probed with PR_CAPBSET_READ).
[[nodiscard]] int lastCapability();

/// Drops to `user` with the config's capabilities, rlimits, no_new_privs and seccomp.
/// On error the process is in an unknown state and must exit without running anything.
[[nodiscard]] Result<void> dropPrivileges(const InitConfig& config, const ExecUser& user);

/// What /proc/self/status must say after dropPrivileges(config, user).
[[nodiscard]] ProcessState expectedState(const InitConfig& config, const ExecUser& user);

/// Compares `actual` with `expected` field by field; the error names the first mismatch.
[[nodiscard]] Result<void> checkState(const ProcessState& actual, const ProcessState& expected);

/// The reaper's drop: stays uid 0, keeps only CAP_KILL (to forward signals to a child of
/// any uid), no_new_privs, then the reaper's seccomp allow-list (widened for the relay of
/// a pty master and for the port channel, the fds in `fds`; see loadReaperSeccomp).
[[nodiscard]] Result<void> dropReaperPrivileges(const ReaperFds& fds = {});

}  // namespace dockerbox::init
