// Runs as root. Input: sealed records from the container service, the caller's identity and
// the policy's judgement; miniboxd's replies on the ephemeral Run the monitor holds for each
// running container (ContainerCreated, output chunks written by the container process, passed
// through unread, ContainerStopped) and on each Exec.
#include "broker/containers/config_blob.hpp"
#include "broker/containers/confinement.hpp"
#include "broker/monitor/monitor.hpp"
#include "broker/state/names.hpp"

#include <boost/asio/this_coro.hpp>
#include <spdlog/spdlog.h>

namespace dockerbox::broker::monitor {

namespace asio = boost::asio;
using containers::RunConfinement;
using containers::SealedRecord;

Error Monitor::cannotConfine() const {
  return fail(ErrorKind::Forbidden,
              "denied by policy: dockerbox cannot confine containers on this miniboxd (it needs miniboxd 0.28.6 or "
              "later started with MINIBOX_ALLOW_BIND_MOUNTS=1 to mount dockerbox-init" +
                  std::string(options_.initPath.empty() ? ", and dockerbox-init installed" : "") +
                  "); until the administrator enables that, only callers whose policy rule sets privileged = true "
                  "may run containers or execs");
}

asio::awaitable<Result<Monitor::PreparedRun>> Monitor::prepareRun(const Caller& judged, const std::string& dockerId,
                                                                  const VolumeOwner& owner,
                                                                  const containers::RunConfig& config) {
  auto volumes = volumesForRun(judged, dockerId, owner, config);
  if (!volumes) co_return volumes.error();
  auto& [volumeBinds, volumeNames] = *volumes;
  const bool mayRunUnconfined = judged.grants.privileged == policy::Privileged::Allowed;
  // --privileged gets what miniboxd gives (the policy allows it only with `privileged`); so
  // does any container of such a caller where miniboxd cannot take the init.
  auto network = containers::networkModeOf(config.networkMode);
  if (!network) co_return network.error();
  // As dockerd: with the host's network there is nothing to publish (the ports are the host's).
  const bool publishes = !config.ports.empty() && *network != minibox::NetworkMode::Host;
  if (config.privileged || !co_await canConfine()) {
    if (!mayRunUnconfined) co_return cannotConfine();
    if (publishes) {
      co_return fail(ErrorKind::NotImplemented,
                     "publish ports of a container that runs without dockerbox-init (--privileged, or a miniboxd that "
                     "cannot mount it): its init carries the ports");
    }
    if (!config.privileged) {
      spdlog::warn("event=unconfined_run id={} uid={} reason=\"miniboxd cannot take dockerbox-init\"", dockerId,
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
    containers::RunConfig withVolumes = config;
    withVolumes.binds.insert(withVolumes.binds.end(), volumeBinds.begin(), volumeBinds.end());
    auto spec = containers::runSpecOf(withVolumes);
    if (!spec) co_return spec.error();
    co_return PreparedRun{std::move(*spec), RunConfinement::Unconfined, 0, nullptr, std::move(volumeNames), {}, {}};
  }
  auto confinement = containers::runConfinement(config, judged, dockerId);
  if (!confinement) co_return confinement.error();
  containers::InitPlacement placement{options_.initPath, {}, {}, {}};
  std::shared_ptr<RunIo> io;
  if (!options_.ioDir.empty()) {
    auto executor = co_await asio::this_coro::executor;
    auto made = RunIo::create(executor, options_.ioDir, dockerId, config.openStdin, config.tty, !config.tty);
    if (!made) co_return made.error();
    io = std::move(*made);
    // The client's terminal size (API 1.42+ sends it with the create) is in place before
    // the program starts: the init applies what waits in the FIFO first.
    if (io->hasTerminal()) (void)io->resize(config.consoleRows, config.consoleCols);
    placement.io = {io->hostDir(), std::string(containers::kIoPathInContainer), io->hasStdin(), io->hasTerminal(),
                    io->hasOutput(), false};
  }
  std::vector<HostSocket> hostSockets;
  UniqueFd portChannel;
  if (publishes) {
    if (!io || !options_.ports) {
      co_return fail(ErrorKind::NotImplemented,
                     "publish ports: not enabled on this host (dockerbox-proxy is not installed, its user "
                     "DOCKERBOX_PROXY_USER does not exist, or dockerboxd runs without the host's network)");
    }
    // Bound before the run, as root: the policy judged these addresses and ports for the
    // caller just now, and a port already taken is the start's error, as on dockerd.
    auto bound = bindHostPorts(config.ports);
    if (!bound) co_return bound.error();
    hostSockets = std::move(*bound);
    auto channel = io->makePortChannel();
    if (!channel) co_return channel.error();
    portChannel = std::move(*channel);
    placement.io.portChannel = true;
  }
  // Binds and volumes are pinned alike (bind_pin.hpp); volumes without the check as the
  // caller, who cannot reach dockerbox's volume directory.
  std::vector<containers::BindSpec> toPin = config.binds;
  toPin.insert(toPin.end(), volumeBinds.begin(), volumeBinds.end());
  if (!toPin.empty()) {
    if (!options_.pinBinds) co_return fail(ErrorKind::Forbidden, "denied by policy: bind mounts cannot be pinned here");
    auto pinned = options_.pinBinds(dockerId, toPin, judged);
    if (!pinned) co_return pinned.error();
    const auto firstVolume = pinned->begin() + static_cast<std::ptrdiff_t>(config.binds.size());
    placement.pinnedSources.assign(pinned->begin(), firstVolume);
    placement.pinnedVolumes.assign(firstVolume, pinned->end());
  }
  auto spec = containers::confinedRunSpecOf(config, std::move(*confinement), placement);
  if (!spec) {
    if (options_.unpinBinds && !toPin.empty()) options_.unpinBinds(dockerId, toPin.size());
    co_return spec.error();
  }
  co_return PreparedRun{std::move(*spec),          RunConfinement::Init,   toPin.size(),
                        std::move(io),             std::move(volumeNames), std::move(hostSockets),
                        std::move(portChannel)};
}

asio::awaitable<Result<std::int32_t>> Monitor::run(const Caller& who, SealedRecord container,
                                                  containers::RunHandlers handlers) {
  if (auto checked = checkRecord(who, SealKind::Container, container); !checked) co_return checked.error();
  const std::string dockerId = container.id;
  if (runs_.contains(dockerId)) co_return fail(ErrorKind::NotModified, "container " + dockerId + " is already started");
  // The confinement comes from the rule that judged the sealed config just now, never from
  // anything the service says.
  auto judgedNow = judgeAsOwner(who, container);
  if (!judgedNow) co_return judgedNow.error();
  const Caller judged = std::move(*judgedNow);
  auto config = containers::readRunConfig(container.config);
  if (!config) co_return config.error();
  // A refused bind mount is learned from miniboxd's answer; a caller whose rule allows
  // unconfined runs then gets one, once.
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool refusedBefore = bindMountsRefused_;
    auto prepared = co_await prepareRun(judged, dockerId, VolumeOwner{container.ownerUid, container.ownerGid}, *config);
    if (!prepared) co_return prepared.error();
    auto nonce = state::randomHex(8);
    if (!nonce) {
      if (prepared->pinned > 0 && options_.unpinBinds) options_.unpinBinds(dockerId, prepared->pinned);
      co_return nonce.error();
    }
    prepared->spec.name = "dbx-" + dockerId + "-" + *nonce;
    runs_[dockerId] = HeldRun{"", prepared->confinement, prepared->io, prepared->volumes};
    std::size_t pinned = prepared->pinned;
    // miniboxd has mounted the pinned sources into the container's own namespace once it
    // reports the container created (or has given up): the host side is no longer needed.
    auto unpin = [&] {
      if (pinned > 0 && options_.unpinBinds) options_.unpinBinds(dockerId, pinned);
      pinned = 0;
    };
    bool created = false;
    // Typed as runEphemeral's parameter: g++ 12 mishandles a coroutine argument converted
    // from a temporary of another type (see containers/service_exec.cpp).
    minibox::CreatedHandler onCreated = [&](std::string miniboxId) -> asio::awaitable<void> {
      unpin();
      created = true;
      runs_[dockerId].miniboxId = miniboxId;
      co_await handlers.onCreated(std::move(miniboxId));
    };
    // The ports go to the proxy before the run starts: the init connects to the channel
    // at once, and a client may connect as soon as the engine says where.
    bool published = false;
    if (!prepared->ports.empty()) {
      std::vector<containers::BoundPort> bound;
      for (const auto& socket : prepared->ports) bound.push_back(socket.port);
      auto handed = options_.ports->publish(dockerId, std::move(prepared->ports), std::move(prepared->portChannel));
      if (!handed) {
        unpin();
        runs_.erase(dockerId);
        co_return handed.error();
      }
      published = true;
      if (handlers.onPublished) co_await handlers.onPublished(std::move(bound));
    }
    Result<std::int32_t> exit = fail(ErrorKind::Internal, "internal error");
    if (prepared->io) prepared->io->startOutputPumps(handlers.onOutput);
    try {
      exit = co_await minibox_.runEphemeral(std::move(prepared->spec), onCreated, handlers.onOutput);
    } catch (const std::exception& e) {
      exit = fail(ErrorKind::Internal, "internal error", std::string("run: ") + e.what());
    }
    // Every process of the container is gone: what it wrote is in the FIFOs.
    if (prepared->io) co_await prepared->io->endOutput();
    unpin();
    // An input act still writing ends now; the FIFOs go with the last reference.
    if (prepared->io) prepared->io->closeStdin();
    // Free again before anything can start this container (or another) on the same ports.
    if (published) co_await options_.ports->unpublish(dockerId);
    runs_.erase(dockerId);
    if (created) co_return exit;
    if (!exit && exit.error().message.find("bind mounts are not allowed") != std::string::npos) {
      bindMountsRefused_ = true;
      spdlog::warn("event=bind_mounts_refused id={} error=\"{}\"", dockerId, exit.error().message);
      if (!refusedBefore) {
        if (judged.grants.privileged != policy::Privileged::Allowed) co_return cannotConfine();
        continue;  // this caller may run it unconfined: once more, without the init
      }
    }
    co_return exit ? Result<std::int32_t>(fail(ErrorKind::Internal, "miniboxd ended the run before creating the container"))
                   : Result<std::int32_t>(exit.error());
  }
  co_return cannotConfine();
}

asio::awaitable<Result<std::int32_t>> Monitor::restartRun(SealedRecord container, containers::RunHandlers handlers) {
  // Nobody asked: the sealed config is the owner's standing request. The engine chooses
  // when (it could restart too often, or not at all), never what or for whom.
  if (!options_.ownerCaller || !options_.auditUnrequested || !options_.auditUnrequestedOutcome) {
    co_return fail(ErrorKind::Forbidden, "denied: restart policies are not enabled here");
  }
  // The seal first: a record the monitor did not seal earns no audit record, only a refusal.
  const Caller asRecorded(Identity{container.ownerUid, container.ownerGid, 0, {}, std::nullopt},
                          policy::Visibility::Own);
  if (auto checked = checkRecord(asRecorded, SealKind::Container, container); !checked) co_return checked.error();
  auto config = containers::readRunConfig(container.config);
  if (!config) co_return config.error();
  if (config->restartPolicy.empty() || config->restartPolicy == "no") {
    co_return fail(ErrorKind::Forbidden, "denied: container " + container.id + " has no restart policy");
  }
  const std::string dockerId = container.id;
  auto owner = options_.ownerCaller(container.ownerUid, container.ownerGid);
  auto seq = options_.auditUnrequested(owner ? *owner : asRecorded, dockerId, "restart policy " + config->restartPolicy);
  if (!seq) co_return seq.error();
  const std::uint64_t ticket = *seq;
  if (!owner) {
    options_.auditUnrequestedOutcome(ticket, Result<void>(owner.error()));
    co_return owner.error();
  }
  bool recorded = false;
  containers::RunHandlers wrapped;
  wrapped.onOutput = handlers.onOutput;
  wrapped.onPublished = handlers.onPublished;
  wrapped.onCreated = [&](std::string miniboxId) -> asio::awaitable<void> {
    recorded = true;
    options_.auditUnrequestedOutcome(ticket, Result<void>());
    co_await handlers.onCreated(std::move(miniboxId));
  };
  auto exit = co_await run(*owner, std::move(container), std::move(wrapped));
  if (!recorded) {
    options_.auditUnrequestedOutcome(ticket, exit ? Result<void>(fail(ErrorKind::Internal, "the run ended before the "
                                                                                           "container was created"))
                                                  : Result<void>(exit.error()));
  }
  co_return exit;
}

Result<std::shared_ptr<RunIo>> Monitor::heldIo(const Caller& who, const SealedRecord& container) const {
  if (auto checked = checkRecord(who, SealKind::Container, container); !checked) return checked.error();
  auto found = runs_.find(container.id);
  if (found == runs_.end() || found->second.miniboxId.empty()) {
    return fail(ErrorKind::Conflict, "container " + container.id + " is not running");
  }
  if (!found->second.io) {
    return fail(ErrorKind::Conflict, "container " + container.id + " was started without stdin or a terminal");
  }
  return found->second.io;
}

Result<std::shared_ptr<RunIo>> Monitor::heldIo(const Caller& who, const SealedRecord& container,
                                               const SealedRecord& exec) const {
  if (exec.id.empty()) return heldIo(who, container);
  if (auto checked = checkRecord(who, SealKind::Container, container); !checked) return checked.error();
  if (auto checked = checkRecord(who, SealKind::Exec, exec); !checked) return checked.error();
  if (exec.parent != container.id) return fail(ErrorKind::Internal, "internal error", "exec of another container");
  auto found = execIo_.find(exec.id);
  if (found == execIo_.end()) {
    return fail(ErrorKind::Conflict, "exec " + exec.id + " is not running with stdin or a terminal");
  }
  return found->second;
}

asio::awaitable<Result<void>> Monitor::input(const Caller& who, SealedRecord container, SealedRecord exec,
                                             std::vector<std::uint8_t> data, bool close) {
  auto io = heldIo(who, container, exec);
  if (!io) co_return io.error();
  // Held by this frame: the run may end (and drop its reference) while the write waits.
  std::shared_ptr<RunIo> held = std::move(*io);
  if (!held->hasStdin()) {
    co_return fail(ErrorKind::Conflict, (exec.id.empty() ? "container " + container.id : "exec " + exec.id) +
                                            " has no open stdin");
  }
  if (!data.empty()) {
    auto written = co_await held->write(data);
    if (!written) co_return written.error();
  }
  if (close) held->closeStdin();
  co_return Result<void>();
}

asio::awaitable<Result<void>> Monitor::resizeTerminal(const Caller& who, SealedRecord container, SealedRecord exec,
                                                      std::uint16_t rows, std::uint16_t cols) {
  auto io = heldIo(who, container, exec);
  if (!io) co_return io.error();
  co_return (*io)->resize(rows, cols);
}

Result<minibox::ExecSpec> Monitor::execSpecFor(const Caller& who, const std::string& dockerId,
                                               const std::string& miniboxId, const containers::RunConfig& container,
                                               const CreateExecOp& exec, RunConfinement confinement,
                                               const containers::ExecIoPlacement& io, std::uint32_t timeoutMs) const {
  const bool mayRunUnconfined = who.grants.privileged == policy::Privileged::Allowed;
  // An exec goes the way its container's run went: through dockerbox-init, or (privileged
  // containers, and where miniboxd could not take the init) as miniboxd runs it, as host
  // root with every capability, which only a rule with `privileged` may ask for. A
  // --privileged exec is the same.
  if (container.privileged || exec.privileged || confinement == RunConfinement::Unconfined) {
    if (!mayRunUnconfined) {
      return fail(ErrorKind::Forbidden, container.privileged || confinement == RunConfinement::Unconfined
                                            ? "denied by policy: container " + dockerId +
                                                  " runs unconfined; only a rule with privileged = true may exec in it"
                                            : "denied by policy: a privileged exec needs a rule with privileged = true");
    }
    const auto& user = exec.user;
    if (!(user.empty() || user == "root" || user == "0" || user == "0:0")) {
      return fail(ErrorKind::NotImplemented, "dockerbox cannot run an unconfined exec as user \"" + user +
                                                 "\": miniboxd runs it as root, without dockerbox-init");
    }
    return containers::execSpecOf(miniboxId, container, exec);
  }
  auto init = containers::execConfinement(container, exec, who);
  if (!init) return init.error();
  init->timeoutMs = timeoutMs;
  return containers::confinedExecSpecOf(miniboxId, container, exec, std::move(*init), io);
}

asio::awaitable<Result<std::uint64_t>> Monitor::prepareExec(const Caller& who, SealedRecord container,
                                                           std::string miniboxId, SealedRecord exec) {
  if (auto checked = checkRecord(who, SealKind::Container, container); !checked) co_return checked.error();
  if (exec.parent != container.id) co_return fail(ErrorKind::Internal, "internal error", "exec of another container");
  if (auto checked = checkRecord(who, SealKind::Exec, exec); !checked) co_return checked.error();
  auto judged = judgeAsCreator(who, container);  // under the policy in force now
  if (!judged) co_return judged.error();
  auto confinement = co_await currentRun(container.id, miniboxId);
  if (!confinement) co_return confinement.error();
  auto config = containers::readRunConfig(container.config);
  if (!config) co_return config.error();
  auto op = containers::readExecConfig(exec.config);
  if (!op) co_return op.error();
  if (execIo_.contains(exec.id)) co_return fail(ErrorKind::Conflict, "Error: Exec command " + exec.id + " is already running");
  // A run this monitor holds through the init has a FIFO directory, which its pid 1 keeps
  // open: the exec's FIFOs go in a subdirectory of it (its stdin, its terminal, and its
  // stdout and stderr apart, which miniboxd's Exec would send one after the other).
  std::shared_ptr<RunIo> io;
  containers::ExecIoPlacement placement;
  auto held = runs_.find(container.id);
  const bool confined = *confinement == RunConfinement::Init && !config->privileged && !op->privileged;
  if (confined && held != runs_.end() && held->second.io) {
    auto executor = co_await asio::this_coro::executor;
    auto made = RunIo::create(executor, held->second.io->hostDir(), exec.id, op->attachStdin, op->tty, !op->tty);
    if (!made) co_return made.error();
    io = std::move(*made);
    placement = {exec.id, io->hasStdin(), io->hasTerminal(), io->hasOutput()};
  }
  auto spec = execSpecFor(*judged, container.id, miniboxId, *config, *op, *confinement, placement);
  if (!spec) co_return spec.error();
  const std::uint64_t ticket = nextTicket_++;
  if (io) execIo_[exec.id] = io;
  execs_.emplace(ticket, PreparedExec{std::move(*spec), exec.id, std::move(io)});
  co_return ticket;
}

asio::awaitable<Result<std::int32_t>> Monitor::healthCheck(SealedRecord container, std::string miniboxId,
                                                          minibox::OutputHandler onOutput) {
  const Caller asRecorded(Identity{container.ownerUid, container.ownerGid, 0, {}, std::nullopt},
                          policy::Visibility::Own);
  if (auto checked = checkRecord(asRecorded, SealKind::Container, container); !checked) co_return checked.error();
  auto config = containers::readRunConfig(container.config);
  if (!config) co_return config.error();
  // The command is the sealed config's, never the engine's.
  auto probe = containers::healthProbeOf(*config);
  if (!probe) co_return fail(ErrorKind::Forbidden, "denied: container " + container.id + " has no health check");
  if (!options_.ownerCaller) co_return fail(ErrorKind::Forbidden, "denied: health checks are not enabled here");
  auto owner = options_.ownerCaller(container.ownerUid, container.ownerGid);
  if (!owner) co_return owner.error();
  // The owner is the creator: the rule that judges their container now gives the grants,
  // as for a run.
  auto judged = judgeAsOwner(*owner, container);
  if (!judged) co_return judged.error();
  auto confinement = co_await currentRun(container.id, miniboxId);
  if (!confinement) co_return confinement.error();
  if (healthChecks_.contains(container.id)) {
    co_return fail(ErrorKind::Conflict, "a health check of container " + container.id + " is already running");
  }
  CreateExecOp op;
  op.container.text = container.id;
  op.cmd = probe->argv;
  op.attachStdout = op.attachStderr = true;
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(probe->timeout).count();
  const auto timeoutMs = static_cast<std::uint32_t>(std::clamp<std::int64_t>(ms, 1, init::kMaxTimeoutMs));
  auto spec = execSpecFor(*judged, container.id, miniboxId, *config, op, *confinement, {}, timeoutMs);
  if (!spec) co_return spec.error();
  healthChecks_.insert(container.id);
  struct Done {
    std::set<std::string>& running;
    std::string id;
    ~Done() { running.erase(id); }
  } done{healthChecks_, container.id};
  Result<std::int32_t> exit = fail(ErrorKind::Internal, "internal error");
  try {
    exit = co_await minibox_.exec(std::move(*spec), onOutput);
  } catch (const std::exception& e) {
    exit = fail(ErrorKind::Internal, "internal error", std::string("health check: ") + e.what());
  }
  co_return exit;
}

void Monitor::dropExec(std::uint64_t ticket) {
  auto found = execs_.find(ticket);
  if (found == execs_.end()) return;
  execIo_.erase(found->second.execId);
  execs_.erase(found);
}

asio::awaitable<Result<std::int32_t>> Monitor::runExec(std::uint64_t ticket, minibox::OutputHandler onOutput) {
  auto found = execs_.find(ticket);
  if (found == execs_.end()) co_return fail(ErrorKind::Internal, "internal error", "unknown exec ticket");
  PreparedExec exec = std::move(found->second);
  execs_.erase(found);
  if (exec.io) exec.io->startOutputPumps(onOutput);
  Result<std::int32_t> exit = fail(ErrorKind::Internal, "internal error");
  try {
    exit = co_await minibox_.exec(std::move(exec.spec), onOutput);
  } catch (const std::exception& e) {
    exit = fail(ErrorKind::Internal, "internal error", std::string("exec: ") + e.what());
  }
  if (exec.io) {
    // The exec's program is gone: what it wrote is in the FIFOs (a process it left behind
    // loses its output with them, as it would lose miniboxd's pipe).
    co_await exec.io->endOutput();
    exec.io->closeStdin();
    if (auto held = execIo_.find(exec.execId); held != execIo_.end() && held->second == exec.io) execIo_.erase(held);
  }
  co_return exit;
}

}  // namespace dockerbox::broker::monitor
