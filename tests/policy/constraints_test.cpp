#include "policy/constraints.hpp"

#include "policy_test_support.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <string>

namespace dockerbox::policy::test {
namespace {

// alice: an unprivileged rule with a few explicit grants; root: privileged = true.
constexpr const char* kPolicy = R"(
[[rule]]
name = "privileged"
users = ["root"]
allow = ["*"]
privileged = true
root_user = true
network_modes = ["*"]

[[rule]]
name = "plain"
users = ["alice"]
allow = ["*"]
images = ["docker.io/library/*", "ghcr.io/myorg/**"]
network_modes = ["none", "bridge", "default", "mynet"]
max_memory = "2g"
default_memory = "512m"
max_cpus = 2.0
default_cpus = 1.0
capabilities = ["NET_BIND_SERVICE"]
devices = ["/dev/fuse"]
)";

struct SpecCase {
  const char* name;
  std::function<void(ContainerSpec&)> set;
  bool plainAllows;       // under the unprivileged rule
  bool privilegedAllows;  // under privileged = true
};

const SpecCase kSpecCases[] = {
    {"nothing_set", [](ContainerSpec&) {}, true, true},
    {"privileged", [](ContainerSpec& s) { s.privileged = true; }, false, true},
    {"cap_add_allowed", [](ContainerSpec& s) { s.capAdd = {"NET_BIND_SERVICE"}; }, true, true},
    {"cap_add_allowed_other_spelling",
     [](ContainerSpec& s) { s.capAdd = {"cap_net_bind_service"}; }, true, true},
    {"cap_add_sys_admin", [](ContainerSpec& s) { s.capAdd = {"SYS_ADMIN"}; }, false, true},
    {"cap_add_all", [](ContainerSpec& s) { s.capAdd = {"ALL"}; }, false, true},
    {"cap_add_unknown", [](ContainerSpec& s) { s.capAdd = {"CAP_MADE_UP"}; }, false, true},
    {"device_allowed", [](ContainerSpec& s) { s.devices = {"/dev/fuse"}; }, true, true},
    {"device_disk", [](ContainerSpec& s) { s.devices = {"/dev/sda"}; }, false, true},
    {"device_fuse_spelled_otherwise", [](ContainerSpec& s) { s.devices = {"/dev//fuse"}; }, false,
     true},
    {"device_requests", [](ContainerSpec& s) { s.deviceRequests = true; }, false, true},
    {"device_cgroup_rules", [](ContainerSpec& s) { s.deviceCgroupRules = true; }, false, true},
    {"security_opt_no_new_privs", [](ContainerSpec& s) { s.securityOpt = {"no-new-privileges"}; },
     true, true},
    {"security_opt_no_new_privs_true",
     [](ContainerSpec& s) { s.securityOpt = {"no-new-privileges:true"}; }, true, true},
    {"security_opt_no_new_privs_false",
     [](ContainerSpec& s) { s.securityOpt = {"no-new-privileges:false"}; }, false, true},
    {"security_opt_seccomp", [](ContainerSpec& s) { s.securityOpt = {"seccomp=unconfined"}; },
     false, true},
    {"security_opt_apparmor", [](ContainerSpec& s) { s.securityOpt = {"apparmor=unconfined"}; },
     false, true},
    {"security_opt_label", [](ContainerSpec& s) { s.securityOpt = {"label=disable"}; }, false,
     true},
    {"security_opt_systempaths",
     [](ContainerSpec& s) { s.securityOpt = {"systempaths=unconfined"}; }, false, true},
    {"pid_host", [](ContainerSpec& s) { s.pidMode = "host"; }, false, true},
    {"pid_container", [](ContainerSpec& s) { s.pidMode = "container:abc"; }, false, true},
    {"ipc_private", [](ContainerSpec& s) { s.ipcMode = "private"; }, true, true},
    {"ipc_shareable", [](ContainerSpec& s) { s.ipcMode = "shareable"; }, true, true},
    {"ipc_none", [](ContainerSpec& s) { s.ipcMode = "none"; }, true, true},
    {"ipc_host", [](ContainerSpec& s) { s.ipcMode = "host"; }, false, true},
    {"ipc_container", [](ContainerSpec& s) { s.ipcMode = "container:abc"; }, false, true},
    {"ipc_unknown", [](ContainerSpec& s) { s.ipcMode = "HOST"; }, false, true},
    {"uts_host", [](ContainerSpec& s) { s.utsMode = "host"; }, false, true},
    {"userns_host", [](ContainerSpec& s) { s.usernsMode = "host"; }, false, true},
    {"cgroupns_private", [](ContainerSpec& s) { s.cgroupnsMode = "private"; }, true, true},
    {"cgroupns_host", [](ContainerSpec& s) { s.cgroupnsMode = "host"; }, false, true},
    {"sysctls",
     [](ContainerSpec& s) {
       s.sysctls = {{"net.ipv4.ip_forward", "1"}};
     },
     false, true},
    {"cgroup_parent", [](ContainerSpec& s) { s.cgroupParent = "/"; }, false, true},
    {"runtime", [](ContainerSpec& s) { s.runtime = "runc"; }, false, true},
    {"oom_kill_disable", [](ContainerSpec& s) { s.oomKillDisable = true; }, false, true},
    {"group_add", [](ContainerSpec& s) { s.groupAdd = {"disk"}; }, false, true},
    {"volumes_from", [](ContainerSpec& s) { s.volumesFrom = {"other"}; }, false, true},
    {"masked_paths", [](ContainerSpec& s) { s.maskedPathsSet = true; }, false, true},
    {"readonly_paths", [](ContainerSpec& s) { s.readonlyPathsSet = true; }, false, true},
    {"user_unset", [](ContainerSpec& s) { s.user = ""; }, true, true},
    {"user_1000", [](ContainerSpec& s) { s.user = "1000:1000"; }, true, true},
    {"user_0", [](ContainerSpec& s) { s.user = "0"; }, false, true},
    {"user_00", [](ContainerSpec& s) { s.user = "00"; }, false, true},
    {"user_0_0", [](ContainerSpec& s) { s.user = "0:0"; }, false, true},
    {"user_root", [](ContainerSpec& s) { s.user = "root"; }, false, true},
    {"user_root_root", [](ContainerSpec& s) { s.user = "root:root"; }, false, true},
    {"user_gid_0", [](ContainerSpec& s) { s.user = "1000:0"; }, false, true},
    {"user_minus_0", [](ContainerSpec& s) { s.user = "-0"; }, false, true},
    {"user_overflow", [](ContainerSpec& s) { s.user = "4294967296"; }, false, true},
    {"network_default_empty", [](ContainerSpec& s) { s.networkMode = ""; }, true, true},
    {"network_default", [](ContainerSpec& s) { s.networkMode = "default"; }, true, true},
    {"network_bridge", [](ContainerSpec& s) { s.networkMode = "bridge"; }, true, true},
    {"network_none", [](ContainerSpec& s) { s.networkMode = "none"; }, true, true},
    {"network_named", [](ContainerSpec& s) { s.networkMode = "mynet"; }, true, true},
    {"network_other_named", [](ContainerSpec& s) { s.networkMode = "theirnet"; }, false, true},
    {"network_host", [](ContainerSpec& s) { s.networkMode = "host"; }, false, true},
    {"network_container", [](ContainerSpec& s) { s.networkMode = "container:abc"; }, false, true},
    {"image_library", [](ContainerSpec& s) { s.image = "docker.io/library/nginx:1"; }, true, true},
    {"image_org", [](ContainerSpec& s) { s.image = "ghcr.io/myorg/team/app:1"; }, true, true},
    {"image_other_org", [](ContainerSpec& s) { s.image = "ghcr.io/evil/app:1"; }, false, true},
    {"image_user_namespace", [](ContainerSpec& s) { s.image = "docker.io/mallory/alpine:latest"; },
     false, true},
    {"memory_at_max", [](ContainerSpec& s) { s.memory = 2ULL << 30; }, true, true},
    {"memory_above_max", [](ContainerSpec& s) { s.memory = (2ULL << 30) + 1; }, false, true},
    {"cpus_at_max", [](ContainerSpec& s) { s.nanoCpus = 2'000'000'000; }, true, true},
    {"cpus_above_max", [](ContainerSpec& s) { s.nanoCpus = 2'000'000'001; }, false, true},
};

class SpecConstraints : public ::testing::TestWithParam<SpecCase> {};

TEST_P(SpecConstraints, AllowAndDeny) {
  static const Policy policy = parseOk(kPolicy);
  const auto& c = GetParam();
  ContainerSpec spec;
  c.set(spec);
  auto plain = evaluate(policy, alice(), create(spec));
  EXPECT_EQ(plain.allowed(), c.plainAllows) << plain.reason;
  EXPECT_EQ(plain.rule, "plain");
  if (!plain.allowed()) {
    EXPECT_FALSE(plain.reason.empty());
  }
  auto privileged = evaluate(policy, root(), create(spec));
  EXPECT_EQ(privileged.allowed(), c.privilegedAllows) << privileged.reason;
}

INSTANTIATE_TEST_SUITE_P(Table, SpecConstraints, ::testing::ValuesIn(kSpecCases),
                         [](const auto& param) { return std::string(param.param.name); });

TEST(Constraints, DefaultsAreInjectedOnlyWhenUnset) {
  auto policy = parseOk(kPolicy);
  auto d = evaluate(policy, alice(), create({}));
  ASSERT_TRUE(d.allowed());
  EXPECT_EQ(d.injectMemory, 512ULL << 20);
  EXPECT_EQ(d.injectNanoCpus, 1'000'000'000ULL);
  ContainerSpec set;
  set.memory = 1ULL << 30;
  set.nanoCpus = 500'000'000;
  d = evaluate(policy, alice(), create(set));
  EXPECT_FALSE(d.injectMemory);
  EXPECT_FALSE(d.injectNanoCpus);
  d = evaluate(policy, root(), create({}));  // no limits in that rule
  EXPECT_FALSE(d.injectMemory);
  EXPECT_FALSE(d.injectNanoCpus);
  EXPECT_FALSE(evaluate(policy, alice(), op("containers.list")).injectMemory);
}

TEST(Constraints, MaximumAloneIsAlsoTheDefault) {
  auto policy =
      parseOk("[[rule]]\nname='r'\nusers=['alice']\nallow=['*']\nmax_memory='1g'\nmax_cpus=0.5");
  auto d = evaluate(policy, alice(), create({}));
  EXPECT_EQ(d.injectMemory, 1ULL << 30);
  EXPECT_EQ(d.injectNanoCpus, 500'000'000ULL);
}

TEST(Constraints, EveryViolationIsReported) {
  auto policy = parseOk(kPolicy);
  ContainerSpec spec;
  spec.privileged = true;
  spec.networkMode = "host";
  spec.user = "0";
  auto d = evaluate(policy, alice(), create(spec));
  EXPECT_FALSE(d.allowed());
  EXPECT_NE(d.reason.find("privileged mode"), std::string::npos) << d.reason;
  EXPECT_NE(d.reason.find("network mode 'host'"), std::string::npos) << d.reason;
  EXPECT_NE(d.reason.find("User '0' runs as root"), std::string::npos) << d.reason;
}

TEST(Constraints, LongClientTextIsCutInMessages) {
  auto policy = parseOk(kPolicy);
  ContainerSpec spec;
  spec.securityOpt = {"seccomp=" + std::string(100000, 'x')};
  auto d = evaluate(policy, alice(), create(spec));
  EXPECT_FALSE(d.allowed());
  EXPECT_LT(d.reason.size(), 300U);
}

TEST(Constraints, Exec) {
  auto policy = parseOk(kPolicy);
  auto exec = [](bool privileged, std::string user) {
    Request r = op("exec.create");
    r.exec = ExecSpec{privileged, std::move(user)};
    return r;
  };
  EXPECT_TRUE(evaluate(policy, alice(), exec(false, "")).allowed());
  EXPECT_TRUE(evaluate(policy, alice(), exec(false, "1000")).allowed());
  for (const char* user : {"0", "00", "0:0", "root"}) {
    EXPECT_FALSE(evaluate(policy, alice(), exec(false, user)).allowed()) << user;
    EXPECT_TRUE(evaluate(policy, root(), exec(false, user)).allowed()) << user;
  }
  EXPECT_FALSE(evaluate(policy, alice(), exec(true, "")).allowed());
  EXPECT_TRUE(evaluate(policy, root(), exec(true, "")).allowed());
}

TEST(Constraints, ImagesNamedByOtherOperations) {
  auto policy = parseOk(kPolicy);
  Request pull = op("images.pull");
  pull.images = {"docker.io/library/alpine:3.19"};
  EXPECT_TRUE(evaluate(policy, alice(), pull).allowed());
  pull.images = {"docker.io/evil/alpine:3.19"};
  EXPECT_FALSE(evaluate(policy, alice(), pull).allowed());
  pull.images = {"docker.io/library/alpine:1", "quay.io/x/y:1"};
  EXPECT_FALSE(evaluate(policy, alice(), pull).allowed());
  EXPECT_TRUE(evaluate(policy, root(), pull).allowed());  // no images key: any image
  auto none = parseOk("[[rule]]\nname='r'\nusers=['alice']\nallow=['*']\nimages=[]");
  EXPECT_FALSE(evaluate(none, alice(), create({})).allowed());
}

TEST(Constraints, SafeSecurityOpts) {
  EXPECT_TRUE(isSafeSecurityOpt("no-new-privileges"));
  EXPECT_TRUE(isSafeSecurityOpt("no-new-privileges=true"));
  EXPECT_FALSE(isSafeSecurityOpt("no-new-privileges=false"));
  EXPECT_FALSE(isSafeSecurityOpt("NO-NEW-PRIVILEGES"));
  EXPECT_FALSE(isSafeSecurityOpt(""));
}

}  // namespace
}  // namespace dockerbox::policy::test
