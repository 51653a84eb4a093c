// Runs as root. Input: validated start requests, and miniboxd's replies on the ephemeral Run
// the broker holds for each running container (ContainerCreated, output chunks written by
// the container process, ContainerStopped).
#include "broker/containers/config_blob.hpp"
#include "broker/containers/run_spec.hpp"
#include "broker/containers/service.hpp"
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
  if (!started) co_return started.error();
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
  if (!options_.rejudge) co_return fail(ErrorKind::Forbidden, "denied by policy: no policy to judge the container with");
  if (auto judged = options_.rejudge(who, c); !judged) co_return judged.error();
  auto config = readRunConfig(c.config);
  if (!config) co_return config.error();
  auto spec = runSpecOf(*config);
  if (!spec) co_return spec.error();
  // Between create and start the creator had all the time in the world to swap a directory
  // they own on a bind's path for a symlink: what is mounted must still be what was judged.
  for (const auto& b : config->binds) {
    if (!options_.bindStillValid || !options_.bindStillValid(b.hostPath, b.readOnly, who)) {
      co_return fail(ErrorKind::Forbidden, "denied by policy: the bind source for " + b.containerPath +
                                               " changed since the container was created, or is no longer "
                                               "accessible to you; re-create the container");
    }
  }
  live->link = RunLink::Starting;
  auto waiter = std::make_shared<StartWaiter>(executor_);
  // The run is not part of this request: it lives as long as the container, even when the
  // client that started it goes away.
  asio::co_spawn(executor_, runContainer(c.dockerId, std::move(*spec), live, waiter), asio::detached);
  while (!waiter->outcome) {
    if (co_await waiter->notifier.wait() == WakeReason::Cancelled) {
      co_return fail(ErrorKind::Unavailable, "the client went away while the container was starting");
    }
  }
  co_return *waiter->outcome;
}

asio::awaitable<void> ContainerService::runContainer(std::string dockerId, minibox::RunSpec spec,
                                                     std::shared_ptr<LiveContainer> live,
                                                     std::shared_ptr<StartWaiter> waiter) {
  bool created = false;
  auto finishStart = [&waiter](Result<void> outcome) {
    waiter->outcome = std::move(outcome);
    waiter->notifier.notifyAll();
  };
  // Both handlers run inside runEphemeral below, so capturing this frame is safe. They are
  // typed as its parameters: g++ 12 mishandles a coroutine argument converted from a
  // temporary of another type (see service_exec.cpp).
  minibox::CreatedHandler onCreated = [&](std::string miniboxId) -> asio::awaitable<void> {
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
    if (auto c = state_.getContainer(dockerId)) bus_.publish(containerEvent(*c, "start"));
    live->changed.notifyAll();
    finishStart(Result<void>());
    co_return;
  };
  minibox::OutputHandler onOutput = [&](minibox::OutputStream, std::vector<std::uint8_t> data) -> asio::awaitable<void> {
    // miniboxd sends a Run's stdout and stderr through one pipe, labelled stdout (protocol
    // 8.5): dockerbox cannot tell them apart and records everything as stdout.
    OutputChunk chunk{live->nextChunkTime(), std::string(data.begin(), data.end())};
    if (auto stored = logs_.append(dockerId, state::LogStream::Stdout, chunk.bytes, chunk.timeNanos); !stored) {
      spdlog::warn("event=log_append_failed id={} error=\"{}\"", dockerId, stored.error().context);
    }
    live->publish(chunk);
    co_return;
  };
  Result<std::int32_t> exit = fail(ErrorKind::Internal, "internal error");
  try {
    exit = co_await minibox_.runEphemeral(std::move(spec), onCreated, onOutput);
  } catch (const std::exception& e) {
    exit = fail(ErrorKind::Internal, "internal error", std::string("run: ") + e.what());
  }
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
  auto protocol = co_await minibox_.probe();
  if (!protocol || *protocol != minibox::Protocol::V019) co_return;
  // miniboxd offers no signal for the spawn but its List; it takes milliseconds.
  const auto deadline = std::chrono::steady_clock::now() + kSpawnWait;
  std::chrono::milliseconds delay{5};
  while (std::chrono::steady_clock::now() < deadline) {
    auto listed = co_await minibox_.list();
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
  if (before && before->autoRemove && !live->restarting) {
    if (auto after = state_.getContainer(dockerId)) removeRecord(*after);
  }
}

}  // namespace dockerbox::broker::containers
