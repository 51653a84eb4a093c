// Runs as pid 1 of the container after the reaper's privilege drop (uid 0, CAP_KILL only,
// seccomp). Input: signals from anyone in the container, the status pipe of its child.
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

int takeSignal(pid_t child, int sig) {
  if (sig == SIGCHLD) return reapZombies(child);
  // The child may already be gone (ESRCH): its SIGCHLD is then pending.
  (void)::kill(child, sig);
  return -1;
}

int reapUntilExit(pid_t child, const sigset_t& signals, std::uint32_t timeoutMs) {
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
    siginfo_t info{};
    int sig = -1;
    if (armed) {
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
    if (sig < 0) continue;  // EINTR, or EAGAIN at the deadline (checked above)
    if (int status = takeSignal(child, sig); status >= 0) return status;
  }
}

}  // namespace dockerbox::init
