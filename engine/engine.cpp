#include "engine/engine.hpp"

#include <map>

#include "broker/audit/sha256.hpp"
#include "broker/minibox/image_ref.hpp"

#include <variant>

namespace dockerbox::engine {

namespace asio = boost::asio;
using broker::containers::ContainerService;
using namespace broker;  // the operation types

namespace {

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

template <class Op>
using ServiceHandler = asio::awaitable<Result<void>> (ContainerService::*)(const Caller&, const Op&, StreamSink&,
                                                                           ReplyBuilder);

/// Runs a container-service handler; without dockerbox's state there is none to run.
template <class Op>
asio::awaitable<Result<void>> viaContainers(ContainerService* service, ServiceHandler<Op> handler, const Caller& who,
                                            const Op& op, StreamSink& sink, ReplyBuilder out) {
  if (service == nullptr) co_return fail(ErrorKind::Unavailable, "dockerbox's state is not open");
  co_return co_await (service->*handler)(who, op, sink, out);
}

/// A stable id for `docker info`'s ID: derived from the host name and the state directory,
/// in the UUID-like shape dockerd uses.
std::string engineId(const std::string& hostname, const std::string& stateDir) {
  auto h = audit::sha256Hex(hostname + "\n" + stateDir);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20, 12);
}

const char* protocolName(minibox::Protocol p) { return p == minibox::Protocol::V019 ? "v0.19" : "head"; }

}  // namespace

Engine::Engine(asio::any_io_executor, containers::MonitorPort& port, EngineFacts facts)
    : port_(port), facts_(std::move(facts)) {}

Engine::Engine(asio::any_io_executor executor, containers::MonitorPort& port, EngineFacts facts,
               state::StateStore& state, state::LogStore& logs, containers::ServiceOptions options)
    : Engine(executor, port, std::move(facts)) {
  state_ = &state;
  containers_ = std::make_unique<ContainerService>(executor, port, state, logs, std::move(options));
}

Engine::~Engine() = default;

asio::awaitable<Result<void>> Engine::run(const Caller& who, const Operation& op, StreamSink& sink, ReplyBuilder out) {
  ContainerService* service = containers_.get();
  auto via = [&](auto handler, const auto& o) { return viaContainers(service, handler, who, o, sink, out); };
  return std::visit(
      Overloaded{
          [&](const VersionOp& o) { return handleVersion(o, out); },
          [&](const InfoOp& o) { return handleInfo(who, o, out); },
          [&](const ListContainersOp& o) { return handleListContainers(who, o, sink, out); },
          [&](const ListImagesOp& o) { return handleListImages(o, out); },
          [&](const CreateContainerOp& o) { return via(&ContainerService::handleCreateContainer, o); },
          [&](const InspectContainerOp& o) { return via(&ContainerService::handleInspectContainer, o); },
          [&](const StartContainerOp& o) { return via(&ContainerService::handleStartContainer, o); },
          [&](const StopContainerOp& o) { return via(&ContainerService::handleStopContainer, o); },
          [&](const KillContainerOp& o) { return via(&ContainerService::handleKillContainer, o); },
          [&](const RestartContainerOp& o) { return via(&ContainerService::handleRestartContainer, o); },
          [&](const PauseContainerOp& o) { return via(&ContainerService::handlePauseContainer, o); },
          [&](const UnpauseContainerOp& o) { return via(&ContainerService::handleUnpauseContainer, o); },
          [&](const WaitContainerOp& o) { return via(&ContainerService::handleWaitContainer, o); },
          [&](const RemoveContainerOp& o) { return via(&ContainerService::handleRemoveContainer, o); },
          [&](const RenameContainerOp& o) { return via(&ContainerService::handleRenameContainer, o); },
          [&](const ContainerLogsOp& o) { return via(&ContainerService::handleContainerLogs, o); },
          [&](const AttachContainerOp& o) { return via(&ContainerService::handleAttachContainer, o); },
          [&](const ResizeContainerOp& o) { return via(&ContainerService::handleResizeContainer, o); },
          [&](const CreateExecOp& o) { return via(&ContainerService::handleCreateExec, o); },
          [&](const StartExecOp& o) { return via(&ContainerService::handleStartExec, o); },
          [&](const InspectExecOp& o) { return via(&ContainerService::handleInspectExec, o); },
          [&](const ResizeExecOp& o) { return via(&ContainerService::handleResizeExec, o); },
          [&](const EventsOp& o) { return via(&ContainerService::handleEvents, o); },
          [&](const PullImageOp& o) { return via(&ContainerService::handlePullImage, o); },
          [&](const InspectImageOp& o) { return via(&ContainerService::handleInspectImage, o); },
          [&](const RemoveImageOp& o) { return via(&ContainerService::handleRemoveImage, o); },
          [&](const AuthOp& o) { return via(&ContainerService::handleAuth, o); },
          [&](const ListVolumesOp& o) { return via(&ContainerService::handleListVolumes, o); },
          [&](const CreateVolumeOp& o) { return via(&ContainerService::handleCreateVolume, o); },
          [&](const InspectVolumeOp& o) { return via(&ContainerService::handleInspectVolume, o); },
          [&](const RemoveVolumeOp& o) { return via(&ContainerService::handleRemoveVolume, o); },
          [&](const PruneVolumesOp& o) { return via(&ContainerService::handlePruneVolumes, o); },
      },
      op);
}

asio::awaitable<Result<void>> Engine::handleVersion(const VersionOp&, ReplyBuilder out) {
  auto protocol = co_await port_.probe();
  auto reply = out.initVersion();
  const auto& host = facts_.host;
  reply.setKernelVersion(host.kernelVersion);
  reply.setOperatingSystem(host.operatingSystem);
  reply.setArchitecture(host.architecture);
  // `docker version` works without miniboxd (like dockerd's, it needs only the daemon);
  // the missing upstream shows as "unreachable".
  reply.setMiniboxProtocol(protocol ? protocolName(*protocol) : "unreachable");
  co_return Result<void>{};
}

asio::awaitable<Result<void>> Engine::handleInfo(const Caller& who, const InfoOp&, ReplyBuilder out) {
  auto containers = co_await port_.list();
  if (!containers) co_return containers.error();
  auto protocol = co_await port_.probe();
  if (!protocol) co_return protocol.error();
  std::uint32_t images = 0;
  if (*protocol == minibox::Protocol::Head) {
    auto listed = co_await port_.listImages();
    if (!listed) co_return listed.error();
    images = static_cast<std::uint32_t>(listed->size());
  }
  auto reply = out.initInfo();
  std::uint32_t running = 0, paused = 0, stopped = 0, total = 0;
  if (state_ != nullptr) {
    // Docker's counts are of the containers dockerbox manages that the caller can see (the
    // ones their `docker ps -a` shows).
    auto ours = state_->listContainers();
    if (!ours) co_return ours.error();
    for (const auto& c : *ours) {
      if (!who.canSee(c.creatorUid, c.creatorGid)) continue;
      ++total;
      if (c.state == state::ContainerState::Running || c.state == state::ContainerState::Restarting) ++running;
      else if (c.state == state::ContainerState::Paused) ++paused;
      else ++stopped;
    }
  } else {
    for (const auto& c : *containers) {
      if (c.state == minibox::ContainerState::Running) ++running;
      else if (c.state == minibox::ContainerState::Paused) ++paused;
      else ++stopped;
    }
    total = static_cast<std::uint32_t>(containers->size());
  }
  reply.setContainers(total);
  reply.setContainersRunning(running);
  reply.setContainersPaused(paused);
  reply.setContainersStopped(stopped);
  reply.setImages(images);
  reply.setHostname(facts_.host.hostname);
  reply.setKernelVersion(facts_.host.kernelVersion);
  reply.setOperatingSystem(facts_.host.operatingSystem);
  reply.setArchitecture(facts_.host.architecture);
  reply.setNcpu(facts_.host.ncpu);
  reply.setMemTotal(facts_.host.memTotal);
  reply.setMiniboxSocket(facts_.miniboxSocket);
  reply.setMiniboxProtocol(protocolName(*protocol));
  reply.setEngineId(engineId(facts_.host.hostname, facts_.stateDir));
  reply.setDockerRootDir(facts_.stateDir);
  // What dockerd shows for its defaults, where dockerbox-init applies them (confinement.hpp);
  // nothing where containers cannot be confined here.
  const bool confined = co_await port_.canConfine();
  if (confined) {
    auto options = reply.initSecurityOptions(2);
    options.set(0, "name=seccomp,profile=builtin");
    options.set(1, "name=no-new-privileges");
  }
  co_return Result<void>{};
}

asio::awaitable<Result<void>> Engine::handleListContainers(const Caller& who, const ListContainersOp& op,
                                                             StreamSink& sink, ReplyBuilder out) {
  if (!containers_) co_return fail(ErrorKind::Unavailable, "dockerbox's state is not open");
  // The list comes from dockerbox's own state, but a `docker ps` that succeeds while
  // miniboxd is unreachable would hide the outage: ask miniboxd first (one List).
  if (auto alive = co_await port_.list(); !alive) co_return alive.error();
  co_return co_await containers_->handleListContainers(who, op, sink, out);
}

asio::awaitable<Result<void>> Engine::handleListImages(const ListImagesOp&, ReplyBuilder out) {
  auto protocol = co_await port_.probe();
  if (!protocol) co_return protocol.error();
  if (*protocol == minibox::Protocol::V019) {
    co_return fail(ErrorKind::NotImplemented,
                   "miniboxd v0.19 cannot list images (ListImages needs miniboxd 0.23 or later)");
  }
  auto listed = co_await port_.listImages();
  if (!listed) co_return listed.error();
  // What dockerbox pulled itself adds digests, sizes and dates to miniboxd's names.
  std::map<std::string, broker::state::ImageRecord> known;
  if (state_ != nullptr) {
    if (auto records = state_->listImageRecords()) {
      for (auto& r : *records) known.emplace(r.storeName, std::move(r));
    }
  }
  auto images = out.initImageList().initImages(static_cast<unsigned>(listed->size()));
  for (unsigned i = 0; i < listed->size(); ++i) {
    const auto& storeName = (*listed)[i];
    auto item = images[i];
    item.setId("sha256:" + audit::sha256Hex(storeName));
    auto tags = item.initRepoTags(1);
    tags.set(0, minibox::dockerNameFromStore(storeName));
    if (auto found = known.find(storeName); found != known.end()) {
      broker::containers::fillImageRecord(found->second, item, false);
    }
  }
  co_return Result<void>{};
}

}  // namespace dockerbox::engine
