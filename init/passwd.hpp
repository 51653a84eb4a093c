// Docker's `User` resolved against the container's /etc/passwd and /etc/group, the way
// runc's user.GetExecUser does it for Docker.
//
// Input: untrusted text. The files come from the image, and before an exec container root
// may have rewritten them. Runs as root in dockerbox-init, before the privilege drop, so
// the parser is pure, bounded (limits.hpp) and fuzzed (passwd); a malformed line is
// skipped, never read as uid 0.
#pragma once

#include "common/result.hpp"

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

namespace dockerbox::init {

/// Who the user's program runs as.
struct ExecUser {
  uid_t uid = 0;
  gid_t gid = 0;
  /// Groups of /etc/group that list the user by name (only when no group was given
  /// explicitly, as runc does), plus the primary gid. Sorted, no duplicates.
  std::vector<gid_t> supplementaryGroups;
  /// The home directory from passwd, "/" when the user has none.
  std::string home = "/";
};

/// Resolves `spec` ("", "name", "uid", "name:group", "uid:gid", ...). "" is uid 0 (with
/// root's passwd entry when there is one). A numeric uid or gid absent from the files is
/// accepted; a name absent from them is an error, in runc's words.
[[nodiscard]] Result<ExecUser> resolveUser(std::string_view spec,
                                           std::string_view untrustedPasswd,
                                           std::string_view untrustedGroup);

/// Reads an account file (/etc/passwd, /etc/group) of the current root. A missing file
/// is empty text. Symlinks are followed (images use them), but the end must be a regular
/// file of at most kMaxAccountFileSize bytes: a FIFO, device or huge file is an error.
[[nodiscard]] Result<std::string> readAccountFile(const char* path);

}  // namespace dockerbox::init
