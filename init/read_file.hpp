// Reading a whole small file in dockerbox-init (account files from the image, the kernel's
// mountinfo and status): every read is bounded, every error names the file.
#pragma once

#include "init/sys_error.hpp"

#include <unistd.h>

#include <array>
#include <string>
#include <string_view>

namespace dockerbox::init {

/// Reads `fd` to its end. More than `limit` bytes is an error (an image can make its
/// /etc/passwd as large as it likes; the init must not follow it).
[[nodiscard]] inline Result<std::string> readToEnd(int fd, std::size_t limit, std::string_view what) {
  std::string text;
  std::array<char, 16384> buffer{};
  for (;;) {
    long n = 0;
    DOCKERBOX_TRY_ASSIGN(n, sysRetry(what, [&] { return ::read(fd, buffer.data(), buffer.size()); }));
    if (n == 0) return text;
    if (text.size() + static_cast<std::size_t>(n) > limit) {
      return fail(ErrorKind::Internal, std::string(what) + ": larger than " + std::to_string(limit) + " bytes");
    }
    text.append(buffer.data(), static_cast<std::size_t>(n));
  }
}

}  // namespace dockerbox::init
