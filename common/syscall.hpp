// One wrapper for system calls (style.md §5, after KJ_SYSCALL): retries on EINTR, captures
// errno and names the call in the error. There are no unchecked syscalls anywhere.
#pragma once

#include "common/result.hpp"

#include <cerrno>
#include <cstring>
#include <string>

namespace dockerbox {

/// Runs `call` until it does not fail with EINTR. Returns its value, or an Internal error
/// naming `what` and errno.
template <class F>
[[nodiscard]] auto retrySyscall(const std::string& what, F&& call) -> Result<decltype(call())> {
  for (;;) {
    auto rc = call();
    if (rc >= 0) return rc;
    if (errno == EINTR) continue;
    int saved = errno;
    return Error::make(ErrorKind::Internal, "system call failed",
                       what + ": " + std::strerror(saved) + " (errno " + std::to_string(saved) + ")");
  }
}

/// errno of the last failed call, as text (for logs).
inline std::string errnoText(int err) { return std::string(std::strerror(err)); }

}  // namespace dockerbox

/// DOCKERBOX_SYSCALL(expr, "name args") -> Result<decltype(expr)>
#define DOCKERBOX_SYSCALL(expr, what) ::dockerbox::retrySyscall((what), [&] { return (expr); })

/// Aborts on a broken invariant (a bug). Never use on input the frontend or environment controls.
#define DOCKERBOX_ASSERT(cond, ...)                                                     \
  do {                                                                                  \
    if (!(cond)) ::dockerbox::assertFailed(#cond, __FILE__, __LINE__, "" __VA_ARGS__); \
  } while (false)

namespace dockerbox {
[[noreturn]] void assertFailed(const char* cond, const char* file, int line, const char* context);
}
