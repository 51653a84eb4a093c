// Runs in the engine (dockerbox-engine, unprivileged). Input: validated start requests, and
// what the monitor reports of the run it holds for each running container (created, output
// chunks written by the container process, the exit code).
#include "broker/containers/config_blob.hpp"
#include "common/task.hpp"
#include "engine/containers/service.hpp"
#include "broker/minibox/wire_values.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

namespace dockerbox::broker::containers {

namespace asio = boost::asio;

namespace {
/// How long start waits for miniboxd v0.19 to spawn a container it reported created.
constexpr std::chrono::seconds kSpawnWait{5};
}  // namespace

/// The outcome of one start, handed from the run's coroutine to the start request.
struct ContainerService::StartWaiter {
  explicit StartWaiter(asio::any_io_executor executor) : notifier(std::move(executor)) {}
  std::optional<Result<void>> outcome;
  Notifier notifier;
};

asio::awaitable<Result<void>> ContainerService::handleStartContainer(const Caller& who, const StartContainerOp& op,
                                                                     StreamSink&, Out out) {
  auto c = resolve(who, op.ref);
  if (!c) co_return c.error();
  auto started = co_await startRun(who, *c);
  if (!started) {
    // As dockerd: an AutoRemove container that fails to start is removed, so that a client
    // waiting for its removal (`docker run --rm`) is not left waiting forever.
    if (auto now = state_.getContainer(c->dockerId); now && now->autoRemove && now->state == state::ContainerState::Created) {
      removeRecord(*now);
    }
    co_return started.error();
  }
  out.setOk();
  co_return Result<void>();
}

asio::awaitable<Result<void>> ContainerService::startRun(const Caller& who, const state::Container& c) {
  auto live = live_.get(c.dockerId);
  if (isActive(c.state) || live->link != RunLink::None) {
    co_return fail(ErrorKind::NotModified, "container " + c.dockerId + " is already started");
  }
  if (c.state == state::ContainerState::Removing) {
    co_return fail(ErrorKind::Conflict, "removal of container " + c.dockerId + " is already in progress");
  }
  // A client's start begins the restart policy afresh, as Docker's does.
  if (auto reset = state_.resetRestarts(c.dockerId); !reset) co_return reset.error();
  live->restartDelay = std::chrono::milliseconds{0};
  co_return co_await launchRun(who, c, live, false);
}

asio::awaitable<Result<void>> ContainerService::launchRun(const Caller& who, const state::Container& c,
                                                          std::shared_ptr<LiveContainer> live, bool byPolicy) {
  live->link = RunLink::Starting;
  auto waiter = std::make_shared<StartWaiter>(executor_);
  // The run is not part of this request: it lives as long as the container, even when the
  // client that started it goes away. The monitor judges it (the policy again, confinement).
  asio::co_spawn(executor_, runContainer(who, c, live, waiter, byPolicy), logFailure("container run"));
  while (!waiter->outcome) {
    if (co_await waiter->notifier.wait() == WakeReason::Cancelled) {
      co_return fail(ErrorKind::Unavailable, "the client went away while the container was starting");
    }
  }
  co_return *waiter->outcome;
}

asio::awaitable<void> ContainerService::runContainer(Caller who, state::Container container,
                                                     std::shared_ptr<LiveContainer> live,
                                                     std::shared_ptr<StartWaiter> waiter, bool byPolicy) {
  const std::string dockerId = container.dockerId;
  bool created = false;
  auto finishStart = [&waiter](Result<void> outcome) {
    waiter->outcome.emplace(std::move(outcome));
    waiter->notifier.notifyAll();
  };
  RunHandlers handlers;
  handlers.onCreated = [&](std::string miniboxId) -> asio::awaitable<void> {
    // miniboxd v0.19 replies before it has spawned the process (protocol 8.3): an exec right
    // after `docker start` returned would find no pid. Docker's start returns a running
    // container, so wait (bounded) until miniboxd lists a pid.
    co_await awaitSpawned(miniboxId);
    created = true;
    live->link = RunLink::Held;
    live->miniboxId = miniboxId;
    if (auto running = state_.setRunning(dockerId, miniboxId, nowNanos()); !running) {
      spdlog::error("event=state_write_failed op=setRunning id={} error=\"{}\"", dockerId, running.error().context);
    }
    if (auto c = state_.getContainer(dockerId)) {
      bus_.publish(containerEvent(*c, "start"));
      startHealthChecks(*c, miniboxId);
    }
    live->changed.notifyAll();
    finishStart(Result<void>());
    co_return;
  };
  handlers.onPublished = [&](std::vector<BoundPort> ports) -> asio::awaitable<void> {
    live->ports = std::move(ports);
    co_return;
  };
  handlers.onOutput = [&](minibox::OutputStream stream, std::vector<std::uint8_t> data) -> asio::awaitable<void> {
    // miniboxd sends a Run's stdout and stderr through one pipe, labelled stdout (protocol
    // 8.5); a run through dockerbox-init without a Tty has them apart (monitor/run_io.hpp).
    const bool toStderr = stream == minibox::OutputStream::Stderr;
    OutputChunk chunk{live->nextChunkTime(), std::string(data.begin(), data.end()), toStderr};
    const auto logStream = toStderr ? state::LogStream::Stderr : state::LogStream::Stdout;
    if (auto stored = logs_.append(dockerId, logStream, chunk.bytes, chunk.timeNanos); !stored) {
      spdlog::warn("event=log_append_failed id={} error=\"{}\"", dockerId, stored.error().context);
    }
    live->publish(chunk);
    co_return;
  };
  Result<std::int32_t> exit = fail(ErrorKind::Internal, "internal error");
  try {
    SealedRecord record = sealedOf(container);  // named: g++ 12, see service_exec.cpp
    if (byPolicy) {
      exit = co_await monitor_.restartRun(std::move(record), std::move(handlers));
    } else {
      exit = co_await monitor_.run(who, std::move(record), std::move(handlers));
    }
  } catch (const std::exception& e) {
    exit = fail(ErrorKind::Internal, "internal error", std::string("run: ") + e.what());
  }
  live->ports.clear();  // the monitor took them back when the run ended
  if (!created) {
    live->link = RunLink::None;
    live->miniboxId.clear();
    live->changed.notifyAll();
    finishStart(exit ? Result<void>(fail(ErrorKind::Internal, "miniboxd ended the run before creating the container"))
                     : Result<void>(exit.error()));
    co_return;
  }
  if (exit) {
    containerExited(dockerId, minibox::dockerExitCode(*exit), false, "");
    co_return;
  }
  spdlog::warn("event=run_lost id={} error=\"{}\" context=\"{}\"", dockerId, exit.error().message,
               exit.error().context);
  co_await adoptOrForget(dockerId);
}

asio::awaitable<void> ContainerService::awaitSpawned(const std::string& miniboxId) {
  auto protocol = co_await monitor_.probe();
  if (!protocol || *protocol != minibox::Protocol::V019) co_return;
  // miniboxd offers no signal for the spawn but its List; it takes milliseconds.
  const auto deadline = std::chrono::steady_clock::now() + kSpawnWait;
  std::chrono::milliseconds delay{5};
  while (std::chrono::steady_clock::now() < deadline) {
    auto listed = co_await monitor_.list();
    if (!listed) co_return;  // the run itself will report what is wrong
    auto it = std::find_if(listed->begin(), listed->end(), [&](const auto& c) { return c.id == miniboxId; });
    if (it == listed->end() || it->pid || it->state != minibox::ContainerState::Created) co_return;
    asio::steady_timer timer(executor_, delay);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    delay = std::min(delay * 2, std::chrono::milliseconds(100));
  }
}

void ContainerService::containerExited(const std::string& dockerId, int exitCode, bool oomKilled,
                                       const std::string& error) {
  auto live = live_.get(dockerId);
  const std::int64_t now = nowNanos();
  live->link = RunLink::None;
  live->miniboxId.clear();
  stopHealthChecks(*live);
  ++live->exits;
  live->lastExitCode = exitCode;
  auto before = state_.getContainer(dockerId);
  if (auto exited = state_.setExited(dockerId, {exitCode, now, oomKilled, error}); !exited) {
    spdlog::error("event=state_write_failed op=setExited id={} error=\"{}\"", dockerId, exited.error().context);
  }
  if (before) {
    if (oomKilled) bus_.publish(containerEvent(*before, "oom"));
    const std::int64_t seconds = before->startedAt > 0 ? (now - before->startedAt) / 1'000'000'000 : 0;
    bus_.publish(containerEvent(*before, "die", {{"exitCode", std::to_string(exitCode)},
                                                 {"execDuration", std::to_string(seconds)}}));
  }
  spdlog::info("event=container_exited id={} exit_code={}", dockerId, exitCode);
  live->endRun(now);
  if (before && !live->restarting && !live->removed) {
    auto after = state_.getContainer(dockerId);
    const std::int64_t ran = before->startedAt > 0 ? now - before->startedAt : 0;
    if (after && scheduleRestart(*after, exitCode, ran, *live)) return;
  }
  if (before && before->autoRemove && !live->restarting) {
    if (auto after = state_.getContainer(dockerId)) removeRecord(*after);
  }
}

}  // namespace dockerbox::broker::containers
