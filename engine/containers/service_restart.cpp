// Runs in the engine (dockerbox-engine, unprivileged). Input: exits of containers and
// their stored configs (the restart policy a create asked for, sealed with it).
//
// Restart policies (`docker run --restart`), as dockerd's restart manager applies them:
// - `always` restarts after every exit, `unless-stopped` likewise, `on-failure[:N]` after a
//   non-zero exit while fewer than N restarts have happened (no limit without N);
// - never after a client stopped or killed the container (`docker stop`, `kill`, `rm -f`;
//   `docker restart` restarts it itself), nor after its removal;
// - the restart waits 100 ms, doubling after each restart up to one minute, back to 100 ms
//   after a run that lasted 10 s; meanwhile the container is Restarting (`docker ps`:
//   "Restarting (code) n seconds ago") and a stop calls the restart off;
// - when the engine starts, `always` containers and `unless-stopped` ones no client stopped
//   are started again, as dockerd starts them with the daemon.
// The engine only decides when. The run itself is the monitor's restartRun act: for the
// sealed owner, judged again under the policy in force now, audited, and only for a sealed
// config that has a restart policy (monitor_port.hpp).
#include "broker/containers/config_blob.hpp"
#include "common/task.hpp"
#include "engine/containers/service.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

namespace dockerbox::broker::containers {

namespace asio = boost::asio;

namespace {

constexpr std::chrono::milliseconds kFirstRestartDelay{100};
constexpr std::chrono::milliseconds kMaxRestartDelay{60'000};
/// A run that lasted this long was healthy: the next restart waits kFirstRestartDelay again.
constexpr std::int64_t kHealthyRunNanos = 10'000'000'000;

/// dockerd's decision (restartmanager.ShouldRestart) for one exit.
bool policyRestarts(const RunConfig& config, int exitCode, std::int64_t restartCount, bool manuallyStopped) {
  if (manuallyStopped) return false;
  const std::string& policy = config.restartPolicy;
  if (policy == "always" || policy == "unless-stopped") return true;
  if (policy == "on-failure") {
    return exitCode != 0 && (config.restartMaxRetries == 0 || restartCount < config.restartMaxRetries);
  }
  return false;
}

}  // namespace

bool ContainerService::scheduleRestart(const state::Container& exited, int exitCode, std::int64_t ranNanos,
                                       LiveContainer& live) {
  auto config = readRunConfig(exited.config);
  if (!config || !policyRestarts(*config, exitCode, exited.restartCount, exited.manuallyStopped)) return false;
  if (auto marked = state_.setRestarting(exited.dockerId); !marked) {
    spdlog::error("event=state_write_failed op=setRestarting id={} error=\"{}\"", exited.dockerId,
                  marked.error().context);
    return false;
  }
  using std::chrono::milliseconds;
  if (ranNanos >= kHealthyRunNanos || live.restartDelay == milliseconds{0}) {
    live.restartDelay = kFirstRestartDelay;
  } else {
    live.restartDelay = std::min(live.restartDelay * 2, kMaxRestartDelay);
  }
  const std::uint64_t generation = ++live.restartGeneration;
  spdlog::info("event=restart_scheduled id={} policy={} exit_code={} restart_count={} delay_ms={}", exited.dockerId,
               config->restartPolicy, exitCode, exited.restartCount + 1, live.restartDelay.count());
  asio::co_spawn(executor_, restartAfter(live_.get(exited.dockerId), generation, live.restartDelay),
                 logFailure("policy restart"));
  live.changed.notifyAll();
  return true;
}

asio::awaitable<void> ContainerService::restartAfter(std::shared_ptr<LiveContainer> live, std::uint64_t generation,
                                                     std::chrono::milliseconds delay) {
  auto timer = std::make_shared<asio::steady_timer>(executor_, delay);
  live->restartTimer = timer;
  boost::system::error_code ec;
  co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  if (live->restartTimer == timer) live->restartTimer.reset();
  if (live->removed || live->restartGeneration != generation || live->link != RunLink::None) co_return;
  auto c = state_.getContainer(live->dockerId);
  if (!c || c->state != state::ContainerState::Restarting) co_return;
  auto started = co_await launchRun(Caller{}, *c, live, true);
  if (started) co_return;
  // The monitor refused (the owner may no longer run it, the policy changed) or miniboxd
  // failed: the container stays stopped, saying why, and is not tried again.
  spdlog::warn("event=policy_restart_failed id={} error=\"{}\" context=\"{}\"", live->dockerId,
               started.error().message, started.error().context);
  auto now = state_.getContainer(live->dockerId);
  if (!now || now->state != state::ContainerState::Restarting) co_return;
  state::ExitStatus status{now->exitCode.value_or(0), now->finishedAt, now->oomKilled,
                           "restart policy: " + started.error().message};
  (void)state_.setExited(live->dockerId, status);
  live->changed.notifyAll();
}

void ContainerService::cancelRestart(LiveContainer& live) {
  ++live.restartGeneration;
  if (live.restartTimer) live.restartTimer->cancel();
  live.restartTimer.reset();
  if (auto cancelled = state_.cancelRestart(live.dockerId); !cancelled) {
    spdlog::error("event=state_write_failed op=cancelRestart id={} error=\"{}\"", live.dockerId,
                  cancelled.error().context);
  }
  live.changed.notifyAll();
}

void ContainerService::restartAtStartUp() {
  auto all = state_.listContainers();
  if (!all) {
    spdlog::error("event=restart_at_start_failed error=\"{}\"", all.error().context);
    return;
  }
  for (const auto& c : *all) {
    auto live = live_.get(c.dockerId);
    if (live->link != RunLink::None || live->restartTimer) continue;
    const bool waiting = c.state == state::ContainerState::Restarting;
    if (!waiting && c.state != state::ContainerState::Exited) continue;
    auto config = readRunConfig(c.config);
    if (!config) continue;
    const bool again = waiting || config->restartPolicy == "always" ||
                       (config->restartPolicy == "unless-stopped" && !c.manuallyStopped);
    if (!again || config->restartPolicy.empty()) continue;
    if (!waiting) {
      if (auto marked = state_.setRestarting(c.dockerId); !marked) continue;
    }
    spdlog::info("event=restart_at_start id={} policy={}", c.dockerId, config->restartPolicy);
    asio::co_spawn(executor_, restartAfter(live, ++live->restartGeneration, std::chrono::milliseconds{0}),
                   logFailure("policy restart"));
  }
}

}  // namespace dockerbox::broker::containers
