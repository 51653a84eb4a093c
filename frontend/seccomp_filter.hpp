// The frontend's seccomp allow-list. Runs in: the frontend process, as the last step of
// enterSandbox(). Everything the zygote and its workers may ask the kernel is listed here.
#pragma once

#include "common/result.hpp"
#include "frontend/sandbox.hpp"

namespace dockerbox::frontend {

/// Builds and loads the filter for this process (and, through fork, every worker).
/// Needs no_new_privs already set.
[[nodiscard]] Result<void> loadSeccompFilter(SeccompViolation onViolation);

}  // namespace dockerbox::frontend
