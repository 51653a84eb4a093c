// How Docker container configs become miniboxd Runs and Execs (pure functions).
#include "broker/containers/run_spec.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <vector>

namespace dockerbox::broker::containers {
namespace {

using Argv = std::vector<std::string>;

TEST(RunSpec, AbsoluteProgramsRunAsTheyAre) {
  EXPECT_EQ(commandForMinibox({"/bin/echo", "hi"}, ""), (Argv{"/bin/echo", "hi"}));
  EXPECT_EQ(commandForMinibox({"./run.sh"}, ""), (Argv{"./run.sh"}));
}

TEST(RunSpec, RelativeProgramsGoThroughTheShellsPathSearch) {
  // Arguments stay positional parameters: nothing of them is parsed by the shell.
  EXPECT_EQ(commandForMinibox({"echo", "$HOME; rm -rf /"}, ""),
            (Argv{"/bin/sh", "-c", "exec \"$0\" \"$@\"", "echo", "$HOME; rm -rf /"}));
}

TEST(RunSpec, WorkingDirIsAppliedByTheShell) {
  auto argv = commandForMinibox({"ls", "-l"}, "/srv/my dir");
  ASSERT_EQ(argv.size(), 7U);
  EXPECT_EQ(argv[0], "/bin/sh");
  EXPECT_EQ(argv[3], "sh");
  EXPECT_EQ(argv[4], "/srv/my dir");
  EXPECT_EQ(argv[5], "ls");
  EXPECT_EQ(argv[6], "-l");
}

TEST(RunSpec, EmptyCommandIsMiniboxdsShell) {
  RunConfig config;
  EXPECT_EQ(userCommand(config), (Argv{"/bin/sh"}));
  config.entrypoint = Argv{"/docker-entrypoint.sh"};
  config.cmd = Argv{"nginx", "-g", "daemon off;"};
  EXPECT_EQ(userCommand(config), (Argv{"/docker-entrypoint.sh", "nginx", "-g", "daemon off;"}));
}

TEST(RunSpec, CpuSharesAndNanoCpusBecomeAWeight) {
  EXPECT_EQ(cpuWeightOf(0, 0), std::nullopt);
  EXPECT_EQ(cpuWeightOf(2, 0), 1U);
  EXPECT_EQ(cpuWeightOf(1024, 0), 39U);
  EXPECT_EQ(cpuWeightOf(262144, 0), 10000U);
  EXPECT_EQ(cpuWeightOf(1 << 30, 0), 10000U);
  EXPECT_EQ(cpuWeightOf(0, 1'000'000'000), 39U);  // 1 CPU ~ 1024 shares
  EXPECT_EQ(cpuWeightOf(512, 4'000'000'000), cpuWeightOf(512, 0));  // shares win
  EXPECT_EQ(cpuWeightOf(0, 1'500'000'000), cpuWeightOf(1536, 0));
  // Any int64 a client sends: no overflow (UBSan build), the weight saturates.
  EXPECT_EQ(cpuWeightOf(0, std::numeric_limits<std::int64_t>::max()), 10000U);
  EXPECT_EQ(cpuWeightOf(std::numeric_limits<std::int64_t>::max(), 0), 10000U);
  EXPECT_EQ(cpuWeightOf(std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::min()), std::nullopt);
}

TEST(RunSpec, NetworkModes) {
  EXPECT_EQ(*networkModeOf(""), minibox::NetworkMode::Bridge);
  EXPECT_EQ(*networkModeOf("default"), minibox::NetworkMode::Bridge);
  EXPECT_EQ(*networkModeOf("bridge"), minibox::NetworkMode::Bridge);
  EXPECT_EQ(*networkModeOf("host"), minibox::NetworkMode::Host);
  EXPECT_EQ(*networkModeOf("none"), minibox::NetworkMode::None);
  EXPECT_EQ(networkModeOf("proj_default").error().message, "network proj_default not found");
  EXPECT_EQ(networkModeOf("proj_default").error().kind, ErrorKind::NotFound);
  EXPECT_EQ(networkModeOf("container:web").error().kind, ErrorKind::NotImplemented);
}

TEST(RunSpec, RunSpecCarriesLimitsAndNeverTheName) {
  RunConfig config;
  config.image = "alpine:3.19";
  config.cmd = Argv{"sleep", "1"};
  config.memory = 64 << 20;
  config.cpuShares = 512;
  config.networkMode = "host";
  config.env = {"A=1"};
  auto spec = runSpecOf(config);
  ASSERT_TRUE(spec);
  EXPECT_EQ(spec->image, "alpine");
  EXPECT_EQ(spec->tag, "3.19");
  EXPECT_EQ(spec->memoryLimitBytes, 64U << 20);
  EXPECT_EQ(spec->cpuWeight, cpuWeightOf(512, 0));
  EXPECT_EQ(spec->network, minibox::NetworkMode::Host);
  EXPECT_EQ(spec->env, (Argv{"A=1"}));
  EXPECT_FALSE(spec->name.has_value());
  EXPECT_EQ(spec->command.front(), "/bin/sh");
}

TEST(RunSpec, CreateRefusesSettingsMiniboxdCannotApply) {
  ContainerSpec spec;
  spec.image = "alpine";
  EXPECT_TRUE(checkCreatable(spec));
  auto refused = [&](auto change) {
    ContainerSpec s = spec;
    change(s);
    auto r = checkCreatable(s);
    return !r && r.error().kind == ErrorKind::NotImplemented;
  };
  // Published ports are dockerbox's (containers/ports.hpp); sctp is not.
  EXPECT_FALSE(refused([](ContainerSpec& s) { s.host.publishAllPorts = true; }));
  EXPECT_FALSE(refused([](ContainerSpec& s) { s.host.portBindings.push_back({"80/tcp", "", ""}); }));
  EXPECT_TRUE(refused([](ContainerSpec& s) { s.host.portBindings.push_back({"80/sctp", "", ""}); }));
  // Volumes are dockerbox's own directories: no other driver, no driver options.
  EXPECT_TRUE(refused([](ContainerSpec& s) {
    s.host.mounts.push_back({MountType::Volume, "data", "/data", MountAccess::ReadWrite, false, "nfs", {}});
  }));
  EXPECT_TRUE(refused([](ContainerSpec& s) {
    s.host.mounts.push_back({MountType::Volume, "data", "/data", MountAccess::ReadWrite, false, "", {{"type", "tmpfs"}}});
  }));
  {
    ContainerSpec s = spec;
    s.host.mounts.push_back({MountType::Volume, "data", "/data"});
    s.host.mounts.push_back({MountType::Bind, "other", "/other", MountAccess::ReadOnly, true});
    s.host.mounts.push_back({MountType::Volume, "", "/anon"});
    EXPECT_TRUE(checkCreatable(s));
    RunConfig run = runConfigOf(s);
    ASSERT_EQ(run.volumes.size(), 3U);
    EXPECT_TRUE(run.binds.empty());
    EXPECT_EQ(run.volumes[1].name, "other");  // a Binds entry without a leading "/" names a volume
    EXPECT_TRUE(run.volumes[1].readOnly);
    EXPECT_EQ(anonymousVolumeName("a", "/anon"), anonymousVolumeName("a", "/anon"));
    EXPECT_NE(anonymousVolumeName("a", "/anon"), anonymousVolumeName("b", "/anon"));
    EXPECT_EQ(anonymousVolumeName("a", "/anon").size(), 64U);
    s.host.mounts.push_back({MountType::Volume, "x", "/x"});
    auto bad = checkCreatable(s);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().kind, ErrorKind::BadRequest);
  }
  EXPECT_TRUE(refused([](ContainerSpec& s) { s.host.mounts.push_back({MountType::Image, "alpine", "/i"}); }));
  {
    // tmpfs mounts are the init's: accepted, with their options checked.
    ContainerSpec s = spec;
    s.host.mounts.push_back({MountType::Tmpfs, "", "/t", MountAccess::ReadOnly, false, "", {{"size", "1024"}}});
    s.host.tmpfs = {{"/run", "size=1m,mode=755"}};
    EXPECT_TRUE(checkCreatable(s));
    RunConfig run = runConfigOf(s);
    ASSERT_EQ(run.tmpfs.size(), 2U);
    EXPECT_EQ(run.tmpfs[0], (std::pair<std::string, std::string>{"/t", "size=1024,ro"}));
    s.host.tmpfs = {{"/run", "suid"}};
    auto bad = checkCreatable(s);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().kind, ErrorKind::BadRequest);
    s.host.tmpfs.clear();
    s.host.privileged = true;
    EXPECT_TRUE(refused([&](ContainerSpec& p) { p = s; }));
  }
  {
    // Restart policies as Docker checks them; the engine applies them (service_restart.cpp).
    ContainerSpec s = spec;
    for (const char* name : {"always", "unless-stopped", "on-failure", "no", ""}) {
      s.host.restartPolicy = name;
      EXPECT_TRUE(checkCreatable(s)) << name;
    }
    auto badRequest = [](const ContainerSpec& c) {
      auto checked = checkCreatable(c);
      return !checked && checked.error().kind == ErrorKind::BadRequest;
    };
    s.host.restartMaxRetries = 3;  // on-failure's alone
    EXPECT_TRUE(badRequest(s));
    s.host.restartPolicy = "always";
    EXPECT_TRUE(badRequest(s));
    s.host.restartPolicy = "on-failure";
    EXPECT_EQ(runConfigOf(s).restartMaxRetries, 3);
    EXPECT_EQ(runConfigOf(s).restartPolicy, "on-failure");
    s.host.restartMaxRetries = -1;
    EXPECT_TRUE(badRequest(s));
    s.host.restartMaxRetries = 0;
    s.host.restartPolicy = "sometimes";
    EXPECT_TRUE(badRequest(s));
    s.host.restartPolicy = "always";
    s.host.autoRemove = true;
    EXPECT_TRUE(badRequest(s));
    s.host.restartPolicy = "no";
    EXPECT_TRUE(checkCreatable(s));
    EXPECT_EQ(runConfigOf(s).restartPolicy, "");
  }
  EXPECT_TRUE(refused([](ContainerSpec& s) { s.host.securityOpt = {"seccomp=/tmp/profile.json"}; }));
  // dockerbox-init applies these, except to --privileged containers, which run without it.
  for (auto change : std::vector<void (*)(ContainerSpec&)>{
           [](ContainerSpec& s) { s.host.capAdd = {"NET_ADMIN"}; }, [](ContainerSpec& s) { s.user = "nobody"; },
           [](ContainerSpec& s) { s.host.readonlyRootfs = true; }, [](ContainerSpec& s) { s.hostname = "box"; },
           [](ContainerSpec& s) { s.host.securityOpt = {"no-new-privileges"}; }}) {
    ContainerSpec s = spec;
    change(s);
    EXPECT_TRUE(checkCreatable(s));
    s.host.privileged = true;
    if (s.host.capAdd.empty() && s.host.securityOpt.empty()) {
      EXPECT_TRUE(refused([&](ContainerSpec& t) { t = s; }));
    }
  }
  ContainerSpec badCap = spec;
  badCap.host.capAdd = {"NET_ADMINN"};
  EXPECT_EQ(checkCreatable(badCap).error().kind, ErrorKind::BadRequest);
  EXPECT_TRUE(refused([](ContainerSpec& s) { s.host.extraHosts = {"db:10.0.0.2"}; }));
  EXPECT_TRUE(refused([](ContainerSpec& s) { s.host.dns = {"8.8.8.8"}; }));
  EXPECT_TRUE(refused([](ContainerSpec& s) { s.host.pidsLimit = 100; }));
  EXPECT_TRUE(refused([](ContainerSpec& s) { s.host.shmSize = 1 << 20; }));
  ContainerSpec unlimited = spec;
  unlimited.host.pidsLimit = -1;  // the CLI's "unlimited"
  EXPECT_TRUE(checkCreatable(unlimited));
  ContainerSpec bind = spec;
  bind.host.mounts.push_back({MountType::Bind, "/srv", "/srv"});
  bind.host.restartPolicy = "no";
  bind.user = "root";
  EXPECT_TRUE(checkCreatable(bind));
  ContainerSpec badImage = spec;
  badImage.image = "alpine@sha256:abcd";
  EXPECT_FALSE(checkCreatable(badImage));
}

TEST(RunSpec, ExecEnvironmentIsPathThenContainerThenExec) {
  RunConfig container;
  container.env = {"A=container", "B=kept"};
  container.workingDir = "/app";
  CreateExecOp exec;
  exec.cmd = {"env"};
  exec.env = {"A=exec", "PATH=/opt/bin"};
  auto spec = execSpecOf("0123456789abcdef", container, exec);
  EXPECT_EQ(spec.containerId, "0123456789abcdef");
  EXPECT_EQ(spec.env, (Argv{"PATH=/opt/bin", "A=exec", "B=kept"}));
  EXPECT_EQ(spec.cmd[4], "/app");  // the container's WorkingDir by default
  exec.workingDir = "/tmp";
  EXPECT_EQ(execSpecOf("x", container, exec).cmd[4], "/tmp");
}

}  // namespace
}  // namespace dockerbox::broker::containers
