// Runs in the engine (dockerbox-engine, unprivileged). Input: miniboxd's container list and
// event stream (trusted peer, decoded by the minibox codec) and dockerbox's own state.
//
// After a broker restart (or a lost Run connection) the ephemeral Runs that carried output
// and exit codes are gone, while miniboxd may still run the containers. Reconciliation
// compares the state with miniboxd's List:
// - still listed Running/Paused: the container is adopted. It stays Running; its exit code
//   arrives as miniboxd's `stopped` event on the permanent subscription below. Its output
//   from then on is not captured (miniboxd keeps no logs of a Run nobody reads).
// - not listed: it ended while nobody watched. It is marked Exited with 255, Docker's code
//   for an unknown status, and an Error saying why; never forgotten.
// The subscription is opened before the first List; an exit that happens in the short time
// before miniboxd registers the subscription is recorded as 255 too.
#include "engine/containers/service.hpp"
#include "broker/minibox/wire_values.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

namespace dockerbox::broker::containers {

namespace asio = boost::asio;

namespace {

constexpr int kUnknownExitCode = 255;
constexpr const char* kLostStatus = "dockerbox lost the container's exit status (its miniboxd run ended unobserved)";
/// A subscription that lasted this long was healthy: the next failure retries quickly.
constexpr std::chrono::seconds kHealthySubscription{10};

bool alive(minibox::ContainerState s) {
  return s == minibox::ContainerState::Running || s == minibox::ContainerState::Paused;
}

}  // namespace

asio::awaitable<void> ContainerService::backOff(std::chrono::milliseconds& delay) {
  asio::steady_timer timer(executor_, delay);
  boost::system::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  delay = std::min(delay * 2, options_.retryMax);
}

asio::awaitable<Result<void>> ContainerService::reconcile() {
  auto listed = co_await monitor_.list();
  if (!listed) co_return listed.error();
  // Read after the List: a container started meanwhile is Held and skipped below.
  auto candidates = state_.containersNeedingReconcile();
  if (!candidates) co_return candidates.error();
  for (const auto& c : *candidates) {
    auto live = live_.get(c.dockerId);
    if (live->link == RunLink::Held || live->link == RunLink::Starting) continue;
    // Waiting for its restart policy: no process to find (restartAtStartUp starts it).
    if (c.state == state::ContainerState::Restarting && live->link == RunLink::None) continue;
    const minibox::ContainerInfo* info = nullptr;
    for (const auto& candidate : *listed) {
      if (c.miniboxId && candidate.id == *c.miniboxId && alive(candidate.state)) info = &candidate;
    }
    if (info == nullptr) {
      spdlog::info("event=reconcile_lost id={} minibox_id={}", c.dockerId, c.miniboxId.value_or(""));
      containerExited(c.dockerId, kUnknownExitCode, false, kLostStatus);
      continue;
    }
    live->link = RunLink::Adopted;
    live->miniboxId = info->id;
    const bool paused = info->state == minibox::ContainerState::Paused;
    if (paused && c.state != state::ContainerState::Paused) (void)state_.setPaused(c.dockerId);
    if (!paused && c.state != state::ContainerState::Running) (void)state_.setUnpaused(c.dockerId);
    spdlog::info("event=reconcile_adopted id={} minibox_id={}", c.dockerId, info->id);
    // Checks already running (a later pass after lost events) go on; after a start they begin.
    if (live->healthGeneration == 0) startHealthChecks(c, info->id);
  }
  if (reconcilePasses_ == 0) restartAtStartUp();
  ++reconcilePasses_;
  co_return Result<void>();
}

asio::awaitable<void> ContainerService::reconcileUntilDone() {
  auto delay = options_.retryMin;
  for (;;) {
    auto done = co_await reconcile();
    if (done) co_return;
    spdlog::warn("event=reconcile_failed error=\"{}\" retry_ms={}", done.error().message, delay.count());
    co_await backOff(delay);
  }
}

asio::awaitable<void> ContainerService::watchMiniboxEvents() {
  auto delay = options_.retryMin;
  for (;;) {
    const auto since = std::chrono::steady_clock::now();
    // Named and typed as the parameter: g++ 12 mishandles a coroutine argument converted
    // from a temporary of another type (see service_exec.cpp).
    minibox::EventHandler onEvent = [this](minibox::ContainerEvent event) -> asio::awaitable<void> {
      onMiniboxEvent(event);
      co_return;
    };
    auto ended = co_await monitor_.subscribeEvents(onEvent);
    if (std::chrono::steady_clock::now() - since > kHealthySubscription) delay = options_.retryMin;
    spdlog::warn("event=minibox_events_lost error=\"{}\" retry_ms={}", ended ? "" : ended.error().message,
                 delay.count());
    co_await backOff(delay);
    // Exits of adopted containers may have happened while unsubscribed.
    if (reconcilePasses_ > 0) co_await reconcileUntilDone();
  }
}

void ContainerService::onMiniboxEvent(const minibox::ContainerEvent& event) {
  if (event.kind != minibox::EventKind::Stopped && event.kind != minibox::EventKind::OomKilled) return;
  auto found = state_.findByMiniboxId(event.id);
  if (!found || !*found) return;
  const state::Container& c = **found;
  auto live = live_.get(c.dockerId);
  // A held Run reports its own exit (with the output before it); only adopted containers
  // (and ones reconciliation has not reached yet) learn theirs here.
  if (live->link == RunLink::Held || live->link == RunLink::Starting) return;
  // Not running, or between two runs of its restart policy (this is the last run's end).
  if (!isActive(c.state) || c.state == state::ContainerState::Restarting) return;
  const bool oom = event.kind == minibox::EventKind::OomKilled;
  // An OOM kill is SIGKILL: 137, as Docker reports it.
  const int code = oom ? 137 : minibox::dockerExitCode(event.exitCode.value_or(-1));
  containerExited(c.dockerId, code, oom, "");
}

asio::awaitable<void> ContainerService::adoptOrForget(std::string dockerId) {
  auto live = live_.get(dockerId);
  // Adopted before asking, so that a `stopped` event arriving meanwhile is recorded.
  live->link = RunLink::Adopted;
  auto c = state_.getContainer(dockerId);
  if (!c) co_return;
  auto listed = co_await monitor_.list();
  if (live->link != RunLink::Adopted) co_return;  // the event came first
  if (!listed) co_return;  // miniboxd is away: reconciliation decides when it is back
  for (const auto& info : *listed) {
    if (c->miniboxId && info.id == *c->miniboxId && alive(info.state)) {
      live->miniboxId = info.id;
      spdlog::info("event=run_adopted id={} minibox_id={}", dockerId, info.id);
      co_return;
    }
  }
  containerExited(dockerId, kUnknownExitCode, false, kLostStatus);
}

}  // namespace dockerbox::broker::containers
