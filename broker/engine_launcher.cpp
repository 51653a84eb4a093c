#include "broker/engine_launcher.hpp"

#include "common/syscall.hpp"
#include "common/unique_fd.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>

namespace dockerbox::broker {
namespace {

/// How long the first start may take to open the state (a large database is checked and
/// migrated first).
constexpr std::chrono::seconds kStartLimit{60};

Result<std::pair<UniqueFd, UniqueFd>> streamPair(const char* what) {
  int ends[2];
  auto rc = DOCKERBOX_SYSCALL(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends), what);
  if (!rc) return rc.error();
  return std::pair{UniqueFd(ends[0]), UniqueFd(ends[1])};
}

/// Waits for the engine's readiness byte; EOF means it exited during start-up.
Result<void> awaitReady(int fd) {
  pollfd p{fd, POLLIN, 0};
  auto ready = DOCKERBOX_SYSCALL(
      ::poll(&p, 1, static_cast<int>(std::chrono::milliseconds(kStartLimit).count())), "poll(engine ready)");
  if (!ready) return ready.error();
  if (*ready == 0) return fail(ErrorKind::Unavailable, "the engine did not start in time");
  char byte = 0;
  auto got = DOCKERBOX_SYSCALL(::read(fd, &byte, 1), "read(engine ready)");
  if (!got) return got.error();
  if (*got != 1 || byte != 'R') {
    return fail(ErrorKind::Unavailable, "the engine exited during start-up (its log says why)");
  }
  return {};
}

}  // namespace

EngineLauncher::EngineLauncher(boost::asio::io_context& io, EngineSpec spec, Attach attach)
    : io_(io), spec_(std::move(spec)), attach_(std::move(attach)), restarts_(io) {}

EngineLauncher::~EngineLauncher() {
  if (pid_ > 0) ::kill(pid_, SIGKILL);
}

Result<void> EngineLauncher::start() { return spawn(true); }

Result<void> EngineLauncher::spawn(bool waitReady) {
  auto acts = streamPair("socketpair(acts)");
  if (!acts) return acts.error();
  auto engine = streamPair("socketpair(engine)");
  if (!engine) return engine.error();
  int readyEnds[2];
  if (auto rc = DOCKERBOX_SYSCALL(::pipe2(readyEnds, O_CLOEXEC), "pipe2(ready)"); !rc) return rc.error();
  UniqueFd readyRead(readyEnds[0]);
  UniqueFd readyWrite(readyEnds[1]);
  // fd 3: acts, fd 4: engine channel, fd 5: readiness (a contract with engine/main.cpp).
  const int fds[] = {acts->second.get(), engine->second.get(), readyWrite.get()};
  auto pid = spawnHelper({spec_.path, "--uid", std::to_string(spec_.uid), "--gid", std::to_string(spec_.gid),
                          "--state-dir", spec_.stateDir, "--minibox-socket", spec_.miniboxSocket, "--log-level",
                          spec_.logLevel, "--log-format", spec_.journal ? "journal" : "text"},
                         fds);
  if (!pid) return pid.error();
  pid_ = *pid;
  restarts_.started();
  readyWrite.reset();
  acts->second.reset();
  engine->second.reset();
  spdlog::info("event=engine_started pid={} path={} uid={} gid={}", pid_, spec_.path, spec_.uid, spec_.gid);
  if (waitReady) {
    if (auto ready = awaitReady(readyRead.get()); !ready) return ready.error();
  }
  // A restarted engine is attached at once: requests wait in the channel while it opens
  // its state.
  attach_(Socket(io_, boost::asio::local::stream_protocol(), acts->first.release()),
          Socket(io_, boost::asio::local::stream_protocol(), engine->first.release()));
  return {};
}

void EngineLauncher::childExited(pid_t pid, int status) {
  if (pid != pid_) return;
  spdlog::error("event=engine_died pid={} status={} signal={}", pid, WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  pid_ = -1;
  restarts_.died([this] { return spawn(false); }, "engine");
}

}  // namespace dockerbox::broker
