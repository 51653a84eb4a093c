// Runs as root. Input: validated requests only.
#include "broker/handlers.hpp"

#include "broker/authz.hpp"
#include "broker/bind_check.hpp"
#include "broker/bind_pin.hpp"
#include "broker/containers/config_blob.hpp"
#include "broker/decode_fields.hpp"

#include "broker/ids.hpp"

#include <boost/asio/local/connect_pair.hpp>

#include <algorithm>

namespace dockerbox::broker {

namespace asio = boost::asio;
namespace wire = ipc::wire;

namespace {

wire::ErrorKind toWire(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Internal: return wire::ErrorKind::INTERNAL;
    case ErrorKind::BadRequest: return wire::ErrorKind::BAD_REQUEST;
    case ErrorKind::NotFound: return wire::ErrorKind::NOT_FOUND;
    case ErrorKind::Conflict: return wire::ErrorKind::CONFLICT;
    case ErrorKind::Forbidden: return wire::ErrorKind::FORBIDDEN;
    case ErrorKind::Unavailable: return wire::ErrorKind::UNAVAILABLE;
    case ErrorKind::NotImplemented: return wire::ErrorKind::NOT_IMPLEMENTED;
    case ErrorKind::NotModified: return wire::ErrorKind::NOT_MODIFIED;
  }
  return wire::ErrorKind::INTERNAL;
}

/// A stable id for `docker info`'s ID: derived from the host name and the state directory,
/// in the UUID-like shape dockerd uses.
std::string engineId(const std::string& hostname, const std::string& stateDir) {
  auto h = sha256Hex(hostname + "\n" + stateDir);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20, 12);
}

const char* protocolName(minibox::Protocol p) { return p == minibox::Protocol::V019 ? "v0.19" : "head"; }

}  // namespace

void renderError(const Error& error, ReplyBuilder out) {
  auto reply = out.initError();
  reply.setKind(toWire(error.kind));
  reply.setMessage(error.message.empty() ? std::string("internal error") : error.message);
}

Handlers::Handlers(asio::any_io_executor executor, const Config& config, HostFacts host)
    : config_(config), host_(std::move(host)), minibox_(std::move(executor), config.miniboxSocket) {}

Handlers::Handlers(asio::any_io_executor executor, const Config& config, HostFacts host, state::StateStore& state,
                   state::LogStore& logs, const PolicyHolder* policy, monitor::Sealer sealer)
    : Handlers(executor, config, std::move(host)) {
  state_ = &state;
  monitor::MonitorOptions acts;
  acts.bindStillValid = [](std::string_view hostPath, bool readOnly, const Identity& who) {
    return stillResolvesTo(hostPath, who, readOnly ? MountAccess::ReadOnly : MountAccess::ReadWrite);
  };
  acts.initPath = config.initPath;
  acts.pinBinds = [&config](const std::string& dockerId, const std::vector<containers::BindSpec>& binds,
                            const Identity& who) {
    std::vector<BindToPin> toPin;
    for (const auto& b : binds) {
      toPin.push_back({b.hostPath, b.readOnly ? MountAccess::ReadOnly : MountAccess::ReadWrite});
    }
    return pinBinds(config.runDir, config.miniboxSocket, dockerId, toPin, who);
  };
  acts.unpinBinds = [&config](const std::string& dockerId, std::size_t count) {
    unpinBinds(config.runDir, config.miniboxSocket, dockerId, count);
  };
  acts.rejudge = [policy, &config](const Caller& who, const state::Blob& storedConfig) -> Result<Grants> {
    if (policy == nullptr) return fail(ErrorKind::Forbidden, "denied by policy: no policy to judge the container with");
    auto stored = containers::readStoredCreate(
        storedConfig, [](ipc::wire::ContainerConfig::Reader in) { return decode::createContainer(in); });
    if (!stored) return stored.error();
    const Operation op(std::in_place_type<CreateContainerOp>, std::move(*stored));
    Authorization authz = authorize(*policy, who, op, config.miniboxSocket);
    if (authz.gate.allowed) return Grants{authz.privileged, authz.rootUser};
    policy::Decision decision;
    decision.rule = authz.gate.rule;
    decision.reason = authz.gate.reason;
    return fail(ErrorKind::Forbidden, policy::denialMessage(decision), authz.detail);
  };
  monitor_ = std::make_unique<monitor::Monitor>(minibox_, sealer, std::move(acts));
  asio::local::stream_protocol::socket engineEnd(executor), monitorEnd(executor);
  asio::local::connect_pair(engineEnd, monitorEnd);
  actServer_ = std::make_unique<monitor::ActServer>(executor, std::move(monitorEnd), *monitor_, callers_);
  remote_ = std::make_unique<containers::RemoteMonitor>(executor, std::move(engineEnd));
  containers::ServiceOptions options;
  options.imageId = [](std::string_view storeName) { return imageIdFromStoreName(storeName); };
  containers_ = std::make_unique<containers::ContainerService>(executor, *remote_, state, logs, std::move(options));
}

Handlers::~Handlers() = default;

asio::awaitable<Result<void>> Handlers::handleVersion(const Identity&, const VersionOp&, ReplyBuilder out) {
  auto protocol = co_await minibox_.probe();
  auto reply = out.initVersion();
  reply.setKernelVersion(host_.kernelVersion);
  reply.setOperatingSystem(host_.operatingSystem);
  reply.setArchitecture(host_.architecture);
  // `docker version` works without miniboxd (like dockerd's, it needs only the daemon);
  // the missing upstream shows as "unreachable".
  reply.setMiniboxProtocol(protocol ? protocolName(*protocol) : "unreachable");
  co_return Result<void>{};
}

asio::awaitable<Result<void>> Handlers::handleInfo(const Caller& who, const InfoOp&, ReplyBuilder out) {
  auto containers = co_await minibox_.list();
  if (!containers) co_return containers.error();
  auto protocol = co_await minibox_.probe();
  if (!protocol) co_return protocol.error();
  std::uint32_t images = 0;
  if (*protocol == minibox::Protocol::Head) {
    auto listed = co_await minibox_.listImages();
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
  reply.setHostname(host_.hostname);
  reply.setKernelVersion(host_.kernelVersion);
  reply.setOperatingSystem(host_.operatingSystem);
  reply.setArchitecture(host_.architecture);
  reply.setNcpu(host_.ncpu);
  reply.setMemTotal(host_.memTotal);
  reply.setMiniboxSocket(config_.miniboxSocket);
  reply.setMiniboxProtocol(protocolName(*protocol));
  reply.setEngineId(engineId(host_.hostname, config_.stateDir));
  reply.setDockerRootDir(config_.stateDir);
  // What dockerd shows for its defaults, where dockerbox-init applies them (confinement.hpp);
  // nothing where containers cannot be confined here.
  if (monitor_ && co_await monitor_->canConfine()) {
    auto options = reply.initSecurityOptions(2);
    options.set(0, "name=seccomp,profile=builtin");
    options.set(1, "name=no-new-privileges");
  }
  co_return Result<void>{};
}

asio::awaitable<Result<void>> Handlers::handleListContainers(const Caller& who, const ListContainersOp& op,
                                                             StreamSink& sink, ReplyBuilder out) {
  if (!containers_) co_return fail(ErrorKind::Unavailable, "dockerbox's state is not open");
  // The list comes from dockerbox's own state, but a `docker ps` that succeeds while
  // miniboxd is unreachable would hide the outage: ask miniboxd first (one List).
  if (auto alive = co_await minibox_.list(); !alive) co_return alive.error();
  co_return co_await containers_->handleListContainers(who, op, sink, out);
}

asio::awaitable<Result<void>> Handlers::handleListImages(const Identity&, const ListImagesOp&, ReplyBuilder out) {
  auto protocol = co_await minibox_.probe();
  if (!protocol) co_return protocol.error();
  if (*protocol == minibox::Protocol::V019) {
    co_return fail(ErrorKind::NotImplemented,
                   "miniboxd v0.19 cannot list images (ListImages needs miniboxd 0.23 or later)");
  }
  auto listed = co_await minibox_.listImages();
  if (!listed) co_return listed.error();
  auto images = out.initImageList().initImages(static_cast<unsigned>(listed->size()));
  for (unsigned i = 0; i < listed->size(); ++i) {
    const auto& storeName = (*listed)[i];
    auto item = images[i];
    item.setId(imageIdFromStoreName(storeName));
    auto tags = item.initRepoTags(1);
    tags.set(0, minibox::dockerNameFromStore(storeName));
  }
  co_return Result<void>{};
}

}  // namespace dockerbox::broker
