// Runs as root. Input: validated requests only.
#include "broker/handlers.hpp"

#include "broker/authz.hpp"
#include "broker/bind_check.hpp"
#include "broker/bind_pin.hpp"
#include "broker/containers/config_blob.hpp"
#include "broker/decode_fields.hpp"
#include "broker/gate.hpp"

#include "broker/ids.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <stdexcept>

namespace dockerbox::broker {

namespace asio = boost::asio;

namespace {

RegistrySpec registrySpecOf(const Config& config) {
  RegistrySpec spec;
  spec.path = config.registryPath;
  spec.socket = config.registrySocket;
  spec.uid = config.registryUid;
  spec.gid = config.registryGid;
  spec.insecureRegistries = config.insecureRegistries;
  spec.logLevel = config.logLevel;
  spec.journal = config.journal;
  return spec;
}

/// The owner of a container as a caller now: their primary and supplementary groups from
/// the group database (an owner without a password entry keeps only the recorded group),
/// refused when no longer admitted to the socket.
Result<Caller> ownerAsCaller(const Config& config, std::uint32_t uid, std::uint32_t gid) {
  auto who = loginIdentity(uid, gid);
  if (!who) return who.error();
  std::erase(who->groups, gid);  // supplementary ones, as SO_PEERGROUPS gives them
  if (admit(*who, config.socketGroup) != Admission::Admitted) {
    return fail(ErrorKind::Forbidden, "denied: the container's owner (uid " + std::to_string(uid) +
                                          ") is no longer allowed to use dockerbox");
  }
  return Caller(*who, policy::Visibility::Own);
}

}  // namespace

Handlers::Handlers(asio::any_io_executor executor, const Config& config)
    : config_(config), minibox_(executor, config.miniboxSocket), registry_(executor, registrySpecOf(config)) {
  monitor::Sealer::Key key{};
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) throw std::runtime_error("RAND_bytes failed");
  monitor_ = std::make_unique<monitor::Monitor>(minibox_, monitor::Sealer(key), monitor::MonitorOptions{});
}

monitor::MonitorOptions Handlers::monitorOptions(const Config& config, const PolicyHolder* policy, Gate* gate) {
  monitor::MonitorOptions acts;
  if (gate != nullptr) {
    acts.ownerCaller = [&config](std::uint32_t uid, std::uint32_t gid) { return ownerAsCaller(config, uid, gid); };
    // The record says who it is for (the owner), what (the container) and why; the policy's
    // judgement of the run itself follows (a denial is this record's outcome).
    acts.auditUnrequested = [gate](const Caller& owner, const std::string& dockerId,
                                   const std::string& reason) -> Result<std::uint64_t> {
      audit::RequestRecord record;
      record.uid = owner.uid;
      record.gid = owner.gid;
      record.groups = owner.groups;
      record.operation = "containers.start";
      record.objects = {{"container", dockerId, ""}};
      record.decision = audit::Decision::Allow;
      record.reason = reason + " (no client request)";
      auto seq = gate->log().writeRequest(record);
      if (!seq) return fail(ErrorKind::Unavailable, "dockerbox could not write its audit log", seq.error().context);
      return *seq;
    };
    acts.auditUnrequestedOutcome = [gate](std::uint64_t seq, const Result<void>& outcome) {
      gate->close(Ticket{seq}, outcome);
    };
  }
  acts.bindStillValid = [](std::string_view hostPath, bool readOnly, const Identity& who) {
    return stillResolvesTo(hostPath, who, readOnly ? MountAccess::ReadOnly : MountAccess::ReadWrite);
  };
  acts.initPath = config.initPath;
  acts.ioDir = config.runDir + "/io";
  acts.volumesDir = config.stateDir + "/volumes";
  acts.pinBinds = [&config](const std::string& dockerId, const std::vector<containers::BindSpec>& binds,
                            const Identity& who) {
    std::vector<BindToPin> toPin;
    for (const auto& b : binds) {
      toPin.push_back({b.hostPath, b.readOnly ? MountAccess::ReadOnly : MountAccess::ReadWrite, b.dockerboxVolume});
    }
    return pinBinds(config.runDir, config.miniboxSocket, dockerId, toPin, who);
  };
  acts.unpinBinds = [&config](const std::string& dockerId, std::size_t count) {
    unpinBinds(config.runDir, config.miniboxSocket, dockerId, count);
  };
  // Only registries miniboxd can pull the layers from (its Pull sends any other to Docker
  // Hub, protocol 8.7): the configuration and the layers must be of the same image.
  acts.resolveImage = [this, &config](std::string reference, std::string platform,
                                      containers::RegistryCredentials credentials, bool loginOnly)
      -> asio::awaitable<Result<containers::ResolvedImage>> {
    if (loginOnly) co_return co_await registry_.resolve(std::move(reference), "", std::move(credentials), true);
    auto ref = minibox::ImageRef::parse(reference);
    if (!ref) co_return ref.error();
    const auto& reachable = config.miniboxdRegistries;
    if (std::find(reachable.begin(), reachable.end(), ref->registry()) == reachable.end()) {
      std::string list;
      for (const auto& r : reachable) list += (list.empty() ? "" : ", ") + r;
      co_return fail(ErrorKind::NotImplemented,
                     "dockerbox cannot pull from " + ref->registry() + " yet: miniboxd downloads the layers and reaches "
                     "only " + list + " (DOCKERBOX_MINIBOXD_REGISTRIES)");
    }
    co_return co_await registry_.resolve(std::move(reference), std::move(platform), std::move(credentials), false);
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
  return acts;
}

Handlers::Handlers(asio::any_io_executor executor, const Config& config, const PolicyHolder* policy,
                   monitor::Sealer sealer, Gate* gate, std::shared_ptr<monitor::PortPublisher> ports)
    : config_(config), minibox_(executor, config.miniboxSocket), registry_(executor, registrySpecOf(config)) {
  auto options = monitorOptions(config, policy, gate);
  options.ports = std::move(ports);
  monitor_ = std::make_unique<monitor::Monitor>(minibox_, sealer, std::move(options));
}

void Handlers::attachEngine(asio::local::stream_protocol::socket acts, asio::local::stream_protocol::socket engine) {
  // The old channels' objects go: their requests and acts in flight hold what they use.
  actServer_ = std::make_unique<monitor::ActServer>(acts.get_executor(), std::move(acts), *monitor_, callers_);
  remoteEngine_ = std::make_shared<RemoteEngine>(engine.get_executor(), std::move(engine));
}

Handlers::~Handlers() = default;

}  // namespace dockerbox::broker
