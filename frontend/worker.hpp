// A frontend worker: serves one admitted client connection over its own IPC channel.
// Runs in: a process forked from the zygote, already inside the sandbox.
#pragma once

#include "common/unique_fd.hpp"
#include "frontend/session.hpp"

namespace dockerbox::frontend {

struct WorkerOptions {
  Clock clock;  // unix seconds; the system clock in production
};

/// The wall clock (CLOCK_REALTIME through the vDSO: no syscall, no file).
[[nodiscard]] std::int64_t systemClock();

/// Serves `client` until it is done, using `channel` for every broker operation. Returns
/// the process exit status: 0 after a normal end, 1 after an internal failure.
[[nodiscard]] int serveConnection(UniqueFd client, UniqueFd channel, const WorkerOptions& options);

}  // namespace dockerbox::frontend
