// Runs in the engine (dockerbox-engine, unprivileged). Input: validated create, inspect,
// list and rename requests.
//
// create records the container in dockerbox's state only (miniboxd has no create step,
// protocol 8.1); start (service_run.cpp) runs it.
#include "broker/containers/act_wire.hpp"
#include "broker/containers/config_blob.hpp"
#include "broker/containers/run_spec.hpp"
#include "engine/containers/service.hpp"
#include "broker/minibox/image_ref.hpp"

#include <algorithm>

namespace dockerbox::broker::containers {

namespace asio = boost::asio;
namespace wire = ipc::wire;

namespace {

constexpr std::int64_t kNanosPerSecond = 1'000'000'000;

wire::ContainerState toWire(state::ContainerState s) {
  switch (s) {
    case state::ContainerState::Created: return wire::ContainerState::CREATED;
    case state::ContainerState::Running: return wire::ContainerState::RUNNING;
    case state::ContainerState::Paused: return wire::ContainerState::PAUSED;
    case state::ContainerState::Restarting: return wire::ContainerState::RESTARTING;
    case state::ContainerState::Removing: return wire::ContainerState::REMOVING;
    case state::ContainerState::Exited: return wire::ContainerState::EXITED;
    case state::ContainerState::Dead: return wire::ContainerState::DEAD;
  }
  return wire::ContainerState::DEAD;
}

// A warning for -i or -t where containers cannot be confined (they then run as miniboxd
// runs them, without dockerbox-init, which is what delivers input and makes the terminal):
// the CLI prints it, so the user learns it before typing.
constexpr const char* kStdinWarning =
    "dockerbox: this container will get no stdin and no terminal (miniboxd runs it without dockerbox-init)";

}  // namespace

void ContainerService::fillSummary(const state::Container& c, wire::ContainerSummary::Builder out) {
  out.setId(c.dockerId);
  out.initNames(1).set(0, "/" + c.name);
  out.setImage(c.image);
  if (auto ref = minibox::ImageRef::parse(c.image)) out.setImageId(options_.imageId(ref->storeName()));
  auto config = readRunConfig(c.config);
  if (config) {
    out.setCommand(joinCommand(userCommand(*config)));
    out.setNetworkMode(config->networkMode.empty() ? "default" : config->networkMode);
  }
  out.setCreated(c.createdAt / kNanosPerSecond);
  out.setState(toWire(c.state));
  out.setStartedAt(c.startedAt / kNanosPerSecond);
  out.setFinishedAt(c.finishedAt / kNanosPerSecond);
  out.setHasExitCode(c.exitCode.has_value());
  out.setExitCode(c.exitCode.value_or(0));
  auto labels = out.initLabels(static_cast<unsigned>(c.labels.size()));
  for (unsigned i = 0; i < c.labels.size(); ++i) {
    labels[i].setKey(c.labels[i].key);
    labels[i].setValue(c.labels[i].value);
  }
  out.setTty(c.tty);
  // As Docker's: the health shows while the container runs.
  if (c.state == state::ContainerState::Running) {
    if (auto live = live_.find(c.dockerId)) {
      out.setHealth(live->health.status);
      auto ports = out.initPorts(static_cast<unsigned>(live->ports.size()));
      for (unsigned i = 0; i < live->ports.size(); ++i) toWire(live->ports[i], ports[i]);
    }
  }
}

asio::awaitable<Result<void>> ContainerService::handleCreateContainer(const Caller& who, const CreateContainerOp& op,
                                                                      StreamSink&, Out out) {
  const ContainerSpec& spec = op.spec;
  if (auto creatable = checkCreatable(spec); !creatable) co_return creatable.error();
  auto image = minibox::ImageRef::parse(spec.image);
  if (!image) co_return image.error();
  // Docker answers 404 for a missing image so that the CLI pulls it and creates again.
  // miniboxd v0.19 cannot list images: there Run pulls on start instead.
  auto images = co_await storeImages();
  if (!images) co_return images.error();
  if (*images && std::find((*images)->begin(), (*images)->end(), image->storeName()) == (*images)->end()) {
    co_return fail(ErrorKind::NotFound, "No such image: " + image->dockerName());
  }
  state::NewContainer record;
  auto id = state_.freshContainerId();
  if (!id) co_return id.error();
  record.dockerId = std::move(*id);
  record.config = blobFromWords(op.canonicalConfig);
  // An image dockerbox pulled itself brings its configuration, merged as Docker does; the
  // monitor seals the merged config only after judging it (monitor_port.hpp).
  std::optional<ImageDefaults> defaults;
  auto known = state_.getImage(image->storeName());
  if (!known) co_return known.error();
  if (*known) defaults = imageDefaultsOf(**known);
  state::Blob stored = record.config;
  if (defaults) {
    auto merged = mergeImageDefaults(record.config, *defaults);
    if (!merged) co_return merged.error();
    auto run = readRunConfig(*merged);
    if (!run) co_return run.error();
    if ((!run->cmd || run->cmd->empty()) && (!run->entrypoint || run->entrypoint->empty())) {
      co_return fail(ErrorKind::BadRequest, "No command specified");
    }
    stored = std::move(*merged);
  }
  auto seal = co_await monitor_.sealContainer(who, record.dockerId, record.config, defaults);
  if (!seal) co_return seal.error();
  record.config = std::move(stored);
  record.seal = std::move(*seal);
  // Docker makes a container's volumes at create: named ones it may already have, and
  // anonymous ones (named after the container), so that `docker volume ls` shows them.
  if (auto run = readRunConfig(record.config); run && !run->volumes.empty()) {
    if (auto made = co_await createContainerVolumes(who, record.dockerId, *run); !made) co_return made.error();
  }
  record.name = spec.name;
  record.image = spec.image;
  record.imageRef = image->registry() + "/" + image->path() + ":" + image->tag();
  for (const auto& [key, value] : spec.labels) record.labels.push_back({key, value});
  record.creatorUid = who.uid;
  record.creatorGid = who.gid;
  record.createdAt = nowNanos();
  record.autoRemove = spec.host.autoRemove;
  record.tty = spec.tty;
  auto created = state_.createContainer(record);
  if (!created) co_return hideInvisibleHolder(who, created.error(), record.name);
  who.noteResolved("container", created->dockerId, created->name);
  bus_.publish(containerEvent(*created, "create"));
  auto reply = out.initContainerCreated();
  reply.setId(created->dockerId);
  if ((spec.openStdin || spec.tty) && (spec.host.privileged || !co_await monitor_.canConfine())) {
    reply.initWarnings(1).set(0, kStdinWarning);
  }
  co_return Result<void>();
}

asio::awaitable<Result<void>> ContainerService::handleInspectContainer(const Caller& who, const InspectContainerOp& op,
                                                                       StreamSink&, Out out) {
  auto found = resolve(who, op.ref);
  if (!found) co_return found.error();
  std::int32_t pid = 0;
  if (isActive(found->state) && found->miniboxId) {
    // The pid is live information only miniboxd has. Inspect still answers without it.
    if (auto listed = co_await monitor_.list()) {
      for (const auto& info : *listed) {
        if (info.id == *found->miniboxId && info.pid) pid = static_cast<std::int32_t>(*info.pid);
      }
    }
    found = state_.getContainer(found->dockerId);  // it may have changed meanwhile
    if (!found) co_return found.error();
  }
  const state::Container& c = *found;
  auto reply = out.initContainerInspect();
  fillSummary(c, reply.initSummary());
  if (auto filled = fillInspectConfig(c.config, reply); !filled) co_return filled.error();
  // An anonymous volume has the name dockerbox gave it (Docker shows it; compose reads it
  // to keep a recreated service's anonymous volumes).
  for (auto mount : reply.getConfig().getHost().getMounts()) {
    if (mount.getType() == wire::MountType::VOLUME && mount.getSource().size() == 0) {
      mount.setSource(anonymousVolumeName(c.dockerId, std::string(mount.getTarget().cStr())));
    }
  }
  reply.setPid(isActive(c.state) ? pid : 0);
  reply.setOomKilled(c.oomKilled);
  reply.setError(c.error);
  reply.setRestartCount(static_cast<std::int32_t>(c.restartCount));
  // State.Health stays after the run (Docker's too); summary.health is the running one.
  if (auto live = live_.find(c.dockerId); live && !live->health.status.empty()) {
    fillHealth(*live, reply.initHealth());
  }
  // Path/Args are what the user asked for (Docker's convention), not the /bin/sh wrapper
  // dockerbox may add for miniboxd (run_spec.hpp).
  if (auto config = readRunConfig(c.config)) {
    auto argv = userCommand(*config);
    reply.setPath(argv.front());
    auto args = reply.initArgs(static_cast<unsigned>(argv.size() - 1));
    for (unsigned i = 1; i < argv.size(); ++i) args.set(i - 1, argv[i]);
  }
  reply.setMiniboxId(isActive(c.state) && c.miniboxId ? *c.miniboxId : std::string());
  auto execs = state_.listExecs(c.dockerId);
  if (!execs) co_return execs.error();
  std::erase_if(*execs, [&who](const state::Exec& e) { return !who.canSee(e.creatorUid, e.creatorGid); });
  auto ids = reply.initExecIds(static_cast<unsigned>(execs->size()));
  for (unsigned i = 0; i < execs->size(); ++i) ids.set(i, (*execs)[i].execId);
  co_return Result<void>();
}

asio::awaitable<Result<void>> ContainerService::handleListContainers(const Caller& who, const ListContainersOp& op,
                                                                     StreamSink&, Out out) {
  auto all = state_.listContainers();  // newest first
  if (!all) co_return all.error();
  // Docker: a limit shows the last n created containers whatever their state.
  const bool everyState = op.all || op.limit.has_value();
  std::vector<const state::Container*> shown;
  for (const auto& c : *all) {
    if (!who.canSee(c.creatorUid, c.creatorGid)) continue;  // others' containers do not exist here (P7)
    if (everyState || isActive(c.state)) shown.push_back(&c);
    if (op.limit && shown.size() >= *op.limit) break;
  }
  auto list = out.initContainerList().initContainers(static_cast<unsigned>(shown.size()));
  for (unsigned i = 0; i < shown.size(); ++i) fillSummary(*shown[i], list[i]);
  co_return Result<void>();
}

asio::awaitable<Result<void>> ContainerService::handleRenameContainer(const Caller& who, const RenameContainerOp& op,
                                                                      StreamSink&, Out out) {
  auto c = resolve(who, op.ref);
  if (!c) co_return c.error();
  if (auto renamed = state_.rename(c->dockerId, op.newName); !renamed) {
    co_return hideInvisibleHolder(who, renamed.error(), op.newName);
  }
  if (auto after = state_.getContainer(c->dockerId)) {
    bus_.publish(containerEvent(*after, "rename", {{"oldName", "/" + c->name}}));
  }
  out.setOk();
  co_return Result<void>();
}

}  // namespace dockerbox::broker::containers
