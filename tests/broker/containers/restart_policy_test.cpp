// Restart policies (engine/containers/service_restart.cpp): which exits start a container
// again, that a client's stop ends them, what the engine does when it starts, and that the
// monitor runs each restart for the sealed owner with an audit record of its own.
#include "engine/containers/service.hpp"

#include "tests/broker/containers/service_fixture.hpp"

namespace dockerbox::broker::containers::testing {
namespace {

using S = ContainerService;

class RestartPolicyTest : public ServiceTest {
 protected:
  bool settledAt(const std::string& id, std::int64_t restarts) {
    return runUntil([&] {
      auto c = container(id);
      return c.restartCount == restarts && c.state == state::ContainerState::Exited;
    });
  }
  void restartEngine() {
    crash();
    open();
    ASSERT_TRUE(runUntil([&] { return service_->reconcilePasses() > 0; }));
  }
};

TEST_F(RestartPolicyTest, OnFailureRestartsUntilItsLimitForTheOwnerWithAnAuditRecord) {
  std::string id = create({.name = "flaky", .cmd = std::vector<std::string>{"sh", "-c", "echo run; exit 3"},
                           .restartPolicy = "on-failure", .restartMaxRetries = 2});
  ASSERT_TRUE(start(id));
  ASSERT_TRUE(settledAt(id, 2));
  auto c = container(id);
  EXPECT_EQ(c.exitCode, 3);
  EXPECT_TRUE(c.error.empty()) << c.error;
  ASSERT_EQ(unrequested_.size(), 2U);
  EXPECT_EQ(unrequested_[0], "1000 " + id + " restart policy on-failure");
  EXPECT_TRUE(runUntil([&] { return unrequestedOutcomes_.size() == 2; }));
  EXPECT_EQ(unrequestedOutcomes_, (std::vector<std::string>{"ok", "ok"}));
  // Every run's output is the container's log.
  auto logs = call(&S::handleContainerLogs, ContainerLogsOp{.ref = {id}});
  ASSERT_TRUE(logs->ok()) << logs->error();
  EXPECT_EQ(logs->sink.out, "run\nrun\nrun\n");
  // A client's start begins again from zero: two more restarts.
  ASSERT_TRUE(start(id));
  ASSERT_TRUE(runUntil([&] { return unrequestedOutcomes_.size() == 4; }));
  ASSERT_TRUE(settledAt(id, 2));
}

TEST_F(RestartPolicyTest, OnFailureLeavesASuccessfulExitAlone) {
  std::string id = create({.name = "fine", .cmd = std::vector<std::string>{"true"}, .restartPolicy = "on-failure"});
  auto wait = spawn(&S::handleWaitContainer, WaitContainerOp{{id}, WaitCondition::NextExit});
  ASSERT_TRUE(runUntil([&] { return wait->sink.acceptedCount == 1; }));
  ASSERT_TRUE(start(id));
  ASSERT_TRUE(runUntil([&] { return wait->done(); }));
  auto c = container(id);
  EXPECT_EQ(c.state, state::ContainerState::Exited);
  EXPECT_EQ(c.restartCount, 0);
  EXPECT_TRUE(unrequested_.empty());
}

TEST_F(RestartPolicyTest, AlwaysRestartsUntilAClientStopsIt) {
  std::string id = create({.name = "loop", .cmd = std::vector<std::string>{"true"}, .restartPolicy = "always"});
  ASSERT_TRUE(start(id));
  ASSERT_TRUE(runUntil([&] { return container(id).restartCount >= 2; }));
  // Running, starting or waiting to restart: a stop ends it for good.
  auto stop = call(&S::handleStopContainer, StopContainerOp{{id}, 1, std::nullopt});
  EXPECT_TRUE(stop->ok() || stop->kind() == ErrorKind::NotModified) << stop->error();
  ASSERT_TRUE(runUntil([&] {
    auto c = container(id);
    return c.state == state::ContainerState::Exited && c.manuallyStopped;
  }));
  const auto restarts = container(id).restartCount;
  // A run that was starting when the stop came ends too; nothing starts after it.
  auto again = call(&S::handleStartContainer, StartContainerOp{{id}});
  ASSERT_TRUE(again->ok()) << again->error();
  EXPECT_FALSE(container(id).manuallyStopped);
  EXPECT_LE(container(id).restartCount, restarts);
  auto removed = call(&S::handleRemoveContainer, RemoveContainerOp{{id}, true, false});
  ASSERT_TRUE(removed->ok()) << removed->error();
  EXPECT_FALSE(state_->getContainer(id));
}

TEST_F(RestartPolicyTest, ARestartingContainerIsRemovedOnlyByForce) {
  std::string id = create({.name = "busy", .cmd = std::vector<std::string>{"sh", "-c", "exit 1"},
                           .restartPolicy = "always"});
  ASSERT_TRUE(start(id));
  ASSERT_TRUE(runUntil([&] { return container(id).restartCount >= 1; }));
  auto removed = call(&S::handleRemoveContainer, RemoveContainerOp{{id}, true, false});
  ASSERT_TRUE(removed->ok()) << removed->error();
  EXPECT_FALSE(state_->getContainer(id));
}

TEST_F(RestartPolicyTest, AnOwnerNoLongerAllowedIsNotRestarted) {
  std::string id = create({.name = "orphan", .cmd = std::vector<std::string>{"sh", "-c", "exit 2"},
                           .restartPolicy = "on-failure"});
  ownerAdmitted_ = false;
  ASSERT_TRUE(start(id));  // the client's own start: judged as the client
  ASSERT_TRUE(runUntil([&] { return container(id).error.find("restart policy: denied") == 0; }));
  auto c = container(id);
  EXPECT_EQ(c.state, state::ContainerState::Exited);
  EXPECT_EQ(c.exitCode, 2);
  ASSERT_EQ(unrequested_.size(), 1U);  // the refusal is on the record too
  ASSERT_EQ(unrequestedOutcomes_.size(), 1U);
  EXPECT_NE(unrequestedOutcomes_[0], "ok");
}

TEST_F(RestartPolicyTest, TheMonitorRunsNoContainerWithoutAPolicyForTheEngine) {
  std::string id = create({.name = "plain", .cmd = std::vector<std::string>{"sleep", "300"}});
  RunHandlers handlers;
  handlers.onCreated = [](std::string) -> asio::awaitable<void> { co_return; };
  handlers.onOutput = [](minibox::OutputStream, std::vector<std::uint8_t>) -> asio::awaitable<void> { co_return; };
  auto refused = await(monitor_->restartRun(sealedOf(container(id)), handlers));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, ErrorKind::Forbidden);
  // A record changed behind the monitor (here: a policy added) is refused as unsealed.
  SealedRecord forged = sealedOf(container(id));
  forged.ownerUid = 0;
  auto unsealed = await(monitor_->restartRun(forged, handlers));
  ASSERT_FALSE(unsealed);
  EXPECT_EQ(unsealed.error().kind, ErrorKind::Forbidden);
  EXPECT_TRUE(unrequested_.empty());
}

TEST_F(RestartPolicyTest, AtStartUpAlwaysAndUnlessStoppedComeBackUnlessAClientStoppedThem) {
  std::string always = create({.name = "always", .cmd = std::vector<std::string>{"sleep", "300"},
                               .restartPolicy = "always"});
  std::string unless = create({.name = "unless", .cmd = std::vector<std::string>{"sleep", "300"},
                               .restartPolicy = "unless-stopped"});
  std::string plain = create({.name = "plain", .cmd = std::vector<std::string>{"sleep", "300"}});
  for (const auto& id : {always, unless, plain}) {
    ASSERT_TRUE(start(id));
    auto stop = call(&S::handleStopContainer, StopContainerOp{{id}, 1, std::nullopt});
    ASSERT_TRUE(stop->ok()) << stop->error();
  }
  restartEngine();
  ASSERT_TRUE(runUntil([&] { return container(always).state == state::ContainerState::Running; }));
  EXPECT_EQ(container(unless).state, state::ContainerState::Exited);
  EXPECT_EQ(container(plain).state, state::ContainerState::Exited);
  ASSERT_EQ(unrequested_.size(), 1U);
  EXPECT_NE(unrequested_[0].find(always), std::string::npos);
  auto removed = call(&S::handleRemoveContainer, RemoveContainerOp{{always}, true, false});
  ASSERT_TRUE(removed->ok()) << removed->error();
}

}  // namespace
}  // namespace dockerbox::broker::containers::testing
