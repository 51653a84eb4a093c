// The container service's core lifecycle against the minibox simulator: what `docker run`,
// `docker run --rm`, `docker run -d`, `docker ps`, `docker logs -f`, `docker stop` and
// `docker rm -f` send, in the order the CLI sends it (client-flows 7.3, 7.4).
#include "engine/containers/service.hpp"

#include "tests/broker/containers/service_fixture.hpp"

namespace dockerbox::broker::containers::testing {
namespace {

using S = ContainerService;

TEST_F(ServiceTest, DockerRunPrintsOutputAndExitsZero) {
  // create -> attach -> wait(next-exit) -> start, as `docker run alpine echo hello`.
  std::string id = create({.cmd = std::vector<std::string>{"echo", "hello"}});
  ASSERT_EQ(id.size(), 64U);
  EXPECT_EQ(container(id).state, state::ContainerState::Created);
  EXPECT_EQ(container(id).creatorUid, 1000U);
  auto attach = spawn(&S::handleAttachContainer, AttachContainerOp{{id}, false, true, true, false, true});
  auto wait = spawn(&S::handleWaitContainer, WaitContainerOp{{id}, WaitCondition::NextExit});
  ASSERT_TRUE(runUntil([&] { return attach->sink.acceptedCount == 1 && wait->sink.acceptedCount == 1; }));
  ASSERT_TRUE(start(id));
  ASSERT_TRUE(runUntil([&] { return attach->done() && wait->done(); }));
  EXPECT_TRUE(attach->ok()) << attach->error();
  EXPECT_EQ(attach->sink.out, "hello\n");
  EXPECT_TRUE(attach->reply().isStreamEnded());
  ASSERT_TRUE(wait->ok()) << wait->error();
  EXPECT_EQ(wait->reply().getWaitResult().getStatusCode(), 0);

  auto c = container(id);
  EXPECT_EQ(c.state, state::ContainerState::Exited);
  EXPECT_EQ(c.exitCode, 0);
  EXPECT_GT(c.startedAt, 0);
  EXPECT_GE(c.finishedAt, c.startedAt);
  // The output stays available to `docker logs`.
  auto logs = call(&S::handleContainerLogs, ContainerLogsOp{{id}, false, true, true, false, 0, 0, -1});
  ASSERT_TRUE(logs->ok()) << logs->error();
  EXPECT_EQ(logs->sink.out, "hello\n");
}

TEST_F(ServiceTest, ExitCodeAndAutoRemove) {
  std::string id = create({.cmd = std::vector<std::string>{"sh", "-c", "echo bye; exit 3"}, .autoRemove = true});
  auto wait = spawn(&S::handleWaitContainer, WaitContainerOp{{id}, WaitCondition::Removed});
  ASSERT_TRUE(runUntil([&] { return wait->sink.acceptedCount == 1; }));
  ASSERT_TRUE(start(id));
  ASSERT_TRUE(runUntil([&] { return wait->done(); }));
  ASSERT_TRUE(wait->ok()) << wait->error();
  EXPECT_EQ(wait->reply().getWaitResult().getStatusCode(), 3);
  EXPECT_EQ(state_->getContainer(id).error().kind, ErrorKind::NotFound);
  auto inspect = call(&S::handleInspectContainer, InspectContainerOp{{id}});
  EXPECT_EQ(inspect->kind(), ErrorKind::NotFound);
  EXPECT_EQ(inspect->error(), "No such container: " + id);
}

TEST_F(ServiceTest, SignalDeathIsReportedTheDockerWay) {
  std::string id = create({.cmd = std::vector<std::string>{"sh", "-c", "kill -9 $$"}});
  auto wait = spawn(&S::handleWaitContainer, WaitContainerOp{{id}, WaitCondition::NextExit});
  ASSERT_TRUE(runUntil([&] { return wait->sink.acceptedCount == 1; }));
  ASSERT_TRUE(start(id));
  ASSERT_TRUE(runUntil([&] { return wait->done(); }));
  EXPECT_EQ(wait->reply().getWaitResult().getStatusCode(), 137);
}

TEST_F(ServiceTest, DetachedContainerPsLogsFollowStopRemove) {
  std::string id = create({.name = "web", .cmd = std::vector<std::string>{"sh", "-c", "echo ready; exec sleep 300"},
                           .labels = {{"app", "x"}}});
  ASSERT_TRUE(start("web"));
  auto c = container(id);
  EXPECT_EQ(c.state, state::ContainerState::Running);
  ASSERT_TRUE(c.miniboxId.has_value());
  EXPECT_EQ(c.miniboxId->size(), 16U);

  auto ps = call(&S::handleListContainers, ListContainersOp{});
  ASSERT_TRUE(ps->ok());
  auto list = ps->reply().getContainerList().getContainers();
  ASSERT_EQ(list.size(), 1U);
  EXPECT_EQ(list[0].getId(), id);
  EXPECT_EQ(list[0].getNames()[0], "/web");
  EXPECT_EQ(list[0].getCommand(), "sh -c echo ready; exec sleep 300");
  EXPECT_EQ(list[0].getState(), wire::ContainerState::RUNNING);
  EXPECT_EQ(list[0].getLabels()[0].getKey(), "app");
  EXPECT_EQ(list[0].getNetworkMode(), "default");

  // logs -f: the replay, then live output until the container stops.
  auto follow = spawn(&S::handleContainerLogs, ContainerLogsOp{{"web"}, true, true, true, false, 0, 0, -1});
  ASSERT_TRUE(runUntil([&] { return follow->sink.out == "ready\n"; }));
  EXPECT_FALSE(follow->done());

  // Starting a running container is 304; rm without force is 409 with Docker's text.
  auto again = call(&S::handleStartContainer, StartContainerOp{{"web"}});
  EXPECT_EQ(again->kind(), ErrorKind::NotModified);
  auto rm = call(&S::handleRemoveContainer, RemoveContainerOp{{"web"}, false, false});
  EXPECT_EQ(rm->kind(), ErrorKind::Conflict);
  EXPECT_EQ(rm->error(), "You cannot remove a running container " + id +
                             ". Stop the container before attempting removal or force remove");

  auto stop = call(&S::handleStopContainer, StopContainerOp{{"web"}, std::nullopt, std::nullopt});
  ASSERT_TRUE(stop->ok()) << stop->error();
  ASSERT_TRUE(runUntil([&] { return follow->done(); }));
  EXPECT_TRUE(follow->ok()) << follow->error();
  c = container(id);
  EXPECT_EQ(c.state, state::ContainerState::Exited);
  ASSERT_TRUE(c.exitCode.has_value());
  EXPECT_TRUE(*c.exitCode == 143 || *c.exitCode == 137) << *c.exitCode;

  auto stopAgain = call(&S::handleStopContainer, StopContainerOp{{"web"}, std::nullopt, std::nullopt});
  EXPECT_EQ(stopAgain->kind(), ErrorKind::NotModified);
  auto psRunning = call(&S::handleListContainers, ListContainersOp{});
  EXPECT_EQ(psRunning->reply().getContainerList().getContainers().size(), 0U);
  auto psAll = call(&S::handleListContainers, ListContainersOp{true, std::nullopt});
  ASSERT_EQ(psAll->reply().getContainerList().getContainers().size(), 1U);
  EXPECT_EQ(psAll->reply().getContainerList().getContainers()[0].getExitCode(), *c.exitCode);

  auto rmAfter = call(&S::handleRemoveContainer, RemoveContainerOp{{"web"}, false, false});
  EXPECT_TRUE(rmAfter->ok()) << rmAfter->error();
  EXPECT_EQ(state_->getContainer(id).error().kind, ErrorKind::NotFound);
}

TEST_F(ServiceTest, ForceRemoveStopsFirst) {
  std::string id = create({.name = "doomed", .cmd = std::vector<std::string>{"sleep", "300"}});
  ASSERT_TRUE(start(id));
  auto wait = spawn(&S::handleWaitContainer, WaitContainerOp{{id}, WaitCondition::Removed});
  auto rm = call(&S::handleRemoveContainer, RemoveContainerOp{{"doomed"}, true, false});
  ASSERT_TRUE(rm->ok()) << rm->error();
  ASSERT_TRUE(runUntil([&] { return wait->done(); }));
  EXPECT_TRUE(wait->ok());
  EXPECT_EQ(state_->getContainer(id).error().kind, ErrorKind::NotFound);
  // The name is free again.
  create({.name = "doomed", .cmd = std::vector<std::string>{"true"}});
}

TEST_F(ServiceTest, InspectShowsConfigStateAndPid) {
  std::string id = create({.name = "insp", .cmd = std::vector<std::string>{"sleep", "300"}, .env = {"A=1"}});
  auto created = call(&S::handleInspectContainer, InspectContainerOp{{"insp"}});
  ASSERT_TRUE(created->ok()) << created->error();
  auto before = created->reply().getContainerInspect();
  EXPECT_EQ(before.getSummary().getState(), wire::ContainerState::CREATED);
  EXPECT_EQ(before.getPath(), "sleep");
  ASSERT_EQ(before.getArgs().size(), 1U);
  EXPECT_EQ(before.getConfig().getImage(), "alpine");
  EXPECT_EQ(before.getConfig().getEnv()[0], "A=1");
  EXPECT_EQ(before.getPid(), 0);
  ASSERT_TRUE(start(id));
  auto running = call(&S::handleInspectContainer, InspectContainerOp{{id.substr(0, 12)}});
  ASSERT_TRUE(running->ok()) << running->error();
  auto after = running->reply().getContainerInspect();
  EXPECT_EQ(after.getSummary().getState(), wire::ContainerState::RUNNING);
  EXPECT_GT(after.getPid(), 0);
  EXPECT_EQ(after.getMiniboxId().size(), 16U);
  EXPECT_GT(after.getSummary().getStartedAt(), 0);
}

TEST_F(ServiceTest, CreateRefusesWhatMiniboxdCannotDo) {
  // Published ports are dockerbox's (the monitor binds them, the proxy carries them); sctp is not.
  auto ports = call(&S::handleCreateContainer, createOp({.cmd = std::vector<std::string>{"true"}, .publish = "132/sctp"}));
  EXPECT_EQ(ports->kind(), ErrorKind::NotImplemented);
  auto network = call(&S::handleCreateContainer, createOp({.cmd = std::vector<std::string>{"true"}, .network = "mynet"}));
  EXPECT_EQ(network->kind(), ErrorKind::NotFound);
  EXPECT_EQ(network->error(), "network mynet not found");
  auto image = call(&S::handleCreateContainer, createOp({.image = "nginx", .cmd = std::vector<std::string>{"true"}}));
  EXPECT_EQ(image->kind(), ErrorKind::NotFound);
  EXPECT_EQ(image->error(), "No such image: nginx:latest");
  create({.name = "taken", .cmd = std::vector<std::string>{"true"}});
  auto dup = call(&S::handleCreateContainer, createOp({.name = "taken", .cmd = std::vector<std::string>{"true"}}));
  EXPECT_EQ(dup->kind(), ErrorKind::Conflict);
  auto stdinWarned = call(&S::handleCreateContainer, createOp({.cmd = std::vector<std::string>{"cat"}, .openStdin = true}));
  ASSERT_TRUE(stdinWarned->ok());
  EXPECT_EQ(stdinWarned->reply().getContainerCreated().getWarnings().size(), 1U);
}

TEST_F(ServiceTest, PortsNeedTheInitThatCarriesThem) {
  // These tests run containers unconfined (no dockerbox-init): a published port has no
  // container side then, and the start says so instead of running without it.
  std::string id = create({.cmd = std::vector<std::string>{"true"}, .publish = "80/tcp"});
  auto started = call(&S::handleStartContainer, StartContainerOp{{id}});
  EXPECT_EQ(started->kind(), ErrorKind::NotImplemented);
  EXPECT_NE(started->error().find("publish ports of a container that runs without dockerbox-init"), std::string::npos)
      << started->error();
}

TEST_F(ServiceTest, WorkingDirAndEnvReachTheProcess) {
  std::string id = create({.cmd = std::vector<std::string>{"sh", "-c", "pwd; echo $GREETING"},
                           .env = {"GREETING=hi"}, .workingDir = "/tmp"});
  auto wait = spawn(&S::handleWaitContainer, WaitContainerOp{{id}, WaitCondition::NextExit});
  ASSERT_TRUE(runUntil([&] { return wait->sink.acceptedCount == 1; }));
  ASSERT_TRUE(start(id));
  ASSERT_TRUE(runUntil([&] { return wait->done(); }));
  auto logs = call(&S::handleContainerLogs, ContainerLogsOp{{id}, false, true, true, false, 0, 0, -1});
  EXPECT_EQ(logs->sink.out, "/tmp\nhi\n");
}

}  // namespace
}  // namespace dockerbox::broker::containers::testing
