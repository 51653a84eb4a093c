// Private directories and files under the state directory. Runs in the engine
// (dockerbox-engine, unprivileged). Input: paths built by the state code from the
// configured state directory and checked 64-hex ids, never from client text.
#pragma once

#include "common/result.hpp"
#include "common/unique_fd.hpp"

#include <filesystem>

namespace dockerbox::broker::state {

/// Makes sure `dir` is a directory owned by us with mode 0700, creating it (not its
/// parents) if needed. A symlink, a non-directory, or a directory owned by another uid is
/// refused: state and captured output hold every user's configs and output, so no other
/// user may read them or swap them out.
[[nodiscard]] Result<void> ensurePrivateDir(const std::filesystem::path& dir);

/// Opens `file` read-write with O_APPEND (reads only look at the last byte), creating it
/// 0600; symlinks are refused.
[[nodiscard]] Result<UniqueFd> openPrivateAppend(const std::filesystem::path& file);

/// Opens `file` read-only; symlinks are refused. An absent file yields an invalid UniqueFd.
[[nodiscard]] Result<UniqueFd> openIfExists(const std::filesystem::path& file);

/// Removes a file; an absent one is fine.
[[nodiscard]] Result<void> removeIfExists(const std::filesystem::path& file);

}  // namespace dockerbox::broker::state
