// Runs in the engine (dockerbox-engine, unprivileged). Input: validated requests and
// miniboxd replies (see service.hpp).
#include "engine/containers/service.hpp"
#include "common/task.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <algorithm>

namespace dockerbox::broker::containers {

namespace asio = boost::asio;

ContainerService::ContainerService(asio::any_io_executor executor, MonitorPort& monitor, state::StateStore& state,
                                   state::LogStore& logs, ServiceOptions options)
    : executor_(executor),
      monitor_(monitor),
      state_(state),
      logs_(logs),
      options_(std::move(options)),
      live_(executor),
      bus_(executor, state) {
  if (!options_.imageId) options_.imageId = [](std::string_view) { return std::string(); };
}

// Background coroutines still suspended when the service goes away are destroyed (never
// resumed) with the io_context, which the owner destroys after the service.
ContainerService::~ContainerService() = default;

Result<void> ContainerService::start() {
  if (auto opened = bus_.open(); !opened) return opened;
  // Nothing of an exec survives the broker that held its stream.
  if (auto cleared = state_.clearRunningExecs(); !cleared) return cleared.error();
  // Removals a crash interrupted between their two halves.
  auto removing = state_.containersBeingRemoved();
  if (!removing) return removing.error();
  for (const auto& c : *removing) {
    (void)logs_.remove(c.dockerId);
    if (auto removed = state_.removeContainer(c.dockerId); !removed) return removed.error();
  }
  asio::co_spawn(executor_, watchMiniboxEvents(), logFailure("miniboxd events"));
  asio::co_spawn(executor_, reconcileUntilDone(), logFailure("reconciliation"));
  return {};
}

Result<state::Container> ContainerService::resolve(const Caller& who, const ContainerRef& ref) {
  auto found = state_.resolveContainer(
      ref.text, [&who](const state::Container& c) { return who.canSee(c.creatorUid, c.creatorGid); });
  if (found) who.noteResolved("container", found->dockerId, found->name);
  return found;
}

Result<state::Exec> ContainerService::visibleExec(const Caller& who, const std::string& execId) {
  auto exec = state_.getExec(execId);
  if (!exec) return exec.error();
  auto container = state_.getContainer(exec->containerDockerId);
  if (!who.canSee(exec->creatorUid, exec->creatorGid) || !container ||
      !who.canSee(container->creatorUid, container->creatorGid)) {
    return fail(ErrorKind::NotFound, "No such exec instance: " + execId);
  }
  who.noteResolved("exec", exec->execId, "");
  return exec;
}

Error ContainerService::hideInvisibleHolder(const Caller& who, Error conflict, std::string_view name) {
  if (conflict.kind != ErrorKind::Conflict) return conflict;
  auto holder = state_.resolveContainer(name);
  if (holder && who.canSee(holder->creatorUid, holder->creatorGid)) return conflict;
  std::string bare(name);
  if (!bare.empty() && bare.front() == '/') bare.erase(0, 1);
  return fail(ErrorKind::Conflict, "Conflict. The container name \"/" + bare +
                                       "\" is already in use. You have to remove (or rename) that container to be "
                                       "able to reuse that name.");
}

asio::awaitable<Result<std::optional<std::vector<std::string>>>> ContainerService::storeImages() {
  auto protocol = co_await monitor_.probe();
  if (!protocol) co_return protocol.error();
  if (*protocol == minibox::Protocol::V019) co_return std::optional<std::vector<std::string>>();
  auto images = co_await monitor_.listImages();
  if (!images) co_return images.error();
  co_return std::optional<std::vector<std::string>>(std::move(*images));
}

SealedRecord sealedOf(const state::Container& c) {
  return SealedRecord{c.dockerId, "", c.creatorUid, c.creatorGid, c.config, c.seal};
}

SealedRecord sealedOf(const state::Exec& e) {
  return SealedRecord{e.execId, e.containerDockerId, e.creatorUid, e.creatorGid, e.config, e.seal};
}

Error notRunning(std::string_view dockerId) {
  return fail(ErrorKind::Conflict, "Container " + std::string(dockerId) + " is not running");
}

bool isActive(state::ContainerState s) {
  return s == state::ContainerState::Running || s == state::ContainerState::Paused ||
         s == state::ContainerState::Restarting;
}

}  // namespace dockerbox::broker::containers
