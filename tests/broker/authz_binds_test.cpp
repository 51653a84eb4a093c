// The bind bypass suite (issue 4): every trick that would make a bind source escape what the
// policy allows, run against the real host checks (checkBindSource) and the shipped default
// policy with its `{home}/**` rule pointed at a private tree. The caller is uid 65534, so
// these tests need root (to drop to it) and skip visibly without it.
#include "broker/bind_check.hpp"

#include "authz_test_support.hpp"
#include "broker/authz.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

namespace dockerbox::broker {
namespace {

using namespace testing;

class Binds : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root: the access check drops to uid 65534";
    home_ = tree_.path("home");
    tree_.dir("home", 0755, kNobody);
    tree_.dir("home/sub", 0755, kNobody);
    tree_.file("home/file", "x", 0644, kNobody);
    tree_.dir("home/private", 0700, 0);  // inside the home, but the caller cannot read it
    tree_.dir("home/private/inner", 0755, 0);
    tree_.dir("home/readonly", 0755, 0);  // readable, not writable by the caller
    tree_.dir("home/%2e%2e", 0755, kNobody);
    tree_.dir("secret", 0755, 0);  // outside the home, readable by everyone
    tree_.symlink("home/to-root", "/");
    tree_.symlink("home/to-secret", "../secret");
    tree_.symlink("home/to-sub", "sub");
    tree_.file("policy.toml",
               shippedPolicyWith({{"groups = [\"dockerbox-users\"]", "users = [\"65534\"]"},
                                  {"bind_sources = [\"{home}/**\"]", "bind_sources = [\"" + home_ + "/**\"]"}}));
    holder_ = std::make_unique<PolicyHolder>(tree_.path("policy.toml"), policy::FileTrust::AnyOwner);
    ASSERT_TRUE(holder_->hasValidPolicy());
  }

  Authorization createWith(std::vector<MountSpec> mounts, const Identity& who = nobodyIdentity()) {
    auto create = createOf();
    create.spec.host.mounts = std::move(mounts);
    // No miniboxd here: the checks run in the broker's own mount namespace (the fallback).
    return authorize(*holder_, who, create, tree_.path("no-miniboxd.sock"));
  }
  Authorization bind(const std::string& source, MountAccess access = MountAccess::ReadWrite) {
    return createWith({bindMount(source, access)});
  }

  TempTree tree_;
  std::string home_;
  std::unique_ptr<PolicyHolder> holder_;
};

TEST_F(Binds, TheHomeItselfIsAllowedAndThePathMountedIsTheResolvedOne) {
  for (const std::string& spelling :
       {home_ + "/sub", home_ + "/sub/", home_ + "/sub/.", home_ + "//sub", home_ + "/./sub",
        home_ + "/to-sub", "/" + home_ + "/sub", home_ + "/sub/../sub"}) {
    auto a = bind(spelling);
    ASSERT_TRUE(a.gate.allowed) << spelling << ": " << a.gate.reason << " / " << a.detail;
    ASSERT_EQ(a.resolvedBinds.size(), 1U) << spelling;
    EXPECT_EQ(a.resolvedBinds[0].path, home_ + "/sub") << spelling;
    auto spec = createOf().spec;
    spec.host.mounts = {bindMount(spelling)};
    applyAuthorization(a, spec);
    EXPECT_EQ(spec.host.mounts[0].source, home_ + "/sub") << spelling;
  }
  EXPECT_TRUE(bind(home_).gate.allowed);
  EXPECT_TRUE(bind(home_ + "/readonly", MountAccess::ReadOnly).gate.allowed);
}

TEST_F(Binds, EveryEscapeIsDenied) {
  const std::vector<std::string> escapes = {
      "/",
      home_ + "/to-root",                   // symlink to /
      home_ + "/to-root/etc",               // ... and below it
      home_ + "/to-root/.",                 // trailing /.
      home_ + "/to-secret",                 // symlink out of the home
      home_ + "/../secret",                 // ..
      home_ + "/sub/../../secret",          // .. from deeper
      home_ + "//..//secret",               // //
      home_ + "/./../secret",               // /./
      home_ + "/../secret/.",               // .. and a trailing /.
      home_ + "/%2e%2e/secret",             // percent-encoding is not decoding
      home_ + "/missing",                   // does not exist
      home_ + "/missing/..",                // .. over a missing directory
      home_ + "/file/.",                    // a file is no directory
      home_ + "/private",                   // the caller cannot read it
      home_ + "/private/inner",             // nor search the directory above it
      home_ + "/readonly",                  // read-write on what the caller can only read
      "/proc/self/root" + home_ + "/sub",   // a magic link
      "/proc/1/cwd",
      "home/sub",                           // relative: not a host path
      "",
  };
  for (const auto& source : escapes) {
    for (bool fromBinds : {false, true}) {
      auto a = createWith({bindMount(source, MountAccess::ReadWrite, fromBinds)});
      if (fromBinds && (source.empty() || source.front() != '/')) {
        continue;  // a relative Binds source is a named volume, which has no host path
      }
      EXPECT_FALSE(a.gate.allowed) << source << " fromBinds=" << fromBinds;
      EXPECT_EQ(a.gate.rule, "members") << source;
      EXPECT_EQ(a.gate.reason, "bind source '" + source.substr(0, 80) + (source.size() > 80 ? "...'" : "'") +
                                   " is not allowed")
          << source;
      EXPECT_TRUE(a.resolvedBinds.empty()) << source;
    }
  }
}

TEST_F(Binds, OneBadMountAmongGoodOnesDeniesTheWholeRequest) {
  auto a = createWith({bindMount(home_ + "/sub"), bindMount(home_ + "/to-root", MountAccess::ReadOnly, false)});
  EXPECT_FALSE(a.gate.allowed);
}

TEST_F(Binds, AVolumeWhoseDriverOptionsBindIsJudgedAsABind) {
  auto volumeBinding = [](const std::string& device, const std::string& key = "device") {
    MountSpec m;
    m.type = MountType::Volume;
    m.source = "data";
    m.target = "/data";
    m.volumeOptions = {{"type", "none"}, {"o", "bind"}, {key, device}};
    return m;
  };
  EXPECT_FALSE(createWith({volumeBinding("/")}).gate.allowed);
  EXPECT_FALSE(createWith({volumeBinding(home_ + "/to-root")}).gate.allowed);
  EXPECT_FALSE(createWith({volumeBinding("/", "DEVICE")}).gate.allowed);
  EXPECT_FALSE(createWith({volumeBinding("/dev/sda1")}).gate.allowed);
  auto ok = createWith({volumeBinding(home_ + "/to-sub")});
  ASSERT_TRUE(ok.gate.allowed) << ok.gate.reason << " / " << ok.detail;
  auto spec = createOf().spec;
  spec.host.mounts = {volumeBinding(home_ + "/to-sub")};
  applyAuthorization(ok, spec);
  EXPECT_EQ(spec.host.mounts[0].volumeOptions[2].second, home_ + "/sub");
  // A second device option cannot hide behind the first.
  auto twice = volumeBinding(home_ + "/sub");
  twice.volumeOptions.push_back({"device", "/"});
  EXPECT_FALSE(createWith({twice}).gate.allowed);
}

TEST_F(Binds, RootMayBindAnythingThatExists) {
  EXPECT_TRUE(createWith({bindMount("/")}, rootIdentity()).gate.allowed);
  EXPECT_TRUE(createWith({bindMount(home_ + "/private")}, rootIdentity()).gate.allowed);
  EXPECT_FALSE(createWith({bindMount(home_ + "/missing")}, rootIdentity()).gate.allowed);
}

TEST_F(Binds, TheCheckReportsWhatItFound) {
  auto facts = checkBindSource(home_ + "/to-secret/.", nobodyIdentity(), MountAccess::ReadOnly);
  ASSERT_TRUE(facts.resolved);
  EXPECT_EQ(*facts.resolved, tree_.path("secret"));
  EXPECT_EQ(facts.access, CallerAccess::Allowed);  // readable by everyone, just not allowed by policy
  facts = checkBindSource(tree_.path("secret"), nobodyIdentity(), MountAccess::ReadWrite);
  EXPECT_EQ(facts.access, CallerAccess::Denied);
  facts = checkBindSource(home_ + "/private", nobodyIdentity(), MountAccess::ReadOnly);
  ASSERT_TRUE(facts.resolved);
  EXPECT_EQ(facts.access, CallerAccess::Denied);
  EXPECT_FALSE(checkBindSource(home_ + "/missing", nobodyIdentity(), MountAccess::ReadOnly).resolved);
  // An identity the drop cannot represent is never checked (-1 would leave the child root).
  Identity unknown{static_cast<uid_t>(-1), 0, 1, {}, std::nullopt};
  EXPECT_FALSE(checkBindSource(home_ + "/sub", unknown, MountAccess::ReadOnly).resolved);
}

TEST_F(Binds, AStoredSourceSwappedForASymlinkIsNoticedAtStart) {
  auto a = bind(home_ + "/sub");
  ASSERT_TRUE(a.gate.allowed);
  const std::string stored = a.resolvedBinds.at(0).path;
  EXPECT_TRUE(stillResolvesTo(stored, nobodyIdentity(), MountAccess::ReadWrite));
  // The caller owns the home: between create and start they replace sub with a symlink to /.
  std::filesystem::rename(home_ + "/sub", home_ + "/sub.old");
  tree_.symlink("home/sub", "/");
  EXPECT_FALSE(stillResolvesTo(stored, nobodyIdentity(), MountAccess::ReadOnly));
  EXPECT_FALSE(stillResolvesTo(home_ + "/missing", nobodyIdentity(), MountAccess::ReadOnly));
  EXPECT_FALSE(stillResolvesTo(home_ + "/private", nobodyIdentity(), MountAccess::ReadOnly));
}

TEST_F(Binds, ACheckThatRunsOutOfTimeCountsAsUnresolved) {
  auto facts = checkBindSource(home_ + "/sub", nobodyIdentity(), MountAccess::ReadOnly, std::chrono::milliseconds(0));
  EXPECT_FALSE(facts.resolved);
  EXPECT_EQ(facts.access, CallerAccess::Denied);
}

}  // namespace
}  // namespace dockerbox::broker
