#include "broker/frontend_launcher.hpp"

#include "common/syscall.hpp"
#include "ipc/fd_passing.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <string>

namespace dockerbox::broker {
namespace {

// A zygote that dies this soon after start counts as a crash loop; after kMaxQuickDeaths
// of those in a row the broker waits kRestartBackoff before the next try instead of spinning.
constexpr auto kQuickDeath = std::chrono::seconds(1);
constexpr int kMaxQuickDeaths = 5;
constexpr auto kRestartBackoff = std::chrono::seconds(1);

// The zygote's control socket is always fd 3 in the child (a fixed contract with main.cpp
// of the frontend).
constexpr int kChildControlFd = 3;

/// Everything the child needs, built before fork(): between fork and exec only
/// async-signal-safe calls run (no allocation, no locks, no logging).
struct ExecPlan {
  explicit ExecPlan(const FrontendSpec& spec)
      : path(spec.path),
        uid(std::to_string(spec.uid)),
        gid(std::to_string(spec.gid)),
        control(std::to_string(kChildControlFd)),
        logLevel(spec.logLevel),
        argv{path.c_str(), "--control-fd", control.c_str(), "--uid", uid.c_str(), "--gid", gid.c_str(),
             "--log-level", logLevel.c_str(), "--log-format", spec.journal ? "journal" : "text", nullptr} {}
  std::string path, uid, gid, control, logLevel;
  std::array<const char*, 12> argv;
  // A minimal environment: nothing of the broker's leaks into the untrusted side.
  std::array<const char*, 2> envp = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", nullptr};
};

[[noreturn]] void execFrontend(const ExecPlan& plan, int controlFd) {
  // Child of fork(): only async-signal-safe calls until exec. Every signal is blocked
  // (the parent blocked them around fork); dispositions go back to default before unblocking.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // the zygote never outlives the broker
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) ::signal(sig, SIG_DFL);
  }
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
  if (controlFd == kChildControlFd) {
    // dup2 onto itself keeps FD_CLOEXEC: clear it, or exec would close the control socket.
    if (::fcntl(controlFd, F_SETFD, 0) < 0) ::_exit(126);
  } else if (::dup2(controlFd, kChildControlFd) < 0) {  // dup2 clears CLOEXEC
    ::_exit(126);
  }
  ::execve(plan.path.c_str(), const_cast<char* const*>(plan.argv.data()),
           const_cast<char* const*>(plan.envp.data()));
  ::_exit(127);
}

}  // namespace

FrontendLauncher::FrontendLauncher(boost::asio::io_context& io, FrontendSpec spec)
    : io_(io), spec_(std::move(spec)), restartTimer_(io) {}

FrontendLauncher::~FrontendLauncher() {
  if (zygotePid_ > 0) ::kill(zygotePid_, SIGKILL);
}

Result<void> FrontendLauncher::start() { return spawn(); }

Result<void> FrontendLauncher::spawn() {
  int pair[2];
  auto rc = DOCKERBOX_SYSCALL(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), "socketpair(control)");
  if (!rc) return rc.error();
  UniqueFd ours(pair[0]);
  UniqueFd theirs(pair[1]);
  const ExecPlan plan(spec_);
  // Signals are blocked across fork so that no handler of the broker runs in the child.
  sigset_t all, saved;
  ::sigfillset(&all);
  ::sigprocmask(SIG_SETMASK, &all, &saved);
  const pid_t pid = ::fork();
  if (pid == 0) execFrontend(plan, theirs.get());
  const int forkErrno = errno;
  ::sigprocmask(SIG_SETMASK, &saved, nullptr);
  if (pid < 0) return fail(ErrorKind::Internal, "cannot start the frontend", std::string("fork: ") + std::strerror(forkErrno));
  control_ = std::move(ours);
  zygotePid_ = pid;
  startedAt_ = std::chrono::steady_clock::now();
  spdlog::info("event=frontend_started pid={} path={} uid={} gid={}", zygotePid_, spec_.path, spec_.uid, spec_.gid);
  return {};
}

Result<void> FrontendLauncher::handOver(int clientFd, int workerChannelFd) {
  const std::byte tag{'C'};
  std::array<int, 2> fds = {clientFd, workerChannelFd};
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (control_) {
      auto sent = ipc::sendWithFds(control_.get(), std::span(&tag, 1), fds);
      if (sent) return {};
      spdlog::warn("event=frontend_handover_failed pid={} error=\"{}\"", zygotePid_, sent.error().context);
    }
    // The zygote is gone (or going): replace it now rather than drop the client.
    if (zygotePid_ > 0) ::kill(zygotePid_, SIGKILL);
    zygotePid_ = -1;
    control_.reset();
    if (auto r = spawn(); !r) return r.error();
  }
  return fail(ErrorKind::Unavailable, "the dockerbox frontend is not accepting connections");
}

void FrontendLauncher::childExited(pid_t pid, int status) {
  if (pid != zygotePid_) return;  // a worker (reparented to us as subreaper) or a stale zygote
  spdlog::error("event=frontend_died pid={} status={} signal={}", pid, WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  zygotePid_ = -1;
  control_.reset();
  bool quick = std::chrono::steady_clock::now() - startedAt_ < kQuickDeath;
  quickDeaths_ = quick ? quickDeaths_ + 1 : 0;
  scheduleRestart();
}

void FrontendLauncher::scheduleRestart() {
  auto restart = [this] {
    if (zygotePid_ > 0) return;  // a handOver already started one
    if (auto r = spawn(); !r) {
      spdlog::error("event=frontend_restart_failed error=\"{}\"", r.error().context);
      quickDeaths_ = kMaxQuickDeaths;
      scheduleRestart();
    }
  };
  if (quickDeaths_ < kMaxQuickDeaths) {
    restart();
    return;
  }
  restartTimer_.expires_after(kRestartBackoff);
  restartTimer_.async_wait([restart](const boost::system::error_code& ec) {
    if (!ec) restart();
  });
}

}  // namespace dockerbox::broker
