// The broker side of policy: holding and reloading the policy (fail closed), the caller's
// account names, the conversion of every operation, and the decision the gate gets.
#include "broker/authz.hpp"

#include "authz_test_support.hpp"
#include "broker/audit/audit_log.hpp"
#include "broker/gate.hpp"
#include "policy/evaluator.hpp"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace dockerbox::broker {
namespace {

using namespace testing;

constexpr const char* kAllowVersion = R"(
[[rule]]
name = "v1"
users = ["0"]
allow = ["system.version"]
)";

constexpr const char* kAllowInfo = R"(
[[rule]]
name = "v2"
users = ["0"]
allow = ["system.info"]
)";

// Rule "members" as members of the shipped policy get it, for the caller nobody.
std::string membersPolicy() {
  return shippedPolicyWith({{"groups = [\"dockerbox-users\"]", "users = [\"65534\"]"}});
}

class Holder : public ::testing::Test {
 protected:
  PolicyHolder holderWith(const std::string& text) {
    tree_.file("policy.toml", text);
    return PolicyHolder(tree_.path("policy.toml"), policy::FileTrust::AnyOwner);
  }
  Authorization decide(const PolicyHolder& holder, const Operation& op, const Identity& who = rootIdentity()) {
    return authorize(holder, who, op, trustingProbe);
  }
  TempTree tree_;
};

TEST(OperationNames, ThePolicyKnowsEveryDispatchedOperation) {
  auto names = policyOperationNames();
  for (const auto& info : kOperations) {
    EXPECT_NE(std::find(names.begin(), names.end(), info.auditName), names.end()) << info.auditName;
  }
  // A reserved name that has become a real operation must leave the reserved list.
  for (auto reserved : kReservedOperationNames) {
    for (const auto& info : kOperations) EXPECT_NE(info.auditName, reserved);
  }
}

TEST(OperationNames, TheShippedPolicyLoadsWithTheBrokersOperations) {
  auto loaded = policy::loadPolicyFile(DOCKERBOX_DEFAULT_POLICY, policyOperationNames(), policy::FileTrust::AnyOwner);
  ASSERT_TRUE(loaded) << loaded.error().toString();
  EXPECT_EQ(loaded->rules().size(), 2U);
}

TEST_F(Holder, LoadsAValidFile) {
  auto holder = holderWith(kAllowVersion);
  EXPECT_TRUE(holder.hasValidPolicy());
  EXPECT_TRUE(holder.startupResult());
  EXPECT_TRUE(decide(holder, VersionOp{}).gate.allowed);
  EXPECT_FALSE(decide(holder, InfoOp{}).gate.allowed);
  auto event = reloadEvent(holder, holder.startupResult());
  EXPECT_EQ(event.result, audit::ReloadResult::Ok);
  EXPECT_EQ(event.file, tree_.path("policy.toml"));
}

TEST_F(Holder, ReloadKeepsThePreviousPolicyWhenTheNewFileIsBroken) {
  auto holder = holderWith(kAllowVersion);
  auto before = holder.current();
  tree_.file("policy.toml", "[[rule]]\nname = \"v1\"\nusers = [\"0\"]\nallow = [\"system.versoin\"]\n");
  auto result = holder.reload();
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("policy.toml:4:"), std::string::npos) << result.error().message;
  EXPECT_EQ(holder.current(), before);
  EXPECT_TRUE(holder.hasValidPolicy());
  EXPECT_TRUE(decide(holder, VersionOp{}).gate.allowed);  // still enforcing v1
  auto event = reloadEvent(holder, result);
  EXPECT_EQ(event.result, audit::ReloadResult::Failed);
  EXPECT_EQ(event.error, result.error().message);

  tree_.file("policy.toml", kAllowInfo);
  ASSERT_TRUE(holder.reload());
  EXPECT_FALSE(decide(holder, VersionOp{}).gate.allowed);
  EXPECT_TRUE(decide(holder, InfoOp{}).gate.allowed);
}

TEST_F(Holder, AMissingFileDeniesEveryOperation) {
  PolicyHolder holder(tree_.path("absent.toml"), policy::FileTrust::AnyOwner);
  EXPECT_FALSE(holder.hasValidPolicy());
  EXPECT_FALSE(holder.startupResult());
  EXPECT_EQ(reloadEvent(holder, holder.startupResult()).result, audit::ReloadResult::Failed);
  for (const auto& op : allOperationsNaming("alpine")) {
    auto a = decide(holder, op);
    EXPECT_FALSE(a.gate.allowed) << operationName(op);
    EXPECT_FALSE(a.gate.wouldDeny) << operationName(op);
    EXPECT_EQ(a.gate.rule, "") << operationName(op);
    EXPECT_EQ(a.gate.reason, "no valid policy is loaded, so every request is refused");
  }
}

TEST_F(Holder, AnInvalidFileAtStartDeniesEverythingUntilAValidReload) {
  auto holder = holderWith("[settings]\nmode = \"enforce\"\nbogus = 1\n");
  EXPECT_FALSE(holder.hasValidPolicy());
  for (const auto& op : allOperationsNaming("alpine")) EXPECT_FALSE(decide(holder, op).gate.allowed);
  tree_.file("policy.toml", kAllowVersion);
  ASSERT_TRUE(holder.reload());
  EXPECT_TRUE(decide(holder, VersionOp{}).gate.allowed);
}

TEST_F(Holder, AValidPolicyWithoutRulesDeniesEveryOperation) {
  auto holder = holderWith("[settings]\nmode = \"enforce\"\n");
  ASSERT_TRUE(holder.hasValidPolicy());
  for (const auto& op : allOperationsNaming("alpine")) {
    auto a = decide(holder, op);
    EXPECT_FALSE(a.gate.allowed) << operationName(op);
    EXPECT_EQ(a.gate.reason, "no rule allows " + std::string(operationName(op)));
  }
}

TEST_F(Holder, RootOwnershipIsRequiredByDefault) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown the file";
  tree_.file("policy.toml", kAllowVersion, 0644, kNobody);
  PolicyHolder holder(tree_.path("policy.toml"));
  EXPECT_FALSE(holder.hasValidPolicy());
  EXPECT_NE(holder.startupResult().error().message.find("not owned by root"), std::string::npos);
  tree_.file("policy.toml", kAllowVersion, 0644, 0);
  ASSERT_TRUE(holder.reload());
  EXPECT_TRUE(decide(holder, VersionOp{}).gate.allowed);
}

TEST(Subject, NamesComeFromTheAccountDatabase) {
  auto root = subjectFor(rootIdentity());
  ASSERT_TRUE(root);
  EXPECT_EQ(root->userName, "root");
  EXPECT_EQ(root->home, "/root");
  EXPECT_EQ(root->groupNames, std::vector<std::string>{"root"});

  auto nobody = subjectFor(Identity{kNobody, kNobody, 1, {kNobody, 0}, std::nullopt});
  ASSERT_TRUE(nobody);
  EXPECT_EQ(nobody->userName, "nobody");
  EXPECT_EQ(nobody->uid, kNobody);
  EXPECT_EQ(nobody->groups, (std::vector<gid_t>{kNobody, 0}));
  EXPECT_EQ(nobody->groupNames, (std::vector<std::string>{"nogroup", "root"}));  // deduplicated
}

TEST(Subject, IdsWithoutAnEntryStayNumericOnly) {
  auto ghost = subjectFor(Identity{3999999, 3999998, 1, {3999997}, std::nullopt});
  ASSERT_TRUE(ghost);
  EXPECT_EQ(ghost->userName, "");
  EXPECT_EQ(ghost->home, "");
  EXPECT_TRUE(ghost->groupNames.empty());
}

TEST_F(Holder, NumericEntriesMatchCallersWithoutNames) {
  auto holder = holderWith("[[rule]]\nname = \"ghost\"\nusers = [\"3999999\"]\nallow = [\"system.info\"]\n");
  EXPECT_TRUE(decide(holder, InfoOp{}, Identity{3999999, 3999999, 1, {}, std::nullopt}).gate.allowed);
}

TEST_F(Holder, RootInsideTheContainerIsDenied) {
  auto holder = holderWith(membersPolicy());
  for (const char* user : {"0", "00", "0:0", "root", "1000:0", "-0", "0:"}) {
    auto create = createOf();
    create.spec.user = user;
    auto a = decide(holder, create, nobodyIdentity());
    EXPECT_FALSE(a.gate.allowed) << user;
    EXPECT_EQ(a.gate.rule, "members") << user;
    CreateExecOp exec;
    exec.user = user;
    EXPECT_FALSE(decide(holder, exec, nobodyIdentity()).gate.allowed) << user;
  }
  auto plain = createOf();
  plain.spec.user = "1000:1000";
  EXPECT_TRUE(decide(holder, plain, nobodyIdentity()).gate.allowed);
  // Root's own rule allows it.
  plain.spec.user = "0:0";
  EXPECT_TRUE(decide(holder, plain, rootIdentity()).gate.allowed);
}

TEST_F(Holder, PrivilegeRaisingFieldsAreDenied) {
  auto holder = holderWith(membersPolicy());
  const std::vector<std::function<void(HostSpec&)>> raise = {
      [](HostSpec& h) { h.privileged = true; },
      [](HostSpec& h) { h.capAdd = {"SYS_ADMIN"}; },
      [](HostSpec& h) { h.devices = {"/dev/sda"}; },
      [](HostSpec& h) { h.securityOpt = {"seccomp=unconfined"}; },
      [](HostSpec& h) { h.pidMode = "host"; },
      [](HostSpec& h) { h.ipcMode = "host"; },
      [](HostSpec& h) { h.utsMode = "host"; },
      [](HostSpec& h) { h.usernsMode = "host"; },
      [](HostSpec& h) { h.cgroupnsMode = "host"; },
      [](HostSpec& h) { h.sysctls = {{"kernel.shm_rmid_forced", "1"}}; },
      [](HostSpec& h) { h.cgroupParent = "/"; },
      [](HostSpec& h) { h.runtime = "runc-unsafe"; },
      [](HostSpec& h) { h.oomKillDisable = true; },
      [](HostSpec& h) { h.groupAdd = {"disk"}; },
      [](HostSpec& h) { h.volumesFrom = {"other"}; },
      [](HostSpec& h) { h.hasDeviceRequests = true; },
      [](HostSpec& h) { h.hasDeviceCgroupRules = true; },
      [](HostSpec& h) { h.networkMode = "host"; },
      [](HostSpec& h) { h.networkMode = "container:other"; },
      [](HostSpec& h) { h.volumeDriver = "sshfs"; },
  };
  for (std::size_t i = 0; i < raise.size(); ++i) {
    auto create = createOf();
    raise[i](create.spec.host);
    auto a = decide(holder, create, nobodyIdentity());
    EXPECT_FALSE(a.gate.allowed) << "case " << i;
    EXPECT_EQ(a.gate.rule, "members") << "case " << i;
    EXPECT_TRUE(decide(holder, create, rootIdentity()).gate.allowed) << "case " << i;
  }
  CreateExecOp exec;
  exec.privileged = true;
  EXPECT_FALSE(decide(holder, exec, nobodyIdentity()).gate.allowed);
  EXPECT_TRUE(decide(holder, exec, rootIdentity()).gate.allowed);
}

TEST_F(Holder, AForeignDriverOnOneVolumeMountNeedsPrivilege) {
  auto holder = holderWith(membersPolicy());
  auto create = createOf();
  MountSpec volume;
  volume.type = MountType::Volume;
  volume.source = "data";
  volume.target = "/data";
  create.spec.host.mounts = {volume};
  EXPECT_TRUE(decide(holder, create, nobodyIdentity()).gate.allowed);
  create.spec.host.mounts[0].volumeDriver = "rexray";
  auto a = decide(holder, create, nobodyIdentity());
  EXPECT_FALSE(a.gate.allowed);
  EXPECT_NE(a.gate.reason.find("volume driver 'rexray'"), std::string::npos) << a.gate.reason;
}

TEST_F(Holder, ImagesAreNormalisedAndAnUnparsableOneIsDenied) {
  EXPECT_EQ(*normaliseImage("alpine"), "docker.io/library/alpine:latest");
  EXPECT_EQ(*normaliseImage("me/app:1"), "docker.io/me/app:1");
  EXPECT_EQ(*normaliseImage("ghcr.io/org/x:2"), "ghcr.io/org/x:2");
  auto holder = holderWith(R"(
[[rule]]
name = "lib"
users = ["0"]
allow = ["containers.create", "images.*"]
images = ["docker.io/library/*:*"]
)");
  EXPECT_TRUE(decide(holder, createOf("alpine")).gate.allowed);
  EXPECT_TRUE(decide(holder, createOf("docker.io/library/alpine:3.19")).gate.allowed);
  EXPECT_FALSE(decide(holder, createOf("ghcr.io/org/x")).gate.allowed);
  EXPECT_FALSE(decide(holder, PullImageOp{"evil/alpine", "", "", ""}).gate.allowed);
  EXPECT_TRUE(decide(holder, PullImageOp{"alpine", "3.19", "", ""}).gate.allowed);
  for (const char* bad : {"alpine@sha256:0000", "UPPER/case", "", "a//b"}) {
    auto a = decide(holder, createOf(bad));
    EXPECT_FALSE(a.gate.allowed) << bad;
    EXPECT_EQ(a.gate.rule, "") << bad;
    EXPECT_EQ(a.gate.reason.rfind("invalid image reference", 0), 0U) << a.gate.reason;
    EXPECT_FALSE(decide(holder, RemoveImageOp{bad, false}).gate.allowed) << bad;
  }
}

TEST_F(Holder, LimitsAreInjectedAndVisibilityIsPassedOn) {
  auto holder = holderWith(R"(
[[rule]]
name = "team"
users = ["65534"]
allow = ["containers.*"]
visibility = "group"
max_memory = "1g"
default_memory = "256m"
max_cpus = 2.0
)");
  auto create = createOf();
  auto a = decide(holder, create, nobodyIdentity());
  ASSERT_TRUE(a.gate.allowed) << a.gate.reason;
  EXPECT_EQ(a.visibility, policy::Visibility::Group);
  EXPECT_EQ(a.injectMemory, 256U << 20);
  EXPECT_EQ(a.injectNanoCpus, 2'000'000'000U);
  applyAuthorization(a, create.spec);
  EXPECT_EQ(create.spec.host.memory, 256 << 20);
  EXPECT_EQ(create.spec.host.nanoCpus, 2'000'000'000);
  create.spec.host.memory = (1LL << 30) + 1;
  EXPECT_FALSE(decide(holder, create, nobodyIdentity()).gate.allowed);

  auto list = decide(holder, ListContainersOp{}, nobodyIdentity());
  EXPECT_TRUE(canSee(list, nobodyIdentity(), policy::Owner{1000, kNobody}));  // same group
  EXPECT_FALSE(canSee(list, nobodyIdentity(), policy::Owner{1000, 1000}));
  auto denied = decide(holder, VersionOp{}, nobodyIdentity());
  EXPECT_FALSE(canSee(denied, nobodyIdentity(), policy::Owner{kNobody, kNobody}));
}

TEST_F(Holder, TheStoredConfigGetsTheResolvedSourcesAndInjectedLimits) {
  auto holder = holderWith(R"(
[[rule]]
name = "srv"
users = ["65534"]
allow = ["containers.create"]
bind_sources = ["/srv/**"]
max_memory = "1g"
)");
  // What the decoder stores: the canonical ContainerConfig, mounts in the spec's order.
  capnp::MallocMessageBuilder message;
  auto config = message.initRoot<ipc::wire::ContainerConfig>();
  config.setImage("alpine");
  auto mounts = config.initHost().initMounts(2);
  mounts[0].setType(ipc::wire::MountType::VOLUME);
  mounts[0].setSource("data");
  mounts[1].setType(ipc::wire::MountType::BIND);
  mounts[1].setSource("/srv/./app/link");
  auto flat = capnp::messageToFlatArray(message);
  CreateContainerOp op = createOf();
  op.canonicalConfig.resize(flat.size());
  std::memcpy(op.canonicalConfig.data(), flat.begin(), flat.asBytes().size());
  MountSpec volume;
  volume.type = MountType::Volume;
  volume.source = "data";
  op.spec.host.mounts = {volume, bindMount("/srv/./app/link")};

  auto a = authorize(holder, nobodyIdentity(), op, [](std::string_view source, MountAccess) {
    EXPECT_EQ(source, "/srv/./app/link");
    return BindSourceFacts{"/srv/app/target", CallerAccess::Allowed};
  });
  ASSERT_TRUE(a.gate.allowed) << a.gate.reason;
  ASSERT_TRUE(applyAuthorization(a, op));
  EXPECT_EQ(op.spec.host.mounts[1].source, "/srv/app/target");
  EXPECT_EQ(op.spec.host.memory, 1LL << 30);
  kj::ArrayPtr<const capnp::word> words(reinterpret_cast<const capnp::word*>(op.canonicalConfig.data()),
                                        op.canonicalConfig.size());
  capnp::FlatArrayMessageReader reader(words);
  auto stored = reader.getRoot<ipc::wire::ContainerConfig>().getHost();
  EXPECT_EQ(std::string(stored.getMounts()[0].getSource().cStr()), "data");
  EXPECT_EQ(std::string(stored.getMounts()[1].getSource().cStr()), "/srv/app/target");
  EXPECT_EQ(stored.getMemory(), 1LL << 30);

  op.canonicalConfig.clear();  // a config that does not match the spec fails the request
  EXPECT_FALSE(applyAuthorization(a, op));
}

TEST_F(Holder, AnExceptionWhileDecidingDenies) {
  auto holder = holderWith(membersPolicy());
  auto create = createOf();
  create.spec.host.mounts = {bindMount("/tmp")};
  auto a = authorize(holder, nobodyIdentity(), create, [](std::string_view, MountAccess) -> BindSourceFacts {
    throw std::runtime_error("probe exploded");
  });
  EXPECT_FALSE(a.gate.allowed);
  EXPECT_EQ(a.gate.reason, "internal error in policy evaluation");
  EXPECT_EQ(a.detail, "probe exploded");
}

TEST_F(Holder, TheGateShowsTheDenialAsThePolicySpellsIt) {
  auto holder = holderWith(membersPolicy());
  audit::AuditLogOptions options;
  options.path = tree_.path("audit/audit.log");
  auto log = audit::AuditLog::open(std::move(options));
  ASSERT_TRUE(log);
  Gate gate(std::move(*log), holder);

  auto create = createOf();
  create.spec.host.privileged = true;
  auto a = decide(holder, create, nobodyIdentity());
  auto ticket = gate.open(nobodyIdentity(), "containers.create", nullptr, a.gate);
  ASSERT_FALSE(ticket);
  EXPECT_EQ(ticket.error().kind, ErrorKind::Forbidden);
  EXPECT_EQ(ticket.error().message,
            "denied by policy rule members: privileged mode requires a rule with privileged = true");

  auto noRule = decide(holder, RemoveImageOp{"alpine", false}, nobodyIdentity());
  auto refused = gate.open(nobodyIdentity(), "images.remove", nullptr, noRule.gate);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message, "denied by policy: no rule allows images.remove");
}

}  // namespace
}  // namespace dockerbox::broker
