// Runs as root (broker). Input: /proc/<pid>/loginuid of a client process, written by the
// kernel (audit subsystem); the pid comes from SO_PEERCRED.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string_view>

namespace dockerbox::broker::audit {

/// The login uid the kernel keeps for `pid` (who logged in, even after su or sudo), or
/// nullopt where it is unavailable: no audit support, the process is gone, or it is unset
/// (4294967295, e.g. daemons started at boot). Read it at accept time: once the client
/// process exits its pid may be reused, so a later read could name somebody else.
[[nodiscard]] std::optional<uid_t> readLoginUid(pid_t pid);

/// Parses the file's contents: decimal digits, optionally a trailing newline.
[[nodiscard]] std::optional<uid_t> parseLoginUid(std::string_view text);

}  // namespace dockerbox::broker::audit
