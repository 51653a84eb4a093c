// How dockerbox-init turns a failed system call into an error value (style.md §5): the
// message names the step and the reason, because it is what the user sees on stderr as
// "dockerbox-init: <what failed>: <reason>".
#pragma once

#include "common/result.hpp"

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

namespace dockerbox::init {

/// An error whose message is "<what>: <strerror(err)>".
[[nodiscard]] inline Error sysError(std::string_view what, int err) {
  return fail(ErrorKind::Internal, std::string(what) + ": " + std::strerror(err));
}

/// Success when `rc` is not negative, else sysError(what, errno). For calls that do not
/// fail with EINTR (mount, setresuid, prctl, ...); read it on the line of the call.
[[nodiscard]] inline Result<void> sysCheck(long rc, std::string_view what) {
  if (rc < 0) return sysError(what, errno);
  return {};
}

/// Runs `call` again while it fails with EINTR; its value, or sysError(what, errno).
template <class F>
[[nodiscard]] Result<long> sysRetry(std::string_view what, F&& call) {
  for (;;) {
    long rc = call();
    if (rc >= 0) return rc;
    if (errno != EINTR) return sysError(what, errno);
  }
}

}  // namespace dockerbox::init
