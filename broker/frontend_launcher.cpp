#include "broker/frontend_launcher.hpp"

#include "common/syscall.hpp"
#include "ipc/fd_passing.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <array>
#include <csignal>
#include <string>

namespace dockerbox::broker {

FrontendLauncher::FrontendLauncher(boost::asio::io_context& io, FrontendSpec spec)
    : spec_(std::move(spec)), restarts_(io) {}

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
  // The zygote's control socket is fd 3 (a fixed contract with the frontend's main.cpp).
  const int fds[] = {theirs.get()};
  auto pid = spawnHelper({spec_.path, "--control-fd", "3", "--uid", std::to_string(spec_.uid), "--gid",
                          std::to_string(spec_.gid), "--log-level", spec_.logLevel, "--log-format",
                          spec_.journal ? "journal" : "text"},
                         fds);
  if (!pid) return pid.error();
  control_ = std::move(ours);
  zygotePid_ = *pid;
  restarts_.started();
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
  restarts_.died(
      [this]() -> Result<void> {
        if (zygotePid_ > 0) return {};  // a handOver already started one
        return spawn();
      },
      "frontend");
}

}  // namespace dockerbox::broker
