#include "frontend/handlers.hpp"

#include "frontend/status_text.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

namespace dockerbox::frontend {
namespace {

using namespace testing;
namespace json = boost::json;

TEST(HumanDuration, MatchesGoUnits) {
  const std::pair<std::int64_t, const char*> cases[] = {
      {0, "Less than a second"}, {1, "1 second"},        {5, "5 seconds"},
      {59, "59 seconds"},        {60, "About a minute"}, {119, "About a minute"},
      {120, "2 minutes"},        {3599, "59 minutes"},   {3600, "About an hour"},
      {5399, "About an hour"},   {5400, "2 hours"},      {47 * 3600, "47 hours"},
      {48 * 3600, "2 days"},     {13 * 86400, "13 days"}, {14 * 86400, "2 weeks"},
      {59 * 86400, "8 weeks"},   {60 * 86400, "2 months"}, {729 * 86400, "24 months"},
      {730 * 86400, "2 years"},  {-5, "Less than a second"}};
  for (auto [seconds, text] : cases) EXPECT_EQ(humanDuration(seconds), text) << seconds;
}

TEST(StatusText, FollowsDockerdsStateString) {
  const std::int64_t now = 1'000'000;
  EXPECT_EQ(containerStatusText(ContainerState::Running, {now - 5, 0, {}}, now), "Up 5 seconds");
  EXPECT_EQ(containerStatusText(ContainerState::Paused, {now - 180, 0, {}}, now),
            "Up 3 minutes (Paused)");
  EXPECT_EQ(containerStatusText(ContainerState::Exited, {now - 500, now - 120, 3}, now),
            "Exited (3) 2 minutes ago");
  EXPECT_EQ(containerStatusText(ContainerState::Exited, {now - 500, 0, 0}, now), "Exited (0)");
  EXPECT_EQ(containerStatusText(ContainerState::Created, {0, 0, {}}, now), "Created");
  EXPECT_EQ(containerStatusText(ContainerState::Restarting, {now - 9, now - 2, 1}, now),
            "Restarting (1) 2 seconds ago");
  EXPECT_EQ(containerStatusText(ContainerState::Removing, {}, now), "Removal In Progress");
  EXPECT_EQ(containerStatusText(ContainerState::Dead, {}, now), "Dead");
  EXPECT_EQ(containerStatusText(ContainerState::Running, {now + 100, 0, {}}, now),
            "Up Less than a second");  // clock skew never prints a negative time
}

void fillContainer(ipc::wire::ContainerSummary::Builder c, const char* id, const char* name,
                   ipc::wire::ContainerState state) {
  c.setId(id);
  c.initNames(1).set(0, name);
  c.setImage("alpine");
  c.setImageId("sha256:" + std::string(64, 'b'));
  c.setCommand("sleep 100");
  c.setCreated(990);
  c.setState(state);
  c.setStartedAt(995);
  c.setFinishedAt(state == ipc::wire::ContainerState::EXITED ? 998 : 0);
  c.setHasExitCode(state == ipc::wire::ContainerState::EXITED);
  c.setExitCode(3);
  auto labels = c.initLabels(1);
  labels[0].setKey("app");
  labels[0].setValue("x");
}

HttpResponse listContainers(const char* target, ReplyBuilder& reply) {
  auto call = brokerCall(get(target));
  return finishCall(call, reply.reader(), RenderContext{1000, {}});
}

TEST(RenderListContainers, HasTheKeysDockerPsUses) {
  ReplyBuilder reply;
  auto list = reply.response().getResult().initContainerList().initContainers(2);
  fillContainer(list[0], "a1", "/web", ipc::wire::ContainerState::RUNNING);
  fillContainer(list[1], "b2", "/job", ipc::wire::ContainerState::EXITED);
  HttpResponse response = listContainers("/containers/json?all=1", reply);
  ASSERT_EQ(response.status, 200u);
  expectEngineHeaders(response);
  json::array items = jsonBody(response).as_array();
  ASSERT_EQ(items.size(), 2u);
  const json::object& web = items[0].as_object();
  for (const char* key : {"Id", "Names", "Image", "ImageID", "Command", "Created", "Ports",
                          "Labels", "State", "Status", "HostConfig", "NetworkSettings", "Mounts"}) {
    EXPECT_TRUE(web.contains(key)) << key;
  }
  EXPECT_EQ(web.at("Id"), "a1");
  EXPECT_EQ(web.at("Names").as_array().at(0), "/web");
  EXPECT_EQ(web.at("State"), "running");
  EXPECT_EQ(web.at("Status"), "Up 5 seconds");
  EXPECT_EQ(web.at("Created"), 990);
  EXPECT_EQ(web.at("Labels").at("app"), "x");
  EXPECT_TRUE(web.at("Ports").as_array().empty());
  EXPECT_TRUE(web.at("HostConfig").as_object().contains("NetworkMode"));
  EXPECT_TRUE(web.at("NetworkSettings").at("Networks").is_object());
  EXPECT_EQ(items[1].at("State"), "exited");
  EXPECT_EQ(items[1].at("Status"), "Exited (3) 2 seconds ago");
}

TEST(RenderListContainers, AppliesFiltersAndLimitLocally) {
  ReplyBuilder reply;
  auto list = reply.response().getResult().initContainerList().initContainers(3);
  fillContainer(list[0], "a1", "/web", ipc::wire::ContainerState::RUNNING);
  fillContainer(list[1], "b2", "/job", ipc::wire::ContainerState::EXITED);
  fillContainer(list[2], "c3", "/web2", ipc::wire::ContainerState::RUNNING);
  auto named = jsonBody(listContainers("/containers/json?filters=%7B%22name%22%3A%5B%22web%22%5D%7D", reply)).as_array();
  EXPECT_EQ(named.size(), 2u);
  auto limited = jsonBody(listContainers("/containers/json?limit=1&filters=%7B%22name%22%3A%5B%22web%22%5D%7D", reply)).as_array();
  ASSERT_EQ(limited.size(), 1u);
  EXPECT_EQ(limited[0].at("Id"), "a1");
  auto exited = jsonBody(listContainers("/containers/json?filters=%7B%22status%22%3A%7B%22exited%22%3Atrue%7D%7D", reply)).as_array();
  ASSERT_EQ(exited.size(), 1u);
  EXPECT_EQ(exited[0].at("Id"), "b2");
}

TEST(RenderListContainers, UpCountsFromCreatedWhenTheStartTimeIsUnknown) {
  const std::int64_t now = 1'000'000;
  EXPECT_EQ(containerStatusText(ContainerState::Running, {0, 0, {}, now - 120}, now), "Up 2 minutes");
  EXPECT_EQ(containerStatusText(ContainerState::Running, {now - 5, 0, {}, now - 120}, now), "Up 5 seconds");
  EXPECT_EQ(containerStatusText(ContainerState::Running, {0, 0, {}, 0}, now), "Up");
  ReplyBuilder reply;
  auto list = reply.response().getResult().initContainerList().initContainers(1);
  fillContainer(list[0], "a1", "/web", ipc::wire::ContainerState::RUNNING);
  list[0].setStartedAt(0);
  auto items = jsonBody(listContainers("/containers/json?size=1", reply)).as_array();
  EXPECT_EQ(items.at(0).at("Status"), "Up 10 seconds");  // created at 990, now 1000
}

TEST(RenderListContainers, BeforeSinceAndAncestorFollowDockerd) {
  ReplyBuilder reply;  // newest first, as the broker sends it
  auto list = reply.response().getResult().initContainerList().initContainers(4);
  fillContainer(list[0], "d4", "/newest", ipc::wire::ContainerState::RUNNING);
  fillContainer(list[1], "c3", "/stopped", ipc::wire::ContainerState::EXITED);
  fillContainer(list[2], "b2", "/middle", ipc::wire::ContainerState::RUNNING);
  fillContainer(list[3], "a1", "/oldest", ipc::wire::ContainerState::RUNNING);
  list[3].setImage("busybox");
  auto names = [&](const char* target) {
    auto call = brokerCall(get(target));
    std::vector<std::string> out;
    HttpResponse response = finishCall(call, reply.reader(), RenderContext{1000, {}});
    if (response.status != 200) return std::vector<std::string>{std::to_string(response.status)};
    json::value body = jsonBody(response);
    for (const auto& item : body.as_array()) out.emplace_back(item.at("Names").at(0).as_string());
    return out;
  };
  // before=newest: everything older, running only unless all=1 (the broker was asked for all).
  auto before = brokerCall(get("/containers/json?filters=%7B%22before%22%3A%5B%22newest%22%5D%7D"));
  EXPECT_TRUE(requestOf(before).getOp().getListContainers().getAll());
  EXPECT_EQ(names("/containers/json?filters=%7B%22before%22%3A%5B%22newest%22%5D%7D"),
            (std::vector<std::string>{"/middle", "/oldest"}));
  EXPECT_EQ(names("/containers/json?all=1&filters=%7B%22before%22%3A%5B%22d4%22%5D%7D"),
            (std::vector<std::string>{"/stopped", "/middle", "/oldest"}));
  EXPECT_EQ(names("/containers/json?all=1&filters=%7B%22since%22%3A%5B%22middle%22%5D%7D"),
            (std::vector<std::string>{"/newest", "/stopped"}));
  EXPECT_EQ(names("/containers/json?filters=%7B%22since%22%3A%5B%22nosuch%22%5D%7D"),
            std::vector<std::string>{"404"});
  EXPECT_EQ(names("/containers/json?all=1&filters=%7B%22ancestor%22%3A%5B%22busybox%3Alatest%22%5D%7D"),
            std::vector<std::string>{"/oldest"});
  // A limit lists stopped containers too (docker ps -n 2), like dockerd.
  auto limited = brokerCall(get("/containers/json?limit=2"));
  EXPECT_TRUE(requestOf(limited).getOp().getListContainers().getAll());
}

TEST(RenderListContainers, UnknownStateFromTheBrokerIs500) {
  ReplyBuilder reply;
  auto list = reply.response().getResult().initContainerList().initContainers(1);
  fillContainer(list[0], "a1", "/web", static_cast<ipc::wire::ContainerState>(99));
  EXPECT_EQ(listContainers("/containers/json", reply).status, 500u);
}

TEST(RenderListImages, HasEveryRequiredImageSummaryKey) {
  ReplyBuilder reply;
  auto image = reply.response().getResult().initImageList().initImages(1)[0];
  image.setId("sha256:" + std::string(64, 'a'));
  image.initRepoTags(1).set(0, "alpine:latest");
  image.setCreated(1700000000);
  image.setSize(7000000);
  auto call = brokerCall(get("/images/json"));
  HttpResponse response = finishCall(call, reply.reader(), RenderContext{});
  json::array items = jsonBody(response).as_array();
  ASSERT_EQ(items.size(), 1u);
  // ImageSummary's `required` list in engine-api-v1.50.yaml.
  for (const char* key : {"Id", "ParentId", "RepoTags", "RepoDigests", "Created", "Size",
                          "SharedSize", "Labels", "Containers"}) {
    EXPECT_TRUE(items[0].as_object().contains(key)) << key;
  }
  EXPECT_EQ(items[0].at("RepoTags").at(0), "alpine:latest");
  EXPECT_EQ(items[0].at("SharedSize"), -1);
  EXPECT_FALSE(items[0].as_object().contains("VirtualSize"));  // gone in API 1.44+
}

TEST(RenderVersion, HasWhatDockerVersionPrints) {
  ReplyBuilder reply;
  auto version = reply.response().getResult().initVersion();
  version.setKernelVersion("6.1.0");
  version.setOperatingSystem("Debian GNU/Linux 12");
  version.setArchitecture("amd64");
  version.setMiniboxProtocol("v0.19");
  auto call = brokerCall(get("/version"));
  json::value body = jsonBody(finishCall(call, reply.reader(), RenderContext{}));
  EXPECT_EQ(body.at("Platform").at("Name"), "dockerbox");
  EXPECT_EQ(body.at("ApiVersion"), "1.50");
  EXPECT_EQ(body.at("MinAPIVersion"), "1.24");
  EXPECT_EQ(body.at("Os"), "linux");
  EXPECT_EQ(body.at("Arch"), "amd64");
  EXPECT_EQ(body.at("KernelVersion"), "6.1.0");
  for (const char* key : {"Version", "GitCommit", "GoVersion", "BuildTime"}) {
    EXPECT_TRUE(body.as_object().contains(key)) << key;
  }
  const json::value& engine = body.at("Components").at(0);
  EXPECT_EQ(engine.at("Name"), "Engine");
  for (const char* key : {"ApiVersion", "MinAPIVersion", "GitCommit", "GoVersion", "Os", "Arch",
                          "KernelVersion", "BuildTime", "Experimental"}) {
    EXPECT_TRUE(engine.at("Details").as_object().contains(key)) << key;
  }
}

TEST(RenderInfo, HasWhatDockerInfoPrints) {
  ReplyBuilder reply;
  auto info = reply.response().getResult().initInfo();
  info.setContainers(4);
  info.setContainersRunning(1);
  info.setContainersPaused(1);
  info.setContainersStopped(2);
  info.setImages(3);
  info.setHostname("host1");
  info.setArchitecture("amd64");
  info.setNcpu(2);
  info.setMemTotal(1 << 30);
  info.setMiniboxSocket("/run/minibox/miniboxd.sock");
  info.setEngineId("0f1e2d3c-engine");
  info.setDockerRootDir("/var/lib/dockerbox");
  info.initSecurityOptions(1).set(0, "name=dockerbox-policy");
  auto call = brokerCall(get("/info"));
  json::value body = jsonBody(finishCall(call, reply.reader(), RenderContext{1700000000, {}}));
  EXPECT_EQ(body.at("Containers"), 4);
  EXPECT_EQ(body.at("ContainersRunning"), 1);
  EXPECT_EQ(body.at("ContainersPaused"), 1);
  EXPECT_EQ(body.at("ContainersStopped"), 2);
  EXPECT_EQ(body.at("Images"), 3);
  EXPECT_EQ(body.at("Driver"), "minibox");
  EXPECT_EQ(body.at("LoggingDriver"), "json-file");
  EXPECT_EQ(body.at("CgroupVersion"), "2");
  EXPECT_EQ(body.at("OSType"), "linux");
  EXPECT_EQ(body.at("Architecture"), "x86_64");
  EXPECT_EQ(body.at("Name"), "host1");
  EXPECT_EQ(body.at("NCPU"), 2);
  EXPECT_EQ(body.at("SystemTime"), "2023-11-14T22:13:20Z");  // Go's RFC3339Nano drops zeros
  EXPECT_EQ(body.at("ID"), "0f1e2d3c-engine");
  EXPECT_EQ(body.at("DockerRootDir"), "/var/lib/dockerbox");
  EXPECT_EQ(body.at("MemoryLimit"), true);  // miniboxd applies Memory and CpuShares
  EXPECT_EQ(body.at("CPUShares"), true);
  EXPECT_EQ(body.at("SwapLimit"), false);
  EXPECT_EQ(body.at("SecurityOptions"), json::array{"name=dockerbox-policy"});
  EXPECT_EQ(body.at("Swarm").at("LocalNodeState"), "inactive");
  for (const char* key : {"ServerVersion", "DriverStatus", "Plugins", "CgroupDriver", "Runtimes",
                          "DefaultRuntime", "InitBinary", "ContainerdCommit", "RuncCommit",
                          "InitCommit", "SecurityOptions", "KernelVersion", "OperatingSystem",
                          "MemTotal", "ID", "DockerRootDir", "Debug", "ExperimentalBuild",
                          "RegistryConfig", "LiveRestoreEnabled", "CDISpecDirs"}) {
    EXPECT_TRUE(body.as_object().contains(key)) << key;
  }
  for (const char* key : {"Volume", "Network", "Log"}) {
    EXPECT_TRUE(body.at("Plugins").as_object().contains(key)) << key;
  }
  EXPECT_TRUE(body.at("RegistryConfig").at("InsecureRegistryCIDRs").is_array());
}

}  // namespace
}  // namespace dockerbox::frontend
