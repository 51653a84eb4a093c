// Test-only: see service_fixture.hpp.
#include "tests/broker/containers/service_fixture.hpp"

#include <boost/asio/local/connect_pair.hpp>

#include <cstdio>

namespace dockerbox::broker::containers::testing {

void ServiceTest::open() {
  if (!state_) {
    auto opened = state::StateStore::open(dir_.path());
    ASSERT_TRUE(opened) << opened.error().context;
    state_ = std::move(*opened);
    auto logs = state::LogStore::open(dir_.path());
    ASSERT_TRUE(logs) << logs.error().context;
    logs_ = std::move(*logs);
  }
  io_ = std::make_unique<asio::io_context>();
  client_ = std::make_unique<minibox::Client>(io_->get_executor(), sim_.socketPath());
  ServiceOptions options;
  // A stable fake id per store name (production derives it by SHA-256).
  options.imageId = [](std::string_view store) {
    std::uint64_t h = 1469598103934665603ULL;
    for (char ch : store) h = (h ^ static_cast<unsigned char>(ch)) * 1099511628211ULL;
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
    return "sha256:" + std::string(hex) + std::string(48, '0');
  };
  monitor::MonitorOptions acts;
  acts.volumesDir = volumesDir();
  options.volumesDir = volumesDir();
  // The real re-check (bind_check.cpp) has its own tests; here every stored bind passes.
  acts.bindStillValid = [](std::string_view, bool, const Identity&) { return true; };
  // The simulator here runs containers as host processes (no image root to mount
  // dockerbox-init into), so no init is configured and the caller's rule may run containers
  // unconfined, as miniboxd runs them. Confinement has its own tests (confinement_test.cpp,
  // tests/e2e/test_confinement.py).
  acts.rejudge = [](const Caller&, const state::Blob&) {
    return Result<Grants>(Grants{policy::Privileged::Allowed, policy::RootUser::Allowed});
  };
  // Restart policies: the owner as the monitor finds them (handlers.cpp asks the group
  // database and the socket's admission), and the audit record kept here.
  acts.ownerCaller = [this](std::uint32_t uid, std::uint32_t gid) -> Result<Caller> {
    if (!ownerAdmitted_) return fail(ErrorKind::Forbidden, "denied: the container's owner is no longer allowed");
    return Caller(Identity{uid, gid, 0, {}, std::nullopt}, policy::Visibility::Own);
  };
  acts.auditUnrequested = [this](const Caller& owner, const std::string& id,
                                 const std::string& reason) -> Result<std::uint64_t> {
    unrequested_.push_back(std::to_string(owner.uid) + " " + id + " " + reason);
    return unrequested_.size();
  };
  acts.auditUnrequestedOutcome = [this](std::uint64_t, const Result<void>& outcome) {
    unrequestedOutcomes_.push_back(outcome ? "ok" : outcome.error().message);
  };
  // One key for the whole test, as one per state directory in production.
  monitor::Sealer::Key key{};
  key.fill(0x5a);
  monitor_ = std::make_unique<monitor::Monitor>(*client_, monitor::Sealer(key), std::move(acts));
  options.exitWait = 15s;
  options.retryMin = 50ms;
  options.retryMax = 500ms;
  MonitorPort* port = monitor_.get();
#ifdef DOCKERBOX_TEST_ACTS_CHANNEL
  asio::local::stream_protocol::socket engineEnd(*io_), monitorEnd(*io_);
  asio::local::connect_pair(engineEnd, monitorEnd);
  actServer_ = std::make_unique<monitor::ActServer>(io_->get_executor(), std::move(monitorEnd), *monitor_, callers_);
  remote_ = std::make_unique<RemoteMonitor>(io_->get_executor(), std::move(engineEnd));
  port = remote_.get();
#endif
  service_ = std::make_unique<ContainerService>(io_->get_executor(), *port, *state_, *logs_, options);
  auto started = service_->start();
  ASSERT_TRUE(started) << started.error().context;
}

void ServiceTest::crash() {
  service_.reset();
  remote_.reset();
  actServer_.reset();
  monitor_.reset();
  client_.reset();
  io_.reset();
}

bool ServiceTest::runUntil(const std::function<bool()>& condition, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    io_->run_one_for(std::min<std::chrono::steady_clock::duration>(deadline - now, 100ms));
  }
  return true;
}

void ServiceTest::fillConfig(const Spec& spec, wire::ContainerConfig::Builder c) {
  c.setName(spec.name);
  c.setImage(spec.image);
  if (spec.cmd) {
    c.setHasCmd(true);
    auto cmd = c.initCmd(static_cast<unsigned>(spec.cmd->size()));
    for (unsigned i = 0; i < spec.cmd->size(); ++i) cmd.set(i, (*spec.cmd)[i]);
  }
  auto labels = c.initLabels(static_cast<unsigned>(spec.labels.size()));
  for (unsigned i = 0; i < spec.labels.size(); ++i) {
    labels[i].setKey(spec.labels[i].first);
    labels[i].setValue(spec.labels[i].second);
  }
  auto env = c.initEnv(static_cast<unsigned>(spec.env.size()));
  for (unsigned i = 0; i < spec.env.size(); ++i) env.set(i, spec.env[i]);
  c.setWorkingDir(spec.workingDir);
  c.setOpenStdin(spec.openStdin);
  c.setStopTimeout(-1);
  auto host = c.initHost();
  host.setNetworkMode(spec.network);
  host.setAutoRemove(spec.autoRemove);
  if (!spec.healthTest.empty()) {
    c.setHasHealthcheck(true);
    writeHealthcheck(HealthcheckSpec{spec.healthTest, spec.healthInterval, spec.healthTimeout, spec.healthStartPeriod,
                                     spec.healthStartInterval, spec.healthRetries},
                     c.initHealthcheck());
  }
  host.setRestartPolicy(spec.restartPolicy);
  host.setRestartMaxRetries(spec.restartMaxRetries);
  if (!spec.publish.empty()) {
    auto port = host.initPortBindings(1)[0];
    port.setContainerPort(spec.publish);
    port.setHostPort("8080");
  }
  auto volumes = spec.volumes;
  if (spec.namedVolume) volumes.emplace_back("data", "/data");
  auto mounts = host.initMounts(static_cast<unsigned>(volumes.size()));
  for (unsigned i = 0; i < volumes.size(); ++i) {
    mounts[i].setType(wire::MountType::VOLUME);
    mounts[i].setSource(volumes[i].first);
    mounts[i].setTarget(volumes[i].second);
  }
}

CreateContainerOp ServiceTest::createOp(const Spec& spec) const {
  capnp::MallocMessageBuilder message;
  auto c = message.initRoot<wire::ContainerConfig>();
  fillConfig(spec, c);
  auto op = decode::createContainer(c.asReader());
  EXPECT_TRUE(op) << op.error().message;
  return op ? std::move(*op) : CreateContainerOp{};
}

std::string ServiceTest::create(const Spec& spec) {
  auto c = call(&ContainerService::handleCreateContainer, createOp(spec));
  EXPECT_TRUE(c->ok()) << c->error();
  if (!c->ok()) return {};
  return c->reply().getContainerCreated().getId();
}

bool ServiceTest::start(const std::string& ref) {
  auto c = call(&ContainerService::handleStartContainer, StartContainerOp{{ref}});
  EXPECT_TRUE(c->ok()) << c->error();
  return c->ok();
}

state::Container ServiceTest::container(const std::string& id) {
  auto c = state_->getContainer(id);
  EXPECT_TRUE(c) << c.error().message;
  return c ? *c : state::Container{};
}

}  // namespace dockerbox::broker::containers::testing
