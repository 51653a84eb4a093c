// Runs as root, in the broker. Input: container output bytes (arbitrary, written by
// container processes) passed through to subscribers; nothing here parses them.
//
// What the broker knows about a container beyond its durable record: whether it holds the
// container's miniboxd run, the taps of clients following its output (attach, logs -f), and
// a Notifier for waiters (wait, stop, exec). Kept only in memory; the durable facts (state,
// exit code, times) are in the StateStore.
#pragma once

#include "broker/containers/notifier.hpp"
#include "broker/containers/ports.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace dockerbox::broker::containers {

/// One piece of captured output, timestamped strictly increasingly per container so that a
/// follower can tell exactly which chunks it has delivered (see OutputTap).
struct OutputChunk {
  std::int64_t timeNanos = 0;
  std::string bytes;
  bool stderrStream = false;  // written to stderr (runs through dockerbox-init without a Tty)
};

/// Chunks queued per tap before it is marked lagging. A tap never blocks the container: a
/// follower that falls this far behind re-reads the missed output from the LogStore (which
/// has every chunk), so nothing is lost and no client can stall a container or grow the
/// broker's memory beyond ~1 MiB per tap (miniboxd's chunks are at most 4 KiB).
inline constexpr std::size_t kTapQueueChunks = 256;

/// One client following a container's output. The producer (the container's run) pushes;
/// the consumer (a logs or attach handler) drains. Ends at the first run end after the tap
/// was opened, or when the container is removed.
class OutputTap {
 public:
  explicit OutputTap(boost::asio::any_io_executor executor) : notifier_(std::move(executor)) {}

  // Producer side.
  void push(const OutputChunk& chunk);
  /// The run this tap follows ended at `atNanos` (the first call wins).
  void endRun(std::int64_t atNanos);

  // Consumer side.
  [[nodiscard]] std::deque<OutputChunk>& queue() { return queue_; }
  /// The producer dropped chunks since the last clearLagged(): re-read them from the LogStore.
  [[nodiscard]] bool lagged() const { return lagged_; }
  void clearLagged() { lagged_ = false; }
  [[nodiscard]] std::optional<std::int64_t> endedAt() const { return endedAt_; }
  Notifier& notifier() { return notifier_; }

 private:
  std::deque<OutputChunk> queue_;
  bool lagged_ = false;
  std::optional<std::int64_t> endedAt_;
  Notifier notifier_;
};

/// How the broker is connected to the container's current miniboxd process.
enum class RunLink {
  None,      // not running (as far as the broker knows)
  Starting,  // Run sent, ContainerCreated not yet received
  Held,      // the broker holds the ephemeral Run: output and exit code arrive on it
  Adopted,   // running, but its Run was lost (broker restart, connection loss): the exit
             // code comes from miniboxd's `stopped` event; output is no longer captured
};

/// How a run reached miniboxd (the monitor's record of it): an exec goes the same way.
/// Unknown for a run the monitor no longer holds (its execs then go through the init, which
/// fails closed if the run had none).
enum class RunConfinement { Unknown, Init, Unconfined };

/// One health check's result (State.Health.Log).
struct HealthResult {
  std::int64_t startNanos = 0;
  std::int64_t endNanos = 0;
  int exitCode = 0;    // -1: it did not run, or it exceeded its timeout
  std::string output;  // at most kHealthOutputBytes, valid UTF-8
};

/// State.Health, kept in memory by the engine (engine/containers/service_health.cpp).
struct HealthState {
  std::string status;  // "" (no check ran since the engine started), "starting", "healthy", "unhealthy"
  int failingStreak = 0;
  std::deque<HealthResult> log;  // the last kHealthLogEntries, oldest first
};
inline constexpr std::size_t kHealthLogEntries = 5;
inline constexpr std::size_t kHealthOutputBytes = 4096;

struct LiveContainer {
  LiveContainer(boost::asio::any_io_executor executor, std::string id)
      : dockerId(std::move(id)), changed(std::move(executor)) {}

  std::string dockerId;
  RunLink link = RunLink::None;
  std::string miniboxId;  // while link is Starting..Adopted
  /// Wakes waiters on start, exit, pause, removal.
  Notifier changed;
  std::uint64_t exits = 0;          // runs that ended since the broker started
  std::optional<int> lastExitCode;  // Docker's convention
  bool removed = false;
  /// A restart is stopping the container: its exit must not trigger AutoRemove (Docker
  /// keeps a restarted --rm container).
  bool restarting = false;
  /// The restart policy's (engine/containers/service_restart.cpp): the back-off before the
  /// next restart, and the pending restart while the container is Restarting (bumping the
  /// generation and cancelling the timer calls it off).
  std::chrono::milliseconds restartDelay{0};
  std::uint64_t restartGeneration = 0;
  std::shared_ptr<boost::asio::steady_timer> restartTimer;
  /// Health checks: the state, and the loop of the current run (bumping the generation and
  /// cancelling the timer ends it).
  std::vector<BoundPort> ports;  // published ports of the run the monitor holds
  HealthState health;
  std::uint64_t healthGeneration = 0;
  std::shared_ptr<boost::asio::steady_timer> healthTimer;
  std::vector<OutputTap*> taps;

  /// A chunk time strictly after every earlier one of this container (wall clock based).
  std::int64_t nextChunkTime();
  /// A time that every chunk published so far is at or before and every later chunk is
  /// after: where a tap opened now starts.
  [[nodiscard]] std::int64_t followFrom() const;
  void publish(const OutputChunk& chunk);
  /// Ends every tap's run and wakes waiters.
  void endRun(std::int64_t atNanos);

 private:
  std::int64_t lastChunkNanos_ = 0;
};

/// Registers a tap with a container for the lifetime of this object.
class TapSubscription {
 public:
  TapSubscription(std::shared_ptr<LiveContainer> live, boost::asio::any_io_executor executor);
  ~TapSubscription();
  TapSubscription(const TapSubscription&) = delete;
  TapSubscription& operator=(const TapSubscription&) = delete;
  OutputTap& tap() { return tap_; }

 private:
  std::shared_ptr<LiveContainer> live_;
  OutputTap tap_;
};

/// The LiveContainer of every container the broker has touched since it started, by Docker
/// id. Entries are dropped at removal; waiters keep theirs alive through the shared_ptr.
class LiveRegistry {
 public:
  explicit LiveRegistry(boost::asio::any_io_executor executor) : executor_(std::move(executor)) {}
  std::shared_ptr<LiveContainer> get(const std::string& dockerId);
  /// The entry if there is one (nullptr otherwise); makes none.
  [[nodiscard]] std::shared_ptr<LiveContainer> find(const std::string& dockerId) const;
  void erase(const std::string& dockerId);

 private:
  boost::asio::any_io_executor executor_;
  std::map<std::string, std::shared_ptr<LiveContainer>> entries_;
};

/// Unix nanoseconds now (the broker's wall clock).
std::int64_t nowNanos();

}  // namespace dockerbox::broker::containers
