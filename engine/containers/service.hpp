// Runs in the engine (dockerbox-engine, unprivileged). Input: validated requests only
// (after broker::decodeWorkerMessage), the identity the kernel reported for the caller, and
// miniboxd's replies.
//
// The container service: Docker's container, exec, event and image semantics on top of
// miniboxd and dockerbox's own durable state (issue 3). miniboxd has no create step, no
// names of its own we can use, no exit codes for detached runs and no logs; so:
// - create records the container in the StateStore only (state Created, a 64-hex id);
// - start runs it as an EPHEMERAL miniboxd Run that the broker holds for the container's
//   lifetime: its output is captured into the LogStore and fanned out to attach and
//   `logs -f`, its exit code is recorded the Docker way (signal N -> 128+N);
// - a container whose Run was lost (broker restart, miniboxd connection lost) is "adopted":
//   it stays Running while miniboxd lists it and its exit code comes from miniboxd's
//   `stopped` event on a permanent subscription; output after the loss is not captured.
//
// Threading: everything runs on the broker's single io_context thread. SQLite calls block
// that thread for the duration of one small transaction (acceptable at this size;
// TODO(soon): move state I/O off the io thread if latency under load demands it).
//
// Ownership (P7): every record and event carries the creator's uid/gid from `who`; the
// policy layer wrapped around dispatch decides who may see or touch what.
#pragma once

#include "engine/containers/event_bus.hpp"
#include "broker/containers/live.hpp"
#include "broker/containers/monitor_port.hpp"
#include "broker/containers/run_spec.hpp"
#include "broker/minibox/client.hpp"
#include "broker/caller.hpp"
#include "broker/request.hpp"
#include "engine/state/log_store.hpp"
#include "engine/state/state_store.hpp"
#include "broker/stream.hpp"
#include "common/result.hpp"
#include "ipc/dockerbox.capnp.h"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

namespace dockerbox::broker {
using ReplyBuilder = ipc::wire::Response::Result::Builder;
}  // namespace dockerbox::broker

namespace dockerbox::broker::containers {

/// RepoDigests, size, creation time and (with `withConfig`) the config bytes of an image
/// dockerbox pulled itself (service_images.cpp).
void fillImageRecord(const state::ImageRecord& record, ipc::wire::ImageSummary::Builder out, bool withConfig);
/// What the image's configuration gives a container created from it; nullopt if unreadable.
[[nodiscard]] std::optional<ImageDefaults> imageDefaultsOf(const state::ImageRecord& record);

struct ServiceOptions {
  /// "sha256:<64 hex>" for a miniboxd store name: the same ids `docker images` shows, so
  /// that a container's ImageID matches its image (compose compares them).
  std::function<std::string(std::string_view storeName)> imageId;
  /// How long stop, kill, restart and `rm -f` wait for the exit after miniboxd's Stop
  /// returned (Stop itself takes up to 2 s: SIGTERM, then SIGKILL).
  std::chrono::milliseconds exitWait{30'000};
  /// Back-off of the event subscription and of reconciliation while miniboxd is away.
  std::chrono::milliseconds retryMin{250};
  std::chrono::milliseconds retryMax{30'000};
  /// The monitor's volume directory (`<state dir>/volumes`), shown as volumes' Mountpoint.
  std::string volumesDir;
};

class ContainerService {
 public:
  ContainerService(boost::asio::any_io_executor executor, MonitorPort& monitor, state::StateStore& state,
                   state::LogStore& logs, ServiceOptions options = {});
  ~ContainerService();
  ContainerService(const ContainerService&) = delete;
  ContainerService& operator=(const ContainerService&) = delete;

  /// Opens the event log and starts the background work: the permanent miniboxd event
  /// subscription and start-up reconciliation (retried until miniboxd answers).
  [[nodiscard]] Result<void> start();
  /// One reconciliation pass: finishes interrupted removals, forgets running execs, and
  /// compares containers the state calls Running/Paused with miniboxd's List: still listed
  /// -> adopted (kept Running, exit code from events); gone -> Exited with code 255 (Docker's
  /// "unknown"). Containers are never forgotten.
  boost::asio::awaitable<Result<void>> reconcile();
  /// Passes of reconcile() that completed (tests wait for the first one).
  [[nodiscard]] std::uint64_t reconcilePasses() const { return reconcilePasses_; }
  EventBus& events() { return bus_; }

  using Out = ReplyBuilder;
  using Task = boost::asio::awaitable<Result<void>>;

  // Containers (service_create.cpp, service_run.cpp, service_lifecycle.cpp).
  Task handleCreateContainer(const Caller& who, const CreateContainerOp& op, StreamSink& sink, Out out);
  Task handleInspectContainer(const Caller& who, const InspectContainerOp& op, StreamSink& sink, Out out);
  Task handleListContainers(const Caller& who, const ListContainersOp& op, StreamSink& sink, Out out);
  Task handleRenameContainer(const Caller& who, const RenameContainerOp& op, StreamSink& sink, Out out);
  Task handleStartContainer(const Caller& who, const StartContainerOp& op, StreamSink& sink, Out out);
  Task handleStopContainer(const Caller& who, const StopContainerOp& op, StreamSink& sink, Out out);
  Task handleKillContainer(const Caller& who, const KillContainerOp& op, StreamSink& sink, Out out);
  Task handleRestartContainer(const Caller& who, const RestartContainerOp& op, StreamSink& sink, Out out);
  Task handlePauseContainer(const Caller& who, const PauseContainerOp& op, StreamSink& sink, Out out);
  Task handleUnpauseContainer(const Caller& who, const UnpauseContainerOp& op, StreamSink& sink, Out out);
  Task handleWaitContainer(const Caller& who, const WaitContainerOp& op, StreamSink& sink, Out out);
  Task handleRemoveContainer(const Caller& who, const RemoveContainerOp& op, StreamSink& sink, Out out);
  Task handleResizeContainer(const Caller& who, const ResizeContainerOp& op, StreamSink& sink, Out out);
  // Output (service_streams.cpp).
  Task handleContainerLogs(const Caller& who, const ContainerLogsOp& op, StreamSink& sink, Out out);
  Task handleAttachContainer(const Caller& who, const AttachContainerOp& op, StreamSink& sink, Out out);
  // Exec (service_exec.cpp).
  Task handleCreateExec(const Caller& who, const CreateExecOp& op, StreamSink& sink, Out out);
  Task handleStartExec(const Caller& who, const StartExecOp& op, StreamSink& sink, Out out);
  Task handleInspectExec(const Caller& who, const InspectExecOp& op, StreamSink& sink, Out out);
  Task handleResizeExec(const Caller& who, const ResizeExecOp& op, StreamSink& sink, Out out);
  // Events (service_events.cpp) and images (service_images.cpp).
  Task handleEvents(const Caller& who, const EventsOp& op, StreamSink& sink, Out out);
  Task handlePullImage(const Caller& who, const PullImageOp& op, StreamSink& sink, Out out);
  Task handleInspectImage(const Caller& who, const InspectImageOp& op, StreamSink& sink, Out out);
  Task handleRemoveImage(const Caller& who, const RemoveImageOp& op, StreamSink& sink, Out out);
  Task handleAuth(const Caller& who, const AuthOp& op, StreamSink& sink, Out out);
  // Volumes (service_volumes.cpp).
  Task handleListVolumes(const Caller& who, const ListVolumesOp& op, StreamSink& sink, Out out);
  Task handleCreateVolume(const Caller& who, const CreateVolumeOp& op, StreamSink& sink, Out out);
  Task handleInspectVolume(const Caller& who, const InspectVolumeOp& op, StreamSink& sink, Out out);
  Task handleRemoveVolume(const Caller& who, const RemoveVolumeOp& op, StreamSink& sink, Out out);
  Task handlePruneVolumes(const Caller& who, const PruneVolumesOp& op, StreamSink& sink, Out out);

 private:
  struct StartWaiter;

  // service_run.cpp
  boost::asio::awaitable<Result<void>> startRun(const Caller& who, const state::Container& container);
  /// Starts a run and waits until it is created or has failed. `byPolicy`: the container's
  /// restart policy asks, not `who` (the monitor's restartRun act, for the sealed owner).
  boost::asio::awaitable<Result<void>> launchRun(const Caller& who, const state::Container& container,
                                                 std::shared_ptr<LiveContainer> live, bool byPolicy);
  /// miniboxd v0.19 only: waits (bounded) until the container it just reported created has a
  /// process, so that a start returns a running container as Docker's does.
  boost::asio::awaitable<void> awaitSpawned(const std::string& miniboxId);
  boost::asio::awaitable<void> runContainer(Caller who, state::Container container,
                                            std::shared_ptr<LiveContainer> live, std::shared_ptr<StartWaiter> waiter,
                                            bool byPolicy);
  /// Records an exit (state, event `die`, waiters, taps) and applies the restart policy or
  /// AutoRemove. Synchronous, so no other coroutine observes a half-recorded exit.
  void containerExited(const std::string& dockerId, int exitCode, bool oomKilled, const std::string& error);
  // service_restart.cpp
  /// After an exit: whether the container's restart policy starts it again; if so it is
  /// Restarting now and its restart is scheduled after Docker's back-off.
  bool scheduleRestart(const state::Container& exited, int exitCode, std::int64_t ranNanos, LiveContainer& live);
  boost::asio::awaitable<void> restartAfter(std::shared_ptr<LiveContainer> live, std::uint64_t generation,
                                            std::chrono::milliseconds delay);
  /// A client stops the container: a restart its policy had planned will not happen.
  void cancelRestart(LiveContainer& live);
  /// Once, when the engine has reconciled after it started: containers whose policy is
  /// `always`, or `unless-stopped` and not stopped by a client, are started again (Docker
  /// does so when its daemon starts); so are those that were waiting to restart.
  void restartAtStartUp();
  // service_health.cpp
  /// Starts the health checks of the container's current run (`miniboxId`), if its config
  /// has one: State.Health begins at "starting".
  void startHealthChecks(const state::Container& container, const std::string& miniboxId);
  /// Ends the checks of the run that ended (the last status stays, as Docker's).
  void stopHealthChecks(LiveContainer& live);
  boost::asio::awaitable<void> healthLoop(std::shared_ptr<LiveContainer> live, std::uint64_t generation,
                                          SealedRecord record, std::string miniboxId, HealthProbe probe);
  void fillHealth(const LiveContainer& live, ipc::wire::Health::Builder out) const;
  // service_lifecycle.cpp
  /// Docker's stop: `signal`, then SIGKILL once `graceSeconds` have passed without an exit
  /// (negative: no limit; 0, or signal SIGKILL: at once); returns once the container exited.
  boost::asio::awaitable<Result<void>> stopAndWait(const Caller& stopper, const state::Container& container, int signal,
                                                   std::int32_t graceSeconds);
  /// Waits until the container exits (after `exitsBefore`) or is removed: false at the deadline.
  boost::asio::awaitable<Result<bool>> awaitExit(LiveContainer& live, std::uint64_t exitsBefore,
                                                 std::optional<std::chrono::steady_clock::time_point> deadline);
  /// Deletes the record and its logs, emits `destroy`, wakes `removed` waiters.
  void removeRecord(const state::Container& container);
  // reconcile.cpp
  boost::asio::awaitable<void> reconcileUntilDone();
  boost::asio::awaitable<void> watchMiniboxEvents();
  void onMiniboxEvent(const minibox::ContainerEvent& event);
  /// After a held Run failed: adopt the container if miniboxd still runs it, else record an
  /// unknown exit.
  boost::asio::awaitable<void> adoptOrForget(std::string dockerId);
  /// Sleeps for the current back-off and doubles it (up to retryMax).
  boost::asio::awaitable<void> backOff(std::chrono::milliseconds& delay);
  // service_streams.cpp
  /// Passes an attached client's stdin to the container's run, one chunk at a time (the
  /// container's reading paces the client), waiting for the run to start; the client's
  /// end of input closes the container's stdin when `stdinOnce`. Returns true when the
  /// client typed `detachKeys` (the container's stdin stays open); otherwise parks once the
  /// client's input is over, until cancelled (the output side ended).
  boost::asio::awaitable<bool> forwardInput(const Caller& who, state::Container container,
                                            std::shared_ptr<LiveContainer> live, bool stdinOnce,
                                            std::string detachKeys, StreamSink& sink);
  /// Streams a tap's output after `last` (unix nanos) until its run ends, `untilNanos`
  /// passes (0: never) or the client leaves; output the client did not ask for is skipped.
  boost::asio::awaitable<Result<void>> followOutput(const std::string& dockerId, OutputTap& tap, std::int64_t last,
                                                    bool wantStdout, bool wantStderr, std::int64_t untilNanos,
                                                    StreamSink& sink);

  // service_volumes.cpp
  /// Has the monitor make the volumes a new container mounts (named ones it may already
  /// have; anonymous ones named after the container) and records them.
  boost::asio::awaitable<Result<void>> createContainerVolumes(const Caller& who, const std::string& dockerId,
                                                              const RunConfig& config);
  /// Removes the anonymous volumes of a removed container (`docker rm -v`).
  boost::asio::awaitable<void> removeAnonymousVolumes(const Caller& who, const std::string& dockerId,
                                                      const state::Blob& config);
  /// The ids of the containers whose config mounts volume `name`.
  [[nodiscard]] Result<std::vector<std::string>> volumeUsers(const std::string& name);
  /// Removes one volume the caller can see: refused while a container mounts it.
  boost::asio::awaitable<Result<void>> removeVolume(const Caller& who, const std::string& name);
  void fillVolume(const state::VolumeRecord& volume, ipc::wire::Volume::Builder out) const;

  /// Docker's lookup among the containers the caller can see (P7): others answer 404.
  [[nodiscard]] Result<state::Container> resolve(const Caller& who, const ContainerRef& ref);
  /// An exec the caller can see: they can see its creator and its container.
  [[nodiscard]] Result<state::Exec> visibleExec(const Caller& who, const std::string& execId);
  /// A name conflict names the holder's id; when the caller cannot see the holder it says
  /// only that the name is taken.
  [[nodiscard]] Error hideInvisibleHolder(const Caller& who, Error conflict, std::string_view name);
  void fillSummary(const state::Container& container, ipc::wire::ContainerSummary::Builder out);
  /// miniboxd's image store names; nullopt where it cannot list them (v0.19).
  boost::asio::awaitable<Result<std::optional<std::vector<std::string>>>> storeImages();

  boost::asio::any_io_executor executor_;
  MonitorPort& monitor_;
  state::StateStore& state_;
  state::LogStore& logs_;
  ServiceOptions options_;
  LiveRegistry live_;
  EventBus bus_;
  std::uint64_t reconcilePasses_ = 0;
};

/// What the monitor is shown of a record (monitor_port.hpp).
[[nodiscard]] SealedRecord sealedOf(const state::Container& container);
[[nodiscard]] SealedRecord sealedOf(const state::Exec& exec);

/// Reads and drops the client's stdin until it half-closes, then parks until cancelled.
/// miniboxd cannot deliver input to a container or exec (protocol 7.10), but the channel's
/// inbox must be drained or the worker's later frames (including its cancel) would stall.
boost::asio::awaitable<void> drainInput(StreamSink& sink);

/// Hands one piece of the client's stdin to the program: the bytes, and whether its stdin
/// ends with them. An error stops the delivery (what follows is read and dropped).
using StdinDelivery =
    std::function<boost::asio::awaitable<Result<void>>(std::vector<std::uint8_t> data, bool close)>;

/// An attached client's stdin to `deliver` until the client ends it (which closes the
/// program's stdin when `closeAtEnd`) or types `detachKeys` (decode::detachKeySequence):
/// those are never passed on, and the program's stdin stays open. True on a detach;
/// otherwise parks once the input is over, until cancelled (the output side ended).
boost::asio::awaitable<bool> forwardStdin(StreamSink& sink, std::string detachKeys, bool closeAtEnd,
                                          StdinDelivery deliver);

/// How a stream whose output side ran against its stdin side (`output || input`, the input
/// true when the client typed its detach keys) ends: the input side finishes first only on
/// a detach (otherwise it is cancelled), which ends the stream as the output's end does.
[[nodiscard]] Result<void> endOfStream(std::variant<Result<void>, bool> ended, ReplyBuilder out);

/// Docker's answer for a container that is not running, e.g. for kill and exec.
[[nodiscard]] Error notRunning(std::string_view dockerId);
/// Running or Paused (a process exists).
[[nodiscard]] bool isActive(state::ContainerState s);

}  // namespace dockerbox::broker::containers
