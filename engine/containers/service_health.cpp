// Runs in the engine (dockerbox-engine, unprivileged). Input: the health check of a
// container's stored config, and the exit code and output (bytes the container's check
// wrote, unparsed but for UTF-8 repair and truncation) of each check the monitor ran.
//
// Docker's health checks (HEALTHCHECK, --health-*): while a container runs, its check runs
// every Interval (StartInterval while within StartPeriod), each ended by dockerbox-init at
// Timeout; State.Health starts "starting", becomes "healthy" at the first success and
// "unhealthy" after Retries failures in a row (failures within StartPeriod do not count),
// keeps the last five results, and each change of status is a `health_status: <status>`
// event. The engine only chooses when: the monitor's healthCheck act runs the sealed
// config's command, confined as an exec of the owner (monitor_port.hpp).
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

/// `bytes` as valid UTF-8: every byte that does not start a well-formed sequence becomes
/// U+FFFD, as Go's JSON encoder shows such output.
std::string validUtf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  std::size_t i = 0;
  while (i < bytes.size()) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    std::size_t length = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    bool good = length != 0 && i + length <= bytes.size();
    for (std::size_t k = 1; good && k < length; ++k) {
      good = (static_cast<unsigned char>(bytes[i + k]) & 0xc0) == 0x80;
    }
    if (good && length > 1) {
      // No overlong forms, no surrogates, nothing above U+10FFFF.
      std::uint32_t cp = c & (0xff >> (length + 1));
      for (std::size_t k = 1; k < length; ++k) cp = (cp << 6) | (static_cast<unsigned char>(bytes[i + k]) & 0x3f);
      static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
      good = cp >= kMin[length] && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
    }
    if (good) {
      out.append(bytes.substr(i, length));
      i += length;
    } else {
      out.append("\xef\xbf\xbd");
      ++i;
    }
  }
  return out;
}

std::string secondsText(std::chrono::nanoseconds d) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace

void ContainerService::startHealthChecks(const state::Container& c, const std::string& miniboxId) {
  auto config = readRunConfig(c.config);
  if (!config) return;
  auto probe = healthProbeOf(*config);
  if (!probe) return;
  auto live = live_.get(c.dockerId);
  live->health.status = "starting";
  live->health.failingStreak = 0;
  const std::uint64_t generation = ++live->healthGeneration;
  asio::co_spawn(executor_, healthLoop(live, generation, sealedOf(c), miniboxId, std::move(*probe)),
                 logFailure("health checks"));
}

void ContainerService::stopHealthChecks(LiveContainer& live) {
  ++live.healthGeneration;
  if (live.healthTimer) live.healthTimer->cancel();
  live.healthTimer.reset();
}

asio::awaitable<void> ContainerService::healthLoop(std::shared_ptr<LiveContainer> live, std::uint64_t generation,
                                                   SealedRecord record, std::string miniboxId, HealthProbe probe) {
  const auto runStarted = std::chrono::steady_clock::now();
  auto current = [&] { return live->healthGeneration == generation && !live->removed; };
  while (current()) {
    const bool inStartPeriod = std::chrono::steady_clock::now() - runStarted < probe.startPeriod;
    auto timer = std::make_shared<asio::steady_timer>(executor_, inStartPeriod ? probe.startInterval : probe.interval);
    live->healthTimer = timer;
    boost::system::error_code ec;
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!current()) co_return;
    auto c = state_.getContainer(live->dockerId);
    if (!c) co_return;
    if (c->state == state::ContainerState::Paused) continue;  // as Docker: no checks while paused
    if (c->state != state::ContainerState::Running || c->miniboxId != miniboxId) co_return;
    HealthResult result;
    result.startNanos = nowNanos();
    const auto began = std::chrono::steady_clock::now();
    // As dockerd: a failure counts unless the check began within the start period.
    const bool beganInStartPeriod = began - runStarted < probe.startPeriod;
    std::string output;
    minibox::OutputHandler onOutput = [&output](minibox::OutputStream,
                                                std::vector<std::uint8_t> data) -> asio::awaitable<void> {
      const std::size_t room = kHealthOutputBytes - std::min(output.size(), kHealthOutputBytes);
      output.append(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(std::min(room, data.size())));
      co_return;
    };
    // Named arguments: g++ 12 and coroutine arguments from temporaries (service_exec.cpp).
    SealedRecord sealed = record;
    std::string target = miniboxId;
    auto exit = co_await monitor_.healthCheck(std::move(sealed), std::move(target), onOutput);
    if (!current()) co_return;
    result.endNanos = nowNanos();
    if (std::chrono::steady_clock::now() - began > probe.timeout) {
      result.exitCode = -1;
      result.output = "Health check exceeded timeout (" + secondsText(probe.timeout) + ")";
    } else if (!exit) {
      result.exitCode = -1;
      result.output = validUtf8(exit.error().message);
    } else {
      result.exitCode = *exit == 0 ? 0 : (*exit < 0 ? -1 : *exit);
      result.output = validUtf8(output);
    }
    // Docker's handleProbeResult.
    HealthState& health = live->health;
    const std::string before = health.status;
    if (result.exitCode == 0) {
      health.failingStreak = 0;
      health.status = "healthy";
    } else if (!(health.status == "starting" && beganInStartPeriod)) {
      ++health.failingStreak;
      if (health.failingStreak >= probe.retries) health.status = "unhealthy";
    }
    health.log.push_back(std::move(result));
    while (health.log.size() > kHealthLogEntries) health.log.pop_front();
    if (health.status != before) {
      spdlog::info("event=health_status id={} status={}", live->dockerId, health.status);
      if (auto now = state_.getContainer(live->dockerId)) {
        bus_.publish(containerEvent(*now, "health_status: " + health.status));
      }
    }
  }
}

void ContainerService::fillHealth(const LiveContainer& live, ipc::wire::Health::Builder out) const {
  out.setStatus(live.health.status);
  out.setFailingStreak(live.health.failingStreak);
  auto log = out.initLog(static_cast<unsigned>(live.health.log.size()));
  for (unsigned i = 0; i < live.health.log.size(); ++i) {
    const HealthResult& r = live.health.log[i];
    log[i].setStartNanos(r.startNanos);
    log[i].setEndNanos(r.endNanos);
    log[i].setExitCode(r.exitCode);
    log[i].setOutput(r.output);
  }
}

}  // namespace dockerbox::broker::containers
