// The shipped default policy (deploy/policy.toml) does what its comments promise.
#include "policy/policy.hpp"

#include "policy_test_support.hpp"

#include <gtest/gtest.h>

#include <functional>

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

TEST(DefaultPolicy, StrangersGetNothing) {
  for (auto name : kOperations)
    EXPECT_FALSE(evaluate(defaultPolicy(), carol(), op(std::string(name))).allowed()) << name;
}

}  // namespace
}  // namespace dockerbox::policy::test
