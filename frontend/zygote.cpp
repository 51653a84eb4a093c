#include "frontend/zygote.hpp"

#include "common/syscall.hpp"
#include "frontend/seccomp_filter.hpp"
#include "ipc/fd_passing.hpp"

#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace dockerbox::frontend {
namespace {

/// Byte and descriptor count of a control message.
constexpr std::byte kConnectionTag{'C'};
constexpr std::size_t kDescriptorsPerConnection = 2;

/// SIGCHLD only interrupts ppoll(); the handler itself has nothing to do.
void onChild(int) {}

/// Reaps every worker that has exited, without blocking. Worker deaths are logged, never
/// fatal: a worker killed by seccomp (SIGSYS) is a worker that tried something it must not.
void reapWorkers() {
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;  // 0: none ready; -1: ECHILD (no children) or EINTR
    if (WIFSIGNALED(status)) {
      int signal = WTERMSIG(status);
      if (signal == SIGSYS) {
        spdlog::warn("event=worker_killed pid={} signal=SIGSYS reason=seccomp", pid);
      } else {
        spdlog::warn("event=worker_killed pid={} signal={}", pid, signal);
      }
    } else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
      spdlog::info("event=worker_exited pid={} status={}", pid, WEXITSTATUS(status));
    }
  }
}

/// Runs in the forked child: becomes the worker for one connection and never returns.
[[noreturn]] void becomeWorker(UniqueFd control, UniqueFd client, UniqueFd channel,
                               const WorkerOptions& options) {
  control.reset();  // a worker must not see other clients' connections (P4)
  // Undo the zygote's SIGCHLD handling; these cannot fail with valid arguments, and a
  // worker that kept them would only reap nothing.
  sigset_t none;
  sigemptyset(&none);
  (void)::signal(SIGCHLD, SIG_DFL);
  (void)::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (options.syscalls == WorkerSyscalls::Narrowed) {
    if (auto narrowed = narrowFilterForWorker(); !narrowed) {
      spdlog::error("event=worker_failed context=\"{}\"", narrowed.error().context);
      ::_exit(1);  // fail closed: never serve a client with the zygote's wider filter
    }
  }
  int status = serveConnection(std::move(client), std::move(channel), options);
  spdlog::default_logger()->flush();
  std::fflush(nullptr);
  ::_exit(status);
}

}  // namespace

int runZygote(UniqueFd control, const WorkerOptions& options) {
  // SIGCHLD is blocked except inside ppoll(), so a worker's death always interrupts the wait
  // and can never slip in between the reap and the next wait.
  sigset_t childOnly;
  sigemptyset(&childOnly);
  sigaddset(&childOnly, SIGCHLD);
  sigset_t waitMask;
  if (auto rc = DOCKERBOX_SYSCALL(::sigprocmask(SIG_BLOCK, &childOnly, &waitMask), "sigprocmask");
      !rc) {
    spdlog::error("event=zygote_failed context=\"{}\"", rc.error().context);
    return 1;
  }
  sigdelset(&waitMask, SIGCHLD);
  struct sigaction action {};
  action.sa_handler = &onChild;
  sigemptyset(&action.sa_mask);
  if (auto rc = DOCKERBOX_SYSCALL(::sigaction(SIGCHLD, &action, nullptr), "sigaction(SIGCHLD)");
      !rc) {
    spdlog::error("event=zygote_failed context=\"{}\"", rc.error().context);
    return 1;
  }

  spdlog::info("event=zygote_ready control_fd={}", control.get());
  for (;;) {
    reapWorkers();
    pollfd poller{control.get(), POLLIN, 0};
    if (::ppoll(&poller, 1, nullptr, &waitMask) < 0) {
      if (errno == EINTR) continue;
      spdlog::error("event=zygote_failed call=ppoll errno={}", errno);
      return 1;
    }
    auto received = ipc::receiveWithFds(control.get(), 1, kDescriptorsPerConnection);
    if (!received) {
      // Wrong descriptor count or truncation: whatever arrived is already closed.
      spdlog::warn("event=control_message_refused reason=\"{}\" context=\"{}\"",
                   received.error().message, received.error().context);
      if (received.error().kind == ErrorKind::Internal) return 1;  // the socket itself failed
      continue;
    }
    if (received->bytes.empty() && received->fds.empty()) {
      spdlog::info("event=zygote_exit reason=control_eof");
      return 0;
    }
    if (received->bytes.size() != 1 || received->bytes[0] != kConnectionTag ||
        received->fds.size() != kDescriptorsPerConnection) {
      spdlog::warn("event=control_message_refused bytes={} fds={}", received->bytes.size(),
                   received->fds.size());
      continue;  // the descriptors close with `received`
    }
    UniqueFd client = std::move(received->fds[0]);
    UniqueFd channel = std::move(received->fds[1]);
    pid_t pid = ::fork();
    if (pid < 0) {
      // The client sees its connection close; the broker sees the channel close.
      spdlog::error("event=fork_failed errno={}", errno);
      continue;
    }
    if (pid == 0) becomeWorker(std::move(control), std::move(client), std::move(channel), options);
    spdlog::debug("event=worker_started pid={}", pid);
    // The zygote's copies of client and channel close here; only the worker holds them.
  }
}

}  // namespace dockerbox::frontend
