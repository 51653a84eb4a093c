#include "common/syscall.hpp"

#include <cstdio>
#include <cstdlib>

namespace dockerbox {

void assertFailed(const char* cond, const char* file, int line, const char* context) {
  // Carrying on with a broken invariant (as root, in the broker) is worse than restarting.
  std::fprintf(stderr, "dockerbox: assertion failed: %s at %s:%d %s\n", cond, file, line, context);
  std::fflush(stderr);
  std::abort();
}

}  // namespace dockerbox
