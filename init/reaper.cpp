// Runs as pid 1 of the container after the reaper's privilege drop (uid 0, CAP_KILL only,
// seccomp). Input: signals from anyone in the container, the status pipe of its child,
// the port proxy's requests (untrusted; port_channel.cpp reads them).
#include "init/reaper.hpp"

#include "init/exec_path.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <ctime>
#include <string_view>

namespace dockerbox::init {
namespace {

int exitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return kExitNotFound;
}

void writeAll(int fd, std::string_view text) {
  while (!text.empty()) {
    long n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // nothing sensible to do when stderr is gone
    text.remove_prefix(static_cast<std::size_t>(n));
  }
}

/// Reaps every exited process; the child's status when it is among them, else -1.
int reapZombies(pid_t child) {
  int childStatus = -1;
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid < 0 && errno == EINTR) continue;
    if (pid <= 0) return childStatus;  // none left (0) or no children at all (ECHILD)
    if (pid == child) childStatus = exitStatus(status);
  }
}

}  // namespace

int awaitExec(int statusFd, pid_t child) {
  std::array<char, 4096> buffer{};
  std::size_t used = 0;
  while (used < buffer.size()) {
    long n = ::read(statusFd, buffer.data() + used, buffer.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    used += static_cast<std::size_t>(n);
  }
  if (used == 0) return -1;
  writeAll(STDERR_FILENO, std::string_view(buffer.data() + 1, used - 1));
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  int code = static_cast<unsigned char>(buffer[0]);
  return code == 0 ? kExitNotFound : code;
}

int takeSignal(pid_t child, TakenSignal signal, PortChannel& ports) {
  if (signal.number == SIGCHLD) return reapZombies(child);
  if (signal.number == SIGIO) {
    ports.noteSigio();
    // The kernel's SIGIO is about the channel, the only fd pid 1 armed (or one a program
    // pointed at pid 1 itself): not the program's. Forwarded, it would even end a program
    // that has no handler, SIGIO's default action, for a notice that merely came late
    // (queued before the channel was closed).
    if (signal.code > 0) return -1;
  }
  // The child may already be gone (ESRCH): its SIGCHLD is then pending.
  (void)::kill(child, signal.number);
  return -1;
}

int reapUntilExit(pid_t child, const sigset_t& signals, PortChannel& ports,
                  std::uint32_t timeoutMs) {
  timespec deadline{};
  bool armed = timeoutMs != 0;
  if (armed) {
    (void)::clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += static_cast<time_t>(timeoutMs / 1000);
    deadline.tv_nsec += static_cast<long>(timeoutMs % 1000) * 1'000'000L;
    if (deadline.tv_nsec >= 1'000'000'000L) {
      deadline.tv_nsec -= 1'000'000'000L;
      ++deadline.tv_sec;
    }
  }
  for (;;) {
    // One turn of the port channel, then one signal: neither can starve the other. While
    // the channel may hold more, the wait below only looks (timeout 0), since no new
    // SIGIO comes for requests that are already there.
    if (ports.pending()) ports.serve();
    siginfo_t info{};
    int sig = -1;
    if (ports.pending()) {
      const timespec noWait{};
      sig = ::sigtimedwait(&signals, &info, &noWait);
    } else if (armed) {
      timespec now{};
      (void)::clock_gettime(CLOCK_MONOTONIC, &now);
      timespec left{deadline.tv_sec - now.tv_sec, deadline.tv_nsec - now.tv_nsec};
      if (left.tv_nsec < 0) {
        left.tv_nsec += 1'000'000'000L;
        --left.tv_sec;
      }
      if (left.tv_sec < 0) {
        // Out of time: the program and whatever it started in its session (it leads one).
        (void)::kill(-child, SIGKILL);
        (void)::kill(child, SIGKILL);
        armed = false;
        continue;
      }
      sig = ::sigtimedwait(&signals, &info, &left);
    } else {
      sig = ::sigwaitinfo(&signals, &info);
    }
    if (sig < 0) continue;  // EINTR, or EAGAIN at the deadline (checked above) or at once
    if (int status = takeSignal(child, {sig, info.si_code}, ports); status >= 0) return status;
  }
}

}  // namespace dockerbox::init
