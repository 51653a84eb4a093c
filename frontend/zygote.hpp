// The frontend zygote: receives admitted connections from the broker and forks one worker
// per connection. Runs in: the sandboxed frontend process (unprivileged, seccomp applied).
// Input: messages on the control socket from the broker (trusted, but still checked).
//
// Control protocol (fixed with the broker): SOCK_SEQPACKET; each message is the byte 'C'
// with exactly two descriptors (SCM_RIGHTS): [0] the client connection, [1] its IPC
// channel. EOF means the broker is done with us: the zygote exits. Anything else is
// closed, logged and skipped.
#pragma once

#include "common/unique_fd.hpp"
#include "frontend/worker.hpp"

namespace dockerbox::frontend {

/// Serves the control socket until EOF. Returns the process exit status (0 at EOF, 1 when
/// the control socket fails).
[[nodiscard]] int runZygote(UniqueFd control, const WorkerOptions& options);

}  // namespace dockerbox::frontend
