// The frontend's seccomp allow-list. Runs in: the frontend process, as the last step of
// enterSandbox(). Everything the zygote and its workers may ask the kernel is listed here.
#pragma once

#include "common/result.hpp"
#include "frontend/sandbox.hpp"

namespace dockerbox::frontend {

/// Builds and loads the filter for this process (and, through fork, every worker).
/// Needs no_new_privs already set.
[[nodiscard]] Result<void> loadSeccompFilter(SeccompViolation onViolation);

/// Stacks a second filter on a freshly forked worker that takes away what only the zygote
/// needs (fork/clone, wait4, ppoll): a compromised worker cannot even fork. Filters only
/// ever narrow, so allowing a worker to add one gives it nothing. Needs no_new_privs or
/// CAP_SYS_ADMIN (the sandbox has set no_new_privs).
[[nodiscard]] Result<void> narrowFilterForWorker();

}  // namespace dockerbox::frontend
