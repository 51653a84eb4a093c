// The shipped default policy (deploy/policy.toml) does what its comments promise.
#include "policy/policy.hpp"

#include "policy_test_support.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace dockerbox::policy::test {
namespace {

const Policy& defaultPolicy() {
  static const Policy policy = [] {
    auto loaded = loadPolicyFile(DOCKERBOX_DEFAULT_POLICY, kOperations, FileTrust::AnyOwner);
    if (!loaded) ADD_FAILURE() << loaded.error().toString();
    return loaded ? *loaded : Policy{};
  }();
  return policy;
}

TEST(DefaultPolicy, Loads) {
  EXPECT_EQ(defaultPolicy().rules().size(), 2U);
  EXPECT_EQ(defaultPolicy().settings().mode, Mode::Enforce);
}

TEST(DefaultPolicy, RootMayDoEverything) {
  for (auto name : kOperations) {
    auto d = evaluate(defaultPolicy(), root(), op(std::string(name)));
    EXPECT_TRUE(d.allowed()) << name;
    EXPECT_EQ(d.visibility, Visibility::All) << name;
  }
  ContainerSpec spec;
  spec.privileged = true;
  spec.user = "0";
  spec.networkMode = "host";
  spec.pidMode = "host";
  spec.capAdd = {"ALL"};
  spec.devices = {"/dev/sda"};
  spec.binds = {bindOf("/")};
  EXPECT_TRUE(evaluate(defaultPolicy(), root(), create(spec)).allowed());
}

TEST(DefaultPolicy, MembersRunUnprivilegedContainersTheyAloneSee) {
  const Policy& p = defaultPolicy();
  for (const Subject& who : {alice(), bob()}) {
    for (const char* name :
         {"system.version", "system.info", "containers.list", "containers.create",
          "containers.logs", "exec.create", "images.pull", "volumes.create"}) {
      auto d = evaluate(p, who, op(name));
      EXPECT_TRUE(d.allowed()) << name;
      EXPECT_EQ(d.visibility, Visibility::Own) << name;
    }
    for (const char* name : {"images.remove", "images.tag"}) {
      EXPECT_FALSE(evaluate(p, who, op(name)).allowed()) << name;
    }
  }
  auto list = evaluate(p, bob(), op("containers.list"));
  EXPECT_FALSE(canSee(list, bob(), Owner{1000, 1000}));  // alice's container
  EXPECT_TRUE(canSee(list, bob(), Owner{1001, 1001}));
}

TEST(DefaultPolicy, MembersAreConfined) {
  const Policy& p = defaultPolicy();
  EXPECT_TRUE(evaluate(p, alice(), create({})).allowed());
  EXPECT_TRUE(evaluate(p, alice(), createWithBind(bindOf("/home/alice/src"))).allowed());
  EXPECT_FALSE(evaluate(p, alice(), createWithBind(bindOf("/home/bob"))).allowed());
  EXPECT_FALSE(evaluate(p, alice(), createWithBind(bindOf("/"))).allowed());
  EXPECT_FALSE(evaluate(p, alice(), createWithBind(bindOf("/var/run/docker.sock"))).allowed());
  const std::function<void(ContainerSpec&)> refused[] = {
      [](ContainerSpec& s) { s.privileged = true; },
      [](ContainerSpec& s) { s.networkMode = "host"; },
      [](ContainerSpec& s) { s.user = "0:0"; },
      [](ContainerSpec& s) { s.capAdd = {"SYS_ADMIN"}; },
      [](ContainerSpec& s) { s.devices = {"/dev/sda"}; },
      [](ContainerSpec& s) { s.pidMode = "host"; },
      [](ContainerSpec& s) { s.securityOpt = {"seccomp=unconfined"}; },
  };
  for (const auto& set : refused) {
    ContainerSpec spec;
    set(spec);
    EXPECT_FALSE(evaluate(p, alice(), create(spec)).allowed());
  }
}

TEST(DefaultPolicy, MembersPublishUnprivilegedPortsOnLoopbackOnly) {
  const Policy& p = defaultPolicy();
  const Rule& members = p.rules()[1];
  EXPECT_EQ(members.name, "members");
  EXPECT_EQ(members.publishAddresses, (std::vector<std::string>{"127.0.0.1", "::1"}));
  EXPECT_EQ(members.publishPorts, (std::vector<PortRange>{{1024, 65535}}));
  auto publishing = [](std::string hostIp, std::uint16_t hostPort, std::string protocol = "tcp") {
    ContainerSpec spec;
    spec.ports = {PortPublish{std::move(protocol), std::move(hostIp), hostPort, 80}};
    return create(spec);
  };
  EXPECT_TRUE(evaluate(p, alice(), publishing("127.0.0.1", 8080)).allowed());
  EXPECT_TRUE(evaluate(p, alice(), publishing("::1", 8080)).allowed());
  EXPECT_TRUE(evaluate(p, alice(), publishing("127.0.0.1", 0)).allowed());  // random port
  EXPECT_TRUE(evaluate(p, alice(), publishing("127.0.0.1", 8080, "udp")).allowed());
  auto d = evaluate(p, alice(), publishing("0.0.0.0", 8080));
  EXPECT_FALSE(d.allowed());
  EXPECT_EQ(denialMessage(d),
            "denied by policy rule members: publishing port 80/tcp on 0.0.0.0:8080 is not allowed "
            "(publish_addresses)");
  EXPECT_FALSE(evaluate(p, alice(), publishing("::", 8080)).allowed());
  d = evaluate(p, alice(), publishing("127.0.0.1", 80));
  EXPECT_FALSE(d.allowed());
  EXPECT_EQ(denialMessage(d),
            "denied by policy rule members: host port 80 is not allowed (publish_ports: "
            "1024-65535)");
  EXPECT_FALSE(evaluate(p, alice(), publishing("127.0.0.1", 80, "udp")).allowed());

  // root's rule spells out every address and port; `privileged` alone would not.
  const Rule& rootRule = p.rules()[0];
  EXPECT_EQ(rootRule.publishAddresses, (std::vector<std::string>{"*"}));
  EXPECT_EQ(rootRule.publishPorts, (std::vector<PortRange>{{1, 65535}}));
  for (const char* address : {"0.0.0.0", "::", "127.0.0.1", "192.168.1.10"}) {
    EXPECT_TRUE(evaluate(p, root(), publishing(address, 80)).allowed()) << address;
    EXPECT_TRUE(evaluate(p, root(), publishing(address, 1, "udp")).allowed()) << address;
  }
}

TEST(DefaultPolicy, StrangersGetNothing) {
  for (auto name : kOperations)
    EXPECT_FALSE(evaluate(defaultPolicy(), carol(), op(std::string(name))).allowed()) << name;
}

}  // namespace
}  // namespace dockerbox::policy::test
