// Tests of broker/containers/confinement.cpp and the confined run/exec specs of run_spec.cpp:
// what the broker asks dockerbox-init to apply, for each policy grant.
#include "broker/containers/confinement.hpp"

#include "broker/containers/run_spec.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <span>
#include <string_view>

namespace dockerbox::broker::containers {
namespace {

using Argv = std::vector<std::string>;

Caller member(std::uint32_t uid = 1000, std::uint32_t gid = 1000) {
  Identity who{};
  who.uid = uid;
  who.gid = gid;
  return Caller(who, policy::Visibility::Own, Grants{});
}

Caller privileged() {
  Identity who{};
  return Caller(who, policy::Visibility::All, Grants{policy::Privileged::Allowed, policy::RootUser::Allowed});
}

TEST(Confinement, CapabilitiesFollowMobysRules) {
  EXPECT_EQ(*capabilitySet({}, {}), init::kDockerDefaultCaps);
  EXPECT_EQ(*capabilitySet({}, {"ALL"}), 0U);
  EXPECT_EQ(*capabilitySet({"cap_sys_admin"}, {}), init::kDockerDefaultCaps | (1ULL << 21));
  EXPECT_EQ(*capabilitySet({"NET_ADMIN"}, {"ALL"}), 1ULL << 12);
  EXPECT_EQ(*capabilitySet({}, {"CHOWN", "CAP_KILL"}), init::kDockerDefaultCaps & ~1ULL & ~(1ULL << 5));
  EXPECT_EQ(*capabilitySet({"ALL"}, {"SYS_ADMIN"}), ((1ULL << 41) - 1) & ~(1ULL << 21));
  EXPECT_EQ(capabilitySet({"NOPE"}, {}).error().kind, ErrorKind::BadRequest);
}

TEST(Confinement, WhatTheMonitorMountsForTheInitCannotBeCovered) {
  for (const char* target : {"/.dockerbox-io", "/.dockerbox-io/", "//.dockerbox-io/x", "/./.dockerbox-init", "/"}) {
    RunConfig config;
    config.binds.push_back({"/home/u/x", target, false});
    auto checked = checkConfinable(config);
    ASSERT_FALSE(checked) << target;
    EXPECT_EQ(checked.error().kind, ErrorKind::BadRequest) << target;
  }
  RunConfig fine;
  fine.binds.push_back({"/home/u/x", "/.dockerbox-iox", false});
  EXPECT_TRUE(checkConfinable(fine));
}

TEST(Confinement, SecurityOptions) {
  EXPECT_EQ(*seccompOf({"no-new-privileges", "no-new-privileges:true", "label=disable"}), init::Seccomp::Default);
  EXPECT_EQ(*seccompOf({"seccomp=unconfined"}), init::Seccomp::Unconfined);
  EXPECT_EQ(*seccompOf({"seccomp:unconfined"}), init::Seccomp::Unconfined);
  EXPECT_EQ(seccompOf({"seccomp=/etc/p.json"}).error().kind, ErrorKind::NotImplemented);
  EXPECT_EQ(seccompOf({"systempaths=unconfined"}).error().kind, ErrorKind::NotImplemented);
}

TEST(Confinement, DefaultsAreDockersDefaultContainer) {
  RunConfig config;
  auto c = runConfinement(config, member(), "0123456789abcdef0123");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->capabilities, init::kDockerDefaultCaps);
  EXPECT_EQ(c->seccomp, init::Seccomp::Default);
  EXPECT_EQ(c->user, "");
  EXPECT_EQ(c->userCheck, init::UserCheck::Any);
  EXPECT_EQ(c->hostname, "0123456789ab");
  EXPECT_EQ(c->rlimitRaise, init::RlimitRaise::Refuse);
}

TEST(Confinement, WritableBindRunsAsTheCaller) {
  RunConfig config;
  config.binds = {{"/home/a/d", "/d", false}};
  auto c = runConfinement(config, member(1000, 1001), "abc");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->user, "1000:1001");
  config.user = "1000";
  EXPECT_EQ(runConfinement(config, member(1000, 1001), "abc")->user, "1000:1001");
  for (const char* other : {"0", "root", "1001", "1000:0", "app"}) {
    config.user = other;
    auto refused = runConfinement(config, member(1000, 1001), "abc");
    ASSERT_FALSE(refused) << other;
    EXPECT_EQ(refused.error().kind, ErrorKind::Forbidden);
  }
  // Read-only binds keep the image's user; root_user lifts the rule.
  config.user = "";
  config.binds[0].readOnly = true;
  EXPECT_EQ(runConfinement(config, member(), "abc")->user, "");
  config.binds[0].readOnly = false;
  config.user = "0";
  EXPECT_EQ(runConfinement(config, privileged(), "abc")->user, "0");
}

TEST(Confinement, VolumesAreMountsThatKeepTheImagesUserAndAreFilledWhenWritable) {
  RunConfig config;
  config.volumes = {{"data", "/data", false}, {"", "/conf", true}, {"odd", "/odd/", false}};
  auto c = runConfinement(config, member(1000, 1001), "abc");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->user, "");  // not the caller's: no host user can reach a volume
  ASSERT_EQ(c->binds.size(), 3U);
  EXPECT_EQ(c->binds[1].access, init::BindAccess::ReadOnly);
  EXPECT_EQ(c->fillPaths, std::vector<std::string>{"/data"});  // writable, with a clean path
}

TEST(Confinement, TmpfsOptionsAreDockersWithoutSuidOrDev) {
  auto t = tmpfsOf("/scratch/", "rw,size=64m,mode=1777,uid=1000,gid=1000,nr_inodes=1k,exec,nosuid,nodev");
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->path, "/scratch");
  EXPECT_EQ(t->size, "64m");
  EXPECT_EQ(t->mode, "1777");
  EXPECT_TRUE(t->exec);
  EXPECT_FALSE(t->readOnly);
  auto defaults = tmpfsOf("/run", "");
  ASSERT_TRUE(defaults);
  EXPECT_FALSE(defaults->exec);  // Docker's --tmpfs default: noexec
  EXPECT_TRUE(tmpfsOf("/r", "ro,noexec")->readOnly);
  for (const char* bad : {"suid", "dev", "size=big", "mode=999", "uid=-1", "mpol=default", "nr_blocks=10"}) {
    auto refused = tmpfsOf("/t", bad);
    ASSERT_FALSE(refused) << bad;
    EXPECT_EQ(refused.error().kind, ErrorKind::BadRequest) << bad;
  }
  for (const char* path : {"relative", "/", "/a/../../proc"}) EXPECT_FALSE(tmpfsOf(path, "")) << path;
  RunConfig config;
  config.tmpfs = {{"/scratch", "size=1m"}};
  auto c = runConfinement(config, member(), "abc");
  ASSERT_TRUE(c);
  ASSERT_EQ(c->tmpfs.size(), 1U);
  EXPECT_EQ(c->tmpfs[0].size, "1m");
  config.tmpfs = {{std::string(init::kInitPathInContainer), ""}};
  EXPECT_FALSE(checkConfinable(config));
}

TEST(Confinement, NamedUserMustNotBeRootInTheImage) {
  RunConfig config;
  config.user = "app";
  EXPECT_EQ(runConfinement(config, member(), "abc")->userCheck, init::UserCheck::NotRoot);
  EXPECT_EQ(runConfinement(config, privileged(), "abc")->userCheck, init::UserCheck::Any);
}

TEST(Confinement, UnconfinedSeccompNeedsPrivileged) {
  RunConfig config;
  config.securityOpt = {"seccomp=unconfined"};
  EXPECT_EQ(runConfinement(config, member(), "abc").error().kind, ErrorKind::Forbidden);
  EXPECT_EQ(runConfinement(config, privileged(), "abc")->seccomp, init::Seccomp::Unconfined);
}

TEST(Confinement, ExecInheritsTheContainersConfinement) {
  RunConfig container;
  container.capDrop = {"ALL"};
  container.workingDir = "/app";
  container.binds = {{"/h", "/h", false}};
  CreateExecOp exec;
  exec.cmd = {"id"};
  auto c = execConfinement(container, exec, member(1000, 1000));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->mode, init::Mode::Exec);
  EXPECT_EQ(c->capabilities, 0U);
  EXPECT_EQ(c->user, "1000:1000");
  EXPECT_EQ(c->workingDir, "/app");
  exec.user = "root";
  EXPECT_FALSE(execConfinement(container, exec, member()));
}

TEST(Confinement, TheRunsFifosReachTheInitAsData) {
  auto has = [](const minibox::RunSpec& spec, std::string_view record) {
    return std::find(spec.command.begin(), spec.command.end(), record) != spec.command.end();
  };
  RunConfig config;
  config.image = "alpine";
  config.cmd = Argv{"sh"};
  config.openStdin = true;
  config.tty = true;
  auto confinement = runConfinement(config, member(), "0123456789abcdef");
  ASSERT_TRUE(confinement);
  InitPlacement placement{"/i", {}, {"/run/dbx/io/c", std::string(kIoPathInContainer), true, true, false}};
  auto spec = confinedRunSpecOf(config, *confinement, placement);
  ASSERT_TRUE(spec) << spec.error().message;
  ASSERT_EQ(spec->mounts.size(), 2U);
  EXPECT_EQ(spec->mounts[1].hostPath, "/run/dbx/io/c");
  EXPECT_EQ(spec->mounts[1].containerPath, "/.dockerbox-io");
  EXPECT_EQ(spec->mounts[1].access, minibox::MountAccess::ReadOnly);
  EXPECT_FALSE(spec->tty);  // the init makes the terminal, not miniboxd
  for (const char* record : {"tty=yes", "stdin=/.dockerbox-io/stdin", "control=/.dockerbox-io/control",
                             "unmount=/.dockerbox-io"}) {
    EXPECT_TRUE(has(*spec, record)) << record;
  }
  EXPECT_FALSE(has(*spec, "stdout=/.dockerbox-io/stdout"));
  config.tty = false;
  config.openStdin = false;
  placement.io = {"/run/dbx/io/c", std::string(kIoPathInContainer), false, false, true};
  spec = confinedRunSpecOf(config, *confinement, placement);
  ASSERT_TRUE(spec) << spec.error().message;
  for (const char* record : {"tty=no", "stdout=/.dockerbox-io/stdout", "stderr=/.dockerbox-io/stderr"}) {
    EXPECT_TRUE(has(*spec, record)) << record;
  }
  EXPECT_FALSE(has(*spec, "stdin=/.dockerbox-io/stdin"));
}

TEST(Confinement, ConfinedRunSendsOnlyTheInitAndPinnedMounts) {
  RunConfig config;
  config.image = "alpine";
  config.cmd = Argv{"echo", "hi"};
  config.env = {"A=1", "PATH=/opt/bin"};
  config.binds = {{"/home/a/d", "/d", true}};
  auto confinement = runConfinement(config, member(), "0123456789abcdef");
  ASSERT_TRUE(confinement);
  auto spec = confinedRunSpecOf(config, *confinement, {"/usr/lib/dockerbox/dockerbox-init", {"/run/dbx/pinned/x/b0"}, {}});
  ASSERT_TRUE(spec) << spec.error().message;
  ASSERT_FALSE(spec->command.empty());
  EXPECT_EQ(spec->command.front(), init::kInitPathInContainer);
  EXPECT_TRUE(spec->env.empty());
  ASSERT_EQ(spec->mounts.size(), 2U);
  EXPECT_EQ(spec->mounts[0].hostPath, "/usr/lib/dockerbox/dockerbox-init");
  EXPECT_EQ(spec->mounts[0].access, minibox::MountAccess::ReadOnly);
  EXPECT_EQ(spec->mounts[1].hostPath, "/run/dbx/pinned/x/b0");  // never the client's path
  EXPECT_EQ(spec->mounts[1].containerPath, "/d");
  // What the init will parse: the command and env travel as data, the client's PATH wins.
  std::vector<std::string_view> args(spec->command.begin() + 1, spec->command.end());
  auto parsed = init::parseInitArgs(args);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->argv, (Argv{"echo", "hi"}));
  EXPECT_NE(std::find(parsed->env.begin(), parsed->env.end(), "PATH=/opt/bin"), parsed->env.end());
  EXPECT_NE(std::find(parsed->env.begin(), parsed->env.end(), "A=1"), parsed->env.end());
  EXPECT_FALSE(confinedRunSpecOf(config, *confinement, {"/i", {}, {}}));  // pins must match binds
}

TEST(Confinement, ConfinedExecCarriesNothingTheCallerChoseToTheHost) {
  RunConfig container;
  CreateExecOp exec;
  exec.cmd = {"sh", "-c", "id"};
  exec.env = {"PATH=/tmp/evil", "LD_PRELOAD=/tmp/evil.so"};
  exec.workingDir = "/tmp";
  auto confinement = execConfinement(container, exec, member());
  ASSERT_TRUE(confinement);
  auto spec = confinedExecSpecOf("0123456789abcdef", container, exec, *confinement);
  ASSERT_TRUE(spec);
  EXPECT_EQ(spec->env, (Argv{std::string(kExecLookupPath)}));
  EXPECT_FALSE(spec->workingDir.has_value());
  EXPECT_EQ(spec->cmd.front(), init::kInitPathInContainer);
  std::vector<std::string_view> args(spec->cmd.begin() + 1, spec->cmd.end());
  auto parsed = init::parseInitArgs(args);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->mode, init::Mode::Exec);
  EXPECT_EQ(parsed->workingDir, "/tmp");
  EXPECT_NE(std::find(parsed->env.begin(), parsed->env.end(), "LD_PRELOAD=/tmp/evil.so"), parsed->env.end());
}

}  // namespace
}  // namespace dockerbox::broker::containers
