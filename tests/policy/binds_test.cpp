// Bind mounts: the broker resolves every source (symlinks, "..", "//", "/./", trailing "/.",
// percent-encoding is the frontend's to decode), but the policy must refuse on its own
// whatever reaches it unresolved, outside its patterns or not accessible to the caller.
#include "policy/constraints.hpp"

#include "policy_test_support.hpp"

#include <gtest/gtest.h>

#include <string>

namespace dockerbox::policy::test {
namespace {

constexpr const char* kPolicy = R"(
[[rule]]
name = "members"
groups = ["dockerbox-users"]
allow = ["containers.*", "volumes.*"]
bind_sources = ["{home}/**", "/srv/shared/{user}/**"]

[[rule]]
name = "readers"
users = ["carol"]
allow = ["containers.create"]
bind_sources = ["/srv/data/**"]
bind_read_only = true
volumes = false
)";

struct BindCase {
  const char* name;
  Bind bind;
  bool allowed;
};

Bind unresolved(std::string requested) {
  return Bind{BindKind::Bind, std::move(requested), std::nullopt, MountAccess::ReadWrite, true};
}

Bind resolvedTo(std::string requested, std::string resolved) {
  return Bind{BindKind::Bind, std::move(requested), std::move(resolved), MountAccess::ReadWrite,
              true};
}

const BindCase kAliceCases[] = {
    {"home_itself", bindOf("/home/alice"), true},
    {"below_home", bindOf("/home/alice/src/app"), true},
    {"below_home_read_only", bindOf("/home/alice/src", MountAccess::ReadOnly), true},
    {"shared_user_dir", bindOf("/srv/shared/alice/x"), true},
    // Segment boundaries.
    {"sibling_prefix", bindOf("/home/alice2/x"), false},
    {"sibling_prefix_dir", bindOf("/home/alicex"), false},
    {"other_user_shared", bindOf("/srv/shared/bob/x"), false},
    {"parent_of_home", bindOf("/home"), false},
    {"root", bindOf("/"), false},
    {"etc", bindOf("/etc"), false},
    // The requested text does not matter, only the resolved path.
    {"symlink_out_of_home", resolvedTo("/home/alice/link", "/etc"), false},
    {"dotdot_out_of_home", resolvedTo("/home/alice/../bob", "/home/bob"), false},
    {"dotdot_within_home", resolvedTo("/home/alice/a/../b", "/home/alice/b"), true},
    {"double_slash", resolvedTo("//etc", "/etc"), false},
    {"dot_segments", resolvedTo("/home/alice/./.", "/home/alice"), true},
    {"percent_encoded_after_decoding", resolvedTo("/home/alice/%2e%2e/bob", "/home/bob"), false},
    // Unresolved or missing sources are refused even when the text looks fine.
    {"unresolved", unresolved("/home/alice/new-dir"), false},
    {"unresolved_outside", unresolved("/etc"), false},
    // A broker that forgot to normalise is not trusted either.
    {"resolved_not_normalised", resolvedTo("/home/alice/../bob", "/home/alice/../bob"), false},
    {"resolved_relative", resolvedTo("x", "home/alice/x"), false},
    {"resolved_trailing_slash", resolvedTo("/home/alice/", "/home/alice/"), false},
    {"resolved_with_nul", resolvedTo("/home/alice/x", std::string("/home/alice/x\0/etc", 18)),
     false},
    // The caller must be able to reach the path with their own ids.
    {"not_accessible",
     Bind{BindKind::Bind, "/home/alice/x", "/home/alice/x", MountAccess::ReadWrite, false}, false},
    // Volume driver options that bind are binds of the device path.
    {"driver_bind_home",
     Bind{BindKind::VolumeDriverBind, "/home/alice/v", "/home/alice/v", MountAccess::ReadWrite,
          true},
     true},
    {"driver_bind_root", Bind{BindKind::VolumeDriverBind, "/", "/", MountAccess::ReadWrite, true},
     false},
    {"driver_bind_unresolved",
     Bind{BindKind::VolumeDriverBind, "/x", std::nullopt, MountAccess::ReadWrite, true}, false},
    // Named volumes have no host path.
    {"named_volume", Bind{BindKind::Volume, "data", std::nullopt, MountAccess::ReadWrite, false},
     true},
};

class AliceBinds : public ::testing::TestWithParam<BindCase> {};

TEST_P(AliceBinds, Decide) {
  static const Policy policy = parseOk(kPolicy);
  const auto& c = GetParam();
  auto d = evaluate(policy, alice(), createWithBind(c.bind));
  EXPECT_EQ(d.allowed(), c.allowed) << d.reason << " / " << d.detail;
  EXPECT_EQ(d.rule, "members");
}

INSTANTIATE_TEST_SUITE_P(Table, AliceBinds, ::testing::ValuesIn(kAliceCases),
                         [](const auto& param) { return std::string(param.param.name); });

TEST(Binds, DenialsDoNotRevealTheHost) {
  auto policy = parseOk(kPolicy);
  // A symlink to a secret place, an unresolvable path, an inaccessible one: same answer.
  auto viaLink =
      evaluate(policy, alice(), createWithBind(resolvedTo("/home/alice/l", "/home/bob/.ssh")));
  auto missing = evaluate(policy, alice(), createWithBind(unresolved("/home/alice/l")));
  auto denied = evaluate(policy, alice(),
                         createWithBind(Bind{BindKind::Bind, "/home/alice/l", "/home/alice/l",
                                             MountAccess::ReadWrite, false}));
  EXPECT_EQ(viaLink.reason, missing.reason);
  EXPECT_EQ(viaLink.reason, denied.reason);
  EXPECT_EQ(viaLink.reason.find("/home/bob"), std::string::npos);
  EXPECT_NE(viaLink.detail.find("/home/bob/.ssh"), std::string::npos);  // administrators see it
}

TEST(Binds, HomeThatWouldGrantEverythingGrantsNothing) {
  auto policy = parseOk(kPolicy);
  for (const char* home : {"/", "", "relative", "/home/../", "/home/alice/"}) {
    Subject who = alice();
    who.home = home;
    for (const char* path : {"/", "/etc", "/etc/shadow", "/home/alice/x"}) {
      auto e = explain(policy, who, createWithBind(bindOf(path)));
      EXPECT_FALSE(e.decision.allowed()) << "home=" << home << " path=" << path;
    }
    auto e = explain(policy, who, createWithBind(bindOf("/etc")));
    EXPECT_NE(e.decision.detail.find("unusable"), std::string::npos) << e.toString();
  }
}

TEST(Binds, UserNameThatWouldWidenGrantsNothing) {
  auto policy = parseOk(kPolicy);
  for (const char* name : {"", ".", "..", "../bob"}) {
    Subject who = alice();
    who.userName = name;
    EXPECT_FALSE(evaluate(policy, who, createWithBind(bindOf("/srv/shared"))).allowed()) << name;
    EXPECT_FALSE(evaluate(policy, who, createWithBind(bindOf("/srv/shared/bob"))).allowed())
        << name;
  }
}

TEST(Binds, ReadOnlyRequired) {
  auto policy = parseOk(kPolicy);
  EXPECT_TRUE(
      evaluate(policy, carol(), createWithBind(bindOf("/srv/data/x", MountAccess::ReadOnly)))
          .allowed());
  auto rw = evaluate(policy, carol(), createWithBind(bindOf("/srv/data/x")));
  EXPECT_FALSE(rw.allowed());
  EXPECT_NE(rw.reason.find("read-only"), std::string::npos);
  EXPECT_FALSE(
      evaluate(policy, carol(), createWithBind(bindOf("/etc", MountAccess::ReadOnly))).allowed());
}

TEST(Binds, NamedVolumesCanBeTurnedOff) {
  auto policy = parseOk(kPolicy);
  auto d = evaluate(
      policy, carol(),
      createWithBind(Bind{BindKind::Volume, "data", std::nullopt, MountAccess::ReadWrite, false}));
  EXPECT_FALSE(d.allowed());
  EXPECT_NE(d.reason.find("named volume"), std::string::npos);
}

TEST(Binds, NoBindSourcesMeansNoBinds) {
  auto policy =
      parseOk("[[rule]]\nname='r'\nusers=['alice']\nallow=['*']\nprivileged=true\nroot_user=true");
  EXPECT_FALSE(evaluate(policy, alice(), createWithBind(bindOf("/home/alice"))).allowed());
}

TEST(Binds, EveryBindMustPass) {
  auto policy = parseOk(kPolicy);
  ContainerSpec spec;
  spec.binds = {bindOf("/home/alice/a"), bindOf("/etc"), bindOf("/home/alice/b")};
  EXPECT_FALSE(evaluate(policy, alice(), create(spec)).allowed());
}

TEST(Binds, VolumeCreateWithBindingDriverOptions) {
  auto policy = parseOk(kPolicy);
  auto volume = [](std::string driver, std::vector<Bind> binds) {
    Request r = op("volumes.create");
    r.volume = VolumeSpec{std::move(driver), std::move(binds)};
    return r;
  };
  auto deviceBind = [](std::string path) {
    return Bind{BindKind::VolumeDriverBind, path, path, MountAccess::ReadWrite, true};
  };
  EXPECT_TRUE(evaluate(policy, alice(), volume("", {})).allowed());
  EXPECT_TRUE(evaluate(policy, alice(), volume("local", {deviceBind("/home/alice/v")})).allowed());
  EXPECT_FALSE(evaluate(policy, alice(), volume("local", {deviceBind("/")})).allowed());
  EXPECT_FALSE(evaluate(policy, alice(), volume("local", {deviceBind("/home/bob")})).allowed());
  EXPECT_FALSE(evaluate(policy, alice(), volume("nfs", {})).allowed());
}

}  // namespace
}  // namespace dockerbox::policy::test
