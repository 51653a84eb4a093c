// Runs as root. Input: validated start requests, and miniboxd's replies on the ephemeral Run
// the broker holds for each running container (ContainerCreated, output chunks written by
// the container process, ContainerStopped).
#include "broker/containers/config_blob.hpp"
#include "broker/containers/confinement.hpp"
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
  if (!options_.rejudge) co_return fail(ErrorKind::Forbidden, "denied by policy: no policy to judge the container with");
  auto grants = options_.rejudge(who, c);
  if (!grants) co_return grants.error();
  // The confinement comes from the rule that judged the stored config just now, never from
  // the record itself.
  const Caller judged(who, who.visibility, *grants);
  auto config = readRunConfig(c.config);
  if (!config) co_return config.error();
  // A refused bind mount is learned from miniboxd's answer; a caller whose rule allows
  // unconfined runs then gets one, once.
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool refusedBefore = bindMountsRefused_;
    auto spec = co_await runSpecFor(judged, c, *config, *live);
    if (!spec) co_return spec.error();
    const std::size_t pinned = live->confinement == RunConfinement::Init ? config->binds.size() : 0;
    live->link = RunLink::Starting;
    auto waiter = std::make_shared<StartWaiter>(executor_);
    // The run is not part of this request: it lives as long as the container, even when the
    // client that started it goes away.
    asio::co_spawn(executor_, runContainer(c.dockerId, std::move(*spec), live, waiter, pinned), asio::detached);
    while (!waiter->outcome) {
      if (co_await waiter->notifier.wait() == WakeReason::Cancelled) {
        co_return fail(ErrorKind::Unavailable, "the client went away while the container was starting");
      }
    }
    if (*waiter->outcome || refusedBefore || !bindMountsRefused_) co_return *waiter->outcome;
    if (judged.grants.privileged != policy::Privileged::Allowed) co_return cannotConfine();
  }
  co_return cannotConfine();
}

asio::awaitable<bool> ContainerService::canConfine() {
  if (options_.initPath.empty() || bindMountsRefused_) co_return false;
  auto protocol = co_await minibox_.probe();
  co_return protocol && *protocol == minibox::Protocol::Head;
}

Error ContainerService::cannotConfine() const {
  return fail(ErrorKind::Forbidden,
              "denied by policy: dockerbox cannot confine containers on this miniboxd (it needs miniboxd 0.28.6 or "
              "later started with MINIBOX_ALLOW_BIND_MOUNTS=1 to mount dockerbox-init" +
                  std::string(options_.initPath.empty() ? ", and dockerbox-init installed" : "") +
                  "); until the administrator enables that, only callers whose policy rule sets privileged = true "
                  "may run containers or execs");
}

asio::awaitable<Result<minibox::RunSpec>> ContainerService::runSpecFor(const Caller& judged, const state::Container& c,
                                                                       const RunConfig& config, LiveContainer& live) {
  const bool mayRunUnconfined = judged.grants.privileged == policy::Privileged::Allowed;
  // --privileged gets what miniboxd gives (the policy allows it only with `privileged`); so
  // does any container of such a caller where miniboxd cannot take the init.
  if (config.privileged || !co_await canConfine()) {
    if (!mayRunUnconfined) co_return cannotConfine();
    if (!config.privileged) {
      spdlog::warn("event=unconfined_run id={} uid={} reason=\"miniboxd cannot take dockerbox-init\"", c.dockerId,
                   judged.uid);
    }
    // Mounted by path: between create and start the creator had all the time in the world
    // to swap a directory they own on a bind's path for a symlink, so check it again.
    for (const auto& b : config.binds) {
      if (!options_.bindStillValid || !options_.bindStillValid(b.hostPath, b.readOnly, judged)) {
        co_return fail(ErrorKind::Forbidden, "denied by policy: the bind source for " + b.containerPath +
                                                 " changed since the container was created, or is no longer "
                                                 "accessible to you; re-create the container");
      }
    }
    live.confinement = RunConfinement::Unconfined;
    co_return runSpecOf(config);
  }
  auto confinement = runConfinement(config, judged, c.dockerId);
  if (!confinement) co_return confinement.error();
  InitPlacement placement{options_.initPath, {}};
  if (!config.binds.empty()) {
    if (!options_.pinBinds) co_return fail(ErrorKind::Forbidden, "denied by policy: bind mounts cannot be pinned here");
    auto pinned = options_.pinBinds(c.dockerId, config.binds, judged);
    if (!pinned) co_return pinned.error();
    placement.pinnedSources = std::move(*pinned);
  }
  auto spec = confinedRunSpecOf(config, std::move(*confinement), placement);
  if (!spec) {
    if (options_.unpinBinds && !config.binds.empty()) options_.unpinBinds(c.dockerId, config.binds.size());
    co_return spec.error();
  }
  live.confinement = RunConfinement::Init;
  co_return spec;
}

asio::awaitable<void> ContainerService::runContainer(std::string dockerId, minibox::RunSpec spec,
                                                     std::shared_ptr<LiveContainer> live,
                                                     std::shared_ptr<StartWaiter> waiter, std::size_t pinned) {
  bool created = false;
  // miniboxd has mounted the pinned sources into the container's own namespace once it
  // reports the container created (or has given up): the host side is no longer needed.
  auto unpin = [&] {
    if (pinned > 0 && options_.unpinBinds) options_.unpinBinds(dockerId, pinned);
    pinned = 0;
  };
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
    unpin();
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
  unpin();
  if (!created) {
    if (!exit && exit.error().message.find("bind mounts are not allowed") != std::string::npos) {
      bindMountsRefused_ = true;  // startRun explains it, or runs unconfined where allowed
      spdlog::warn("event=bind_mounts_refused id={} error=\"{}\"", dockerId, exit.error().message);
    }
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
