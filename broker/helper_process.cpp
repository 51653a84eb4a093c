#include "broker/helper_process.hpp"

#include "common/syscall.hpp"
#include "common/unique_fd.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

namespace dockerbox::broker {
namespace {

/// The helpers' descriptors are parked above this before fork, so that moving them to 3, 4,
/// ... in the child never overwrites one not yet moved.
constexpr int kParkedFdFloor = 64;

/// Everything the child needs, built before fork(): between fork and exec only
/// async-signal-safe calls run (no allocation, no locks, no logging).
struct ExecPlan {
  std::vector<const char*> argv;
  std::vector<int> parked;  // CLOEXEC copies of the helper's descriptors, in order
  // A minimal environment: nothing of the broker's leaks into the unprivileged side.
  const char* envp[2] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", nullptr};
};

[[noreturn]] void execHelper(const ExecPlan& plan) {
  // Child of fork(): every signal is blocked (the parent blocked them around fork);
  // dispositions go back to default before unblocking.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // a helper never outlives the broker
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) ::signal(sig, SIG_DFL);
  }
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
  for (std::size_t i = 0; i < plan.parked.size(); ++i) {
    // dup2 clears CLOEXEC on the copy; the parked originals close at exec.
    if (::dup2(plan.parked[i], 3 + static_cast<int>(i)) < 0) ::_exit(126);
  }
  ::execve(plan.argv[0], const_cast<char* const*>(plan.argv.data()), const_cast<char* const*>(plan.envp));
  ::_exit(127);
}

}  // namespace

Result<pid_t> spawnHelper(const std::vector<std::string>& argv, std::span<const int> fds) {
  if (argv.empty()) return fail(ErrorKind::Internal, "cannot start a helper", "no argv");
  ExecPlan plan;
  for (const auto& arg : argv) plan.argv.push_back(arg.c_str());
  plan.argv.push_back(nullptr);
  std::vector<UniqueFd> parked;
  for (int fd : fds) {
    auto copy = DOCKERBOX_SYSCALL(::fcntl(fd, F_DUPFD_CLOEXEC, kParkedFdFloor), "fcntl(F_DUPFD_CLOEXEC)");
    if (!copy) return copy.error();
    parked.emplace_back(*copy);
    plan.parked.push_back(*copy);
  }
  // Signals are blocked across fork so that no handler of the broker runs in the child.
  sigset_t all, saved;
  ::sigfillset(&all);
  ::sigprocmask(SIG_SETMASK, &all, &saved);
  const pid_t pid = ::fork();
  if (pid == 0) execHelper(plan);
  const int forkErrno = errno;
  ::sigprocmask(SIG_SETMASK, &saved, nullptr);
  if (pid < 0) return fail(ErrorKind::Internal, "cannot start " + argv[0], std::string("fork: ") + std::strerror(forkErrno));
  return pid;
}

void RestartSchedule::died(std::function<Result<void>()> restart, const char* what) {
  const bool quick = std::chrono::steady_clock::now() - startedAt_ < kQuickDeath;
  quickDeaths_ = quick ? quickDeaths_ + 1 : 0;
  schedule(std::move(restart), what);
}

void RestartSchedule::schedule(std::function<Result<void>()> restart, const char* what) {
  auto attempt = [this, restart, what] {
    if (auto r = restart(); !r) {
      spdlog::error("event=restart_failed helper={} error=\"{}: {}\"", what, r.error().message, r.error().context);
      quickDeaths_ = kMaxQuickDeaths;
      schedule(restart, what);
    }
  };
  if (quickDeaths_ < kMaxQuickDeaths) {
    attempt();
    return;
  }
  timer_.expires_after(kBackoff);
  timer_.async_wait([attempt](const boost::system::error_code& ec) {
    if (!ec) attempt();
  });
}

}  // namespace dockerbox::broker
