// A frontend worker: serves one admitted client connection over its own IPC channel.
// Runs in: a process forked from the zygote, already inside the sandbox.
#pragma once

#include "common/unique_fd.hpp"
#include "frontend/session.hpp"

namespace dockerbox::frontend {

/// Whether a new worker narrows the inherited seccomp filter (see narrowFilterForWorker).
enum class WorkerSyscalls {
  Narrowed,   // production: a worker cannot fork, wait or ppoll
  Inherited,  // tests that run the zygote without its sandbox (no no_new_privs)
};

struct WorkerOptions {
  Clock clock;  // unix seconds; the system clock in production
  WorkerSyscalls syscalls = WorkerSyscalls::Narrowed;
};

/// The wall clock (CLOCK_REALTIME through the vDSO: no syscall, no file).
[[nodiscard]] std::int64_t systemClock();

/// Serves `client` until it is done, using `channel` for every broker operation. Returns
/// the process exit status: 0 after a normal end, 1 after an internal failure.
[[nodiscard]] int serveConnection(UniqueFd client, UniqueFd channel, const WorkerOptions& options);

}  // namespace dockerbox::frontend
