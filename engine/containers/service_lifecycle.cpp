// Runs in the engine (dockerbox-engine, unprivileged). Input: validated stop, kill,
// restart, pause, unpause, wait, remove and resize requests; miniboxd's replies.
//
// Signals go through the monitor's `signal` act: it sends them to the process miniboxd
// started, which is dockerbox-init for a confined run (it passes every signal on to the
// program; SIGKILL ends the container at once). So `kill -s SIG` delivers SIG, and `stop`
// is Docker's: the StopSignal (`--signal`, the container's StopSignal, SIGTERM), then after
// `-t` seconds (the container's StopTimeout, 10) SIGKILL. Where the monitor cannot signal
// (miniboxd names no process), miniboxd's own Stop ends the container instead: SIGTERM,
// then SIGKILL after 2 s (protocol 7.2). SIGSTOP cannot be passed on by the init: 501.
#include "broker/decode_fields.hpp"
#include "engine/containers/service.hpp"

#include <csignal>
#include <cstring>

namespace dockerbox::broker::containers {

namespace asio = boost::asio;

namespace {

/// Docker's default for a container without StopTimeout.
constexpr std::int32_t kDefaultStopTimeout = 10;

std::string signalName(int signal) {
  const char* abbrev = ::sigabbrev_np(signal);
  return abbrev != nullptr ? std::string("SIG") + abbrev : std::to_string(signal);
}

Error cannotDeliver(int signal) {
  return fail(ErrorKind::NotImplemented, "dockerbox cannot send " + signalName(signal) +
                                             ": dockerbox-init, the container's first process, cannot pass it on "
                                             "(use docker pause)");
}

/// The container's StopSignal (Docker's default SIGTERM; an unreadable one too).
int stopSignalOf(const state::Container& c) {
  auto config = readRunConfig(c.config);
  if (!config || config->stopSignal.empty()) return SIGTERM;
  auto number = decode::signalNumber(config->stopSignal);
  return number ? *number : SIGTERM;
}

/// `-t` as asked, else the container's StopTimeout, else Docker's 10 s.
std::int32_t stopTimeoutOf(const state::Container& c, std::optional<std::int32_t> requested) {
  if (requested) return *requested;
  auto config = readRunConfig(c.config);
  return config && config->stopTimeout >= 0 ? config->stopTimeout : kDefaultStopTimeout;
}

bool refusedByMonitor(const Error& error) {
  // Unavailable: miniboxd or the monitor is away; Forbidden: the monitor refused the act (an
  // unsealed or changed record). Neither says anything about the container's process.
  return error.kind == ErrorKind::Unavailable || error.kind == ErrorKind::Forbidden;
}

}  // namespace

asio::awaitable<Result<bool>> ContainerService::awaitExit(LiveContainer& live, std::uint64_t exitsBefore,
                                                          std::optional<std::chrono::steady_clock::time_point> deadline) {
  while (live.exits == exitsBefore && !live.removed) {
    auto woke = co_await live.changed.wait(deadline);
    if (woke == WakeReason::Cancelled) co_return fail(ErrorKind::Unavailable, "the client went away");
    if (woke == WakeReason::TimedOut) co_return false;
  }
  co_return true;
}

asio::awaitable<Result<void>> ContainerService::stopAndWait(const Caller& stopper, const state::Container& container,
                                                            int signal, std::int32_t graceSeconds) {
  auto live = live_.get(container.dockerId);
  const auto startDeadline = std::chrono::steady_clock::now() + options_.exitWait;
  // A start in flight holds the miniboxd id we need: let it resolve first.
  while (live->link == RunLink::Starting) {
    auto woke = co_await live->changed.wait(startDeadline);
    if (woke == WakeReason::Cancelled) co_return fail(ErrorKind::Unavailable, "the client went away");
    if (woke == WakeReason::TimedOut) co_return fail(ErrorKind::Unavailable, "the container is still starting");
  }
  // A client stops it: its restart policy leaves it stopped from now on (Docker's
  // HasBeenManuallyStopped; a client's start clears it).
  (void)state_.setManuallyStopped(container.dockerId, true);
  auto c = state_.getContainer(container.dockerId);
  if (!c) co_return c.error();
  if (!isActive(c->state)) co_return Result<void>();  // it exited meanwhile
  if (c->state == state::ContainerState::Restarting && live->link == RunLink::None) {
    cancelRestart(*live);  // between two runs: nothing to signal
    co_return Result<void>();
  }
  bus_.publish(containerEvent(*c, "kill", {{"signal", std::to_string(signal)}}));
  const std::uint64_t exitsBefore = live->exits;
  if (!c->miniboxId) {
    containerExited(c->dockerId, 255, false, "dockerbox had no miniboxd id for the running container");
    co_return Result<void>();
  }
  const std::string miniboxId = *c->miniboxId;
  // Coroutine arguments are named values moved in (g++ 12, see service_exec.cpp).
  auto sendSignal = [&](int sig) -> asio::awaitable<Result<void>> {
    SealedRecord record = sealedOf(*c);
    std::string target = miniboxId;
    co_return co_await monitor_.signal(stopper, std::move(record), std::move(target), sig);
  };
  if (signal != SIGKILL && graceSeconds != 0) {
    auto sent = co_await sendSignal(signal);
    if (sent) {
      std::optional<std::chrono::steady_clock::time_point> graceEnd;
      if (graceSeconds > 0) graceEnd = std::chrono::steady_clock::now() + std::chrono::seconds(graceSeconds);
      auto exited = co_await awaitExit(*live, exitsBefore, graceEnd);
      if (!exited) co_return exited.error();
      if (*exited) co_return Result<void>();
      bus_.publish(containerEvent(*c, "kill", {{"signal", std::to_string(SIGKILL)}}));
    } else if (refusedByMonitor(sent.error())) {
      co_return sent.error();
    }
  }
  auto killed = co_await sendSignal(SIGKILL);
  if (!killed) {
    if (refusedByMonitor(killed.error())) co_return killed.error();
    // The monitor cannot signal this run: miniboxd's Stop ends it (SIGTERM, SIGKILL after 2 s).
    SealedRecord record = sealedOf(*c);
    std::string target = miniboxId;
    auto stopped = co_await monitor_.stop(stopper, std::move(record), std::move(target));
    if (!stopped) {
      if (refusedByMonitor(stopped.error())) co_return stopped.error();
      // miniboxd no longer runs it. A held Run reports the exit itself; otherwise nobody
      // will, and the status is unknown.
      if (live->link != RunLink::Held && live->exits == exitsBefore) {
        containerExited(c->dockerId, 255, false, "miniboxd no longer knew the container: " + stopped.error().message);
      }
    }
  }
  auto exited = co_await awaitExit(*live, exitsBefore, std::chrono::steady_clock::now() + options_.exitWait);
  if (!exited) co_return exited.error();
  if (!*exited) co_return fail(ErrorKind::Internal, "container " + c->dockerId + " did not stop in time");
  co_return Result<void>();
}

asio::awaitable<Result<void>> ContainerService::handleStopContainer(const Caller& who, const StopContainerOp& op,
                                                                    StreamSink&, Out out) {
  if (op.signal && *op.signal == SIGSTOP) co_return cannotDeliver(*op.signal);
  auto c = resolve(who, op.ref);
  if (!c) co_return c.error();
  auto live = live_.get(c->dockerId);
  if (!isActive(c->state) && live->link != RunLink::Starting) {
    co_return fail(ErrorKind::NotModified, "container " + c->dockerId + " is already stopped");
  }
  const int signal = op.signal.value_or(stopSignalOf(*c));
  if (auto stopped = co_await stopAndWait(who, *c, signal, stopTimeoutOf(*c, op.timeoutSeconds)); !stopped) {
    co_return stopped.error();
  }
  if (auto after = state_.getContainer(c->dockerId)) bus_.publish(containerEvent(*after, "stop"));
  out.setOk();
  co_return Result<void>();
}

asio::awaitable<Result<void>> ContainerService::handleKillContainer(const Caller& who, const KillContainerOp& op,
                                                                    StreamSink&, Out out) {
  auto c = resolve(who, op.ref);
  if (!c) co_return c.error();
  if (!isActive(c->state)) co_return notRunning(c->dockerId);
  if (op.signal == SIGSTOP) co_return cannotDeliver(op.signal);
  (void)state_.setManuallyStopped(c->dockerId, true);  // as dockerd's kill, whatever the signal
  if (op.signal == SIGKILL || c->state == state::ContainerState::Restarting) {
    // As dockerd: the container is gone when `kill` returns.
    if (auto stopped = co_await stopAndWait(who, *c, SIGKILL, 0); !stopped) co_return stopped.error();
    out.setOk();
    co_return Result<void>();
  }
  if (!c->miniboxId) co_return notRunning(c->dockerId);
  SealedRecord record = sealedOf(*c);  // named: g++ 12 and coroutine arguments (service_exec.cpp)
  std::string miniboxId = *c->miniboxId;
  if (auto sent = co_await monitor_.signal(who, std::move(record), std::move(miniboxId), op.signal); !sent) {
    co_return sent.error();
  }
  bus_.publish(containerEvent(*c, "kill", {{"signal", std::to_string(op.signal)}}));
  out.setOk();
  co_return Result<void>();
}

asio::awaitable<Result<void>> ContainerService::handleRestartContainer(const Caller& who, const RestartContainerOp& op,
                                                                       StreamSink&, Out out) {
  auto c = resolve(who, op.ref);
  if (!c) co_return c.error();
  auto live = live_.get(c->dockerId);
  if (isActive(c->state) || live->link == RunLink::Starting) {
    live->restarting = true;
    struct EndRestart {
      LiveContainer& live;
      ~EndRestart() { live.restarting = false; }
    } endRestart{*live};
    if (auto stopped = co_await stopAndWait(who, *c, stopSignalOf(*c), stopTimeoutOf(*c, op.timeoutSeconds)); !stopped) {
      co_return stopped.error();
    }
    if (auto after = state_.getContainer(c->dockerId)) bus_.publish(containerEvent(*after, "stop"));
  }
  c = state_.getContainer(c->dockerId);
  if (!c) co_return c.error();
  if (auto started = co_await startRun(who, *c); !started) co_return started.error();
  if (auto after = state_.getContainer(c->dockerId)) bus_.publish(containerEvent(*after, "restart"));
  out.setOk();
  co_return Result<void>();
}

asio::awaitable<Result<void>> ContainerService::handlePauseContainer(const Caller& who, const PauseContainerOp& op,
                                                                     StreamSink&, Out out) {
  auto c = resolve(who, op.ref);
  if (!c) co_return c.error();
  if (c->state == state::ContainerState::Paused) {
    co_return fail(ErrorKind::Conflict, "Container " + c->dockerId + " is already paused");
  }
  if (c->state != state::ContainerState::Running || !c->miniboxId) co_return notRunning(c->dockerId);
  const std::string miniboxId = *c->miniboxId;
  SealedRecord record = sealedOf(*c);  // named: see stopAndWait
  std::string target = miniboxId;
  if (auto paused = co_await monitor_.pause(who, std::move(record), std::move(target)); !paused) {
    co_return paused.error();
  }
  c = state_.getContainer(c->dockerId);  // it may have exited while miniboxd answered
  if (!c) co_return c.error();
  if (c->state != state::ContainerState::Running || c->miniboxId != miniboxId) co_return notRunning(c->dockerId);
  if (auto recorded = state_.setPaused(c->dockerId); !recorded) co_return recorded.error();
  bus_.publish(containerEvent(*c, "pause"));
  live_.get(c->dockerId)->changed.notifyAll();
  out.setOk();
  co_return Result<void>();
}

asio::awaitable<Result<void>> ContainerService::handleUnpauseContainer(const Caller& who, const UnpauseContainerOp& op,
                                                                       StreamSink&, Out out) {
  auto c = resolve(who, op.ref);
  if (!c) co_return c.error();
  if (c->state != state::ContainerState::Paused || !c->miniboxId) {
    co_return fail(ErrorKind::Conflict, "Container " + c->dockerId + " is not paused");
  }
  const std::string miniboxId = *c->miniboxId;
  SealedRecord record = sealedOf(*c);  // named: see stopAndWait
  std::string target = miniboxId;
  if (auto resumed = co_await monitor_.resume(who, std::move(record), std::move(target)); !resumed) {
    co_return resumed.error();
  }
  c = state_.getContainer(c->dockerId);
  if (!c) co_return c.error();
  if (c->state != state::ContainerState::Paused || c->miniboxId != miniboxId) co_return notRunning(c->dockerId);
  if (auto recorded = state_.setUnpaused(c->dockerId); !recorded) co_return recorded.error();
  bus_.publish(containerEvent(*c, "unpause"));
  live_.get(c->dockerId)->changed.notifyAll();
  out.setOk();
  co_return Result<void>();
}

asio::awaitable<Result<void>> ContainerService::handleWaitContainer(const Caller& who, const WaitContainerOp& op,
                                                                    StreamSink& sink, Out out) {
  auto c = resolve(who, op.ref);
  if (!c) co_return c.error();
  auto live = live_.get(c->dockerId);
  const std::uint64_t exitsBefore = live->exits;
  int code = c->exitCode.value_or(0);
  // The client sends `start` only after this head arrives (client-flows 6.3).
  if (!co_await sink.accepted()) co_return fail(ErrorKind::Unavailable, "the client went away");
  for (;;) {
    if (live->lastExitCode && live->exits > exitsBefore) code = *live->lastExitCode;
    const bool exitedSince = live->exits > exitsBefore;
    bool met = false;
    switch (op.condition) {
      case WaitCondition::NotRunning: {
        auto now = state_.getContainer(c->dockerId);
        met = !now || (!isActive(now->state) && live->link != RunLink::Starting);
        if (now && now->exitCode) code = *now->exitCode;
        break;
      }
      case WaitCondition::NextExit: met = exitedSince || live->removed; break;
      case WaitCondition::Removed: met = live->removed; break;
    }
    if (met) break;
    if (co_await live->changed.wait() == WakeReason::Cancelled) {
      co_return fail(ErrorKind::Unavailable, "the client went away");
    }
  }
  out.initWaitResult().setStatusCode(code);
  co_return Result<void>();
}

void ContainerService::removeRecord(const state::Container& c) {
  if (auto marked = state_.setRemoving(c.dockerId); !marked) return;  // already gone
  // Removing first: a crash between the two halves is finished at the next start-up.
  (void)logs_.remove(c.dockerId);
  (void)state_.removeContainer(c.dockerId);
  bus_.publish(containerEvent(c, "destroy"));
  auto live = live_.get(c.dockerId);
  live->removed = true;
  ++live->restartGeneration;
  if (live->restartTimer) live->restartTimer->cancel();
  stopHealthChecks(*live);
  live->endRun(nowNanos());
  live_.erase(c.dockerId);
}

asio::awaitable<Result<void>> ContainerService::handleRemoveContainer(const Caller& who, const RemoveContainerOp& op,
                                                                      StreamSink&, Out out) {
  auto c = resolve(who, op.ref);
  if (!c) co_return c.error();
  if (c->state == state::ContainerState::Removing) {
    co_return fail(ErrorKind::Conflict, "removal of container " + c->dockerId + " is already in progress");
  }
  if (isActive(c->state) || live_.get(c->dockerId)->link == RunLink::Starting) {
    if (!op.force) {
      const bool paused = c->state == state::ContainerState::Paused;
      const char* what = c->state == state::ContainerState::Restarting ? "restarting" : "running";
      co_return fail(ErrorKind::Conflict,
                     paused ? "You cannot remove a paused container " + c->dockerId +
                                  ". Unpause and then stop the container before attempting removal or force remove"
                            : "You cannot remove a " + std::string(what) + " container " + c->dockerId +
                                  ". Stop the container before attempting removal or force remove");
    }
    if (auto stopped = co_await stopAndWait(who, *c, SIGKILL, 0); !stopped) co_return stopped.error();
  }
  if (auto current = state_.getContainer(c->dockerId)) removeRecord(*current);  // else AutoRemove got it
  // `rm -v`: the container's anonymous volumes go with it (named ones stay, as on Docker).
  if (op.volumes) co_await removeAnonymousVolumes(who, c->dockerId, c->config);
  out.setOk();
  co_return Result<void>();
}

asio::awaitable<Result<void>> ContainerService::handleResizeContainer(const Caller& who, const ResizeContainerOp& op,
                                                                      StreamSink&, Out out) {
  // A container the caller cannot see is missing first, as for every other operation.
  auto c = resolve(who, op.ref);
  if (!c) co_return c.error();
  if (!isActive(c->state)) co_return notRunning(c->dockerId);
  // dockerd answers a resize of a container without a terminal with success; so does this.
  if (!c->tty) {
    out.setOk();
    co_return Result<void>();
  }
  SealedRecord record = sealedOf(*c);  // named: g++ 12 and coroutine arguments (service_exec.cpp)
  SealedRecord noExec;
  auto resized = co_await monitor_.resizeTerminal(who, std::move(record), std::move(noExec), op.height, op.width);
  if (!resized) co_return resized.error();
  out.setOk();
  co_return Result<void>();
}

}  // namespace dockerbox::broker::containers
