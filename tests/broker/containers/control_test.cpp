// restart, pause/unpause, kill, rename, `start -a` and wait conditions through the container
// service against the minibox simulator.
#include "engine/containers/service.hpp"

#include "tests/broker/containers/service_fixture.hpp"

#include <csignal>

namespace dockerbox::broker::containers::testing {
namespace {

using S = ContainerService;

TEST_F(ServiceTest, RestartKeepsTheDockerIdWithANewMiniboxId) {
  std::string id = create({.name = "svc", .cmd = std::vector<std::string>{"sh", "-c", "echo run; exec sleep 300"}});
  ASSERT_TRUE(start(id));
  const auto logs = [&] {
    return call(&S::handleContainerLogs, ContainerLogsOp{{id}, false, true, true, false, 0, 0, -1})->sink.out;
  };
  // The first run must have printed before the restart stops it; a TERM that lands before
  // `echo` runs would leave nothing to find.
  ASSERT_TRUE(runUntil([&] { return logs() == "run\n"; })) << logs();
  const std::string first = *container(id).miniboxId;
  auto restart = call(&S::handleRestartContainer, RestartContainerOp{{"svc"}, std::nullopt});
  ASSERT_TRUE(restart->ok()) << restart->error();
  auto c = container(id);
  EXPECT_EQ(c.state, state::ContainerState::Running);
  ASSERT_TRUE(c.miniboxId);
  EXPECT_NE(*c.miniboxId, first);
  // Both runs' output is in the log.
  ASSERT_TRUE(runUntil([&] { return logs() == "run\nrun\n"; })) << logs();
  // restart of a stopped container just starts it.
  ASSERT_TRUE(call(&S::handleStopContainer, StopContainerOp{{id}, std::nullopt, std::nullopt})->ok());
  ASSERT_TRUE(call(&S::handleRestartContainer, RestartContainerOp{{id}, std::nullopt})->ok());
  EXPECT_EQ(container(id).state, state::ContainerState::Running);
}

TEST_F(ServiceTest, RestartKeepsAnAutoRemoveContainer) {
  std::string id = create({.cmd = std::vector<std::string>{"sleep", "300"}, .autoRemove = true});
  ASSERT_TRUE(start(id));
  ASSERT_TRUE(call(&S::handleRestartContainer, RestartContainerOp{{id}, std::nullopt})->ok());
  EXPECT_EQ(container(id).state, state::ContainerState::Running);
  // A plain stop still removes it.
  ASSERT_TRUE(call(&S::handleStopContainer, StopContainerOp{{id}, std::nullopt, std::nullopt})->ok());
  EXPECT_EQ(state_->getContainer(id).error().kind, ErrorKind::NotFound);
}

TEST_F(ServiceTest, PauseAndUnpause) {
  std::string id = create({.cmd = std::vector<std::string>{"sleep", "300"}});
  auto notYet = call(&S::handlePauseContainer, PauseContainerOp{{id}});
  EXPECT_EQ(notYet->kind(), ErrorKind::Conflict);
  ASSERT_TRUE(start(id));
  ASSERT_TRUE(call(&S::handlePauseContainer, PauseContainerOp{{id}})->ok());
  EXPECT_EQ(container(id).state, state::ContainerState::Paused);
  EXPECT_EQ(call(&S::handlePauseContainer, PauseContainerOp{{id}})->error(), "Container " + id + " is already paused");
  auto rm = call(&S::handleRemoveContainer, RemoveContainerOp{{id}, false, false});
  EXPECT_EQ(rm->kind(), ErrorKind::Conflict);
  ASSERT_TRUE(call(&S::handleUnpauseContainer, UnpauseContainerOp{{id}})->ok());
  EXPECT_EQ(container(id).state, state::ContainerState::Running);
  EXPECT_EQ(call(&S::handleUnpauseContainer, UnpauseContainerOp{{id}})->error(), "Container " + id + " is not paused");
  // A paused container can be stopped.
  ASSERT_TRUE(call(&S::handlePauseContainer, PauseContainerOp{{id}})->ok());
  ASSERT_TRUE(call(&S::handleStopContainer, StopContainerOp{{id}, std::nullopt, std::nullopt})->ok());
  EXPECT_EQ(container(id).state, state::ContainerState::Exited);
}

TEST_F(ServiceTest, KillDeliversTheSignalAndStopEndsWithIt) {
  std::string id = create({.cmd = std::vector<std::string>{"sleep", "300"}});
  auto notRunning = call(&S::handleKillContainer, KillContainerOp{{id}, SIGKILL});
  EXPECT_EQ(notRunning->kind(), ErrorKind::Conflict);
  EXPECT_EQ(notRunning->error(), "Container " + id + " is not running");
  ASSERT_TRUE(start(id));
  // SIGSTOP cannot be passed on by dockerbox-init: refused, the container untouched.
  auto stop = call(&S::handleKillContainer, KillContainerOp{{id}, SIGSTOP});
  EXPECT_EQ(stop->kind(), ErrorKind::NotImplemented);
  EXPECT_NE(stop->error().find("SIGSTOP"), std::string::npos) << stop->error();
  EXPECT_EQ(container(id).state, state::ContainerState::Running);
  // Any other signal is delivered; sleep dies of SIGUSR1 (128 + 10). (Not SIGHUP here:
  // without dockerbox-init miniboxd reports its death as -1, which also means "unknown".)
  auto usr1 = call(&S::handleKillContainer, KillContainerOp{{id}, SIGUSR1});
  ASSERT_TRUE(usr1->ok()) << usr1->error();
  auto waited = call(&S::handleWaitContainer, WaitContainerOp{{id}, WaitCondition::NotRunning});
  ASSERT_TRUE(waited->ok()) << waited->error();
  EXPECT_EQ(container(id).exitCode, 138);

  // stop --signal INT: that signal first, and the container ends of it.
  ASSERT_TRUE(start(id));
  auto interrupted = call(&S::handleStopContainer, StopContainerOp{{id}, 30, SIGINT});
  ASSERT_TRUE(interrupted->ok()) << interrupted->error();
  EXPECT_EQ(container(id).state, state::ContainerState::Exited);
  EXPECT_EQ(container(id).exitCode, 130);

  // kill (SIGKILL) returns once the container is gone.
  ASSERT_TRUE(start(id));
  auto kill = call(&S::handleKillContainer, KillContainerOp{{id}, SIGKILL});
  ASSERT_TRUE(kill->ok()) << kill->error();
  EXPECT_EQ(container(id).state, state::ContainerState::Exited);
  EXPECT_EQ(container(id).exitCode, 137);
}

TEST_F(ServiceTest, StopSendsKillWhenTheGraceEnds) {
  // A program that ignores SIGTERM: stop -t 0 kills it at once, without waiting.
  std::string id = create({.cmd = std::vector<std::string>{"sh", "-c", "trap '' TERM; exec sleep 300"}});
  ASSERT_TRUE(start(id));
  auto stopped = call(&S::handleStopContainer, StopContainerOp{{id}, 0, std::nullopt});
  ASSERT_TRUE(stopped->ok()) << stopped->error();
  EXPECT_EQ(container(id).state, state::ContainerState::Exited);
  EXPECT_EQ(container(id).exitCode, 137);
}

TEST_F(ServiceTest, RenameKeepsEverythingElse) {
  std::string id = create({.name = "old", .cmd = std::vector<std::string>{"true"}});
  create({.name = "other", .cmd = std::vector<std::string>{"true"}});
  EXPECT_EQ(call(&S::handleRenameContainer, RenameContainerOp{{"old"}, "other"})->kind(), ErrorKind::Conflict);
  EXPECT_EQ(call(&S::handleRenameContainer, RenameContainerOp{{"old"}, "bad name!"})->kind(), ErrorKind::BadRequest);
  ASSERT_TRUE(call(&S::handleRenameContainer, RenameContainerOp{{"old"}, "new"})->ok());
  EXPECT_EQ(container(id).name, "new");
  EXPECT_EQ(call(&S::handleInspectContainer, InspectContainerOp{{"old"}})->kind(), ErrorKind::NotFound);
}

TEST_F(ServiceTest, StartAttachCarriesTheNextRun) {
  // `docker start -a` on an exited container: attach first, then wait(next-exit), then start.
  std::string id = create({.cmd = std::vector<std::string>{"sh", "-c", "echo again; exit 4"}});
  auto firstWait = spawn(&S::handleWaitContainer, WaitContainerOp{{id}, WaitCondition::NextExit});
  ASSERT_TRUE(runUntil([&] { return firstWait->sink.acceptedCount == 1; }));
  ASSERT_TRUE(start(id));
  ASSERT_TRUE(runUntil([&] { return firstWait->done(); }));
  EXPECT_EQ(container(id).state, state::ContainerState::Exited);

  auto attach = spawn(&S::handleAttachContainer, AttachContainerOp{{id}, false, true, true, false, true});
  auto wait = spawn(&S::handleWaitContainer, WaitContainerOp{{id}, WaitCondition::NextExit});
  ASSERT_TRUE(runUntil([&] { return attach->sink.acceptedCount == 1 && wait->sink.acceptedCount == 1; }));
  EXPECT_FALSE(attach->done());  // an exited container's attach waits for the next run
  ASSERT_TRUE(start(id));
  ASSERT_TRUE(runUntil([&] { return attach->done() && wait->done(); }));
  EXPECT_EQ(attach->sink.out, "again\n");  // only the new run's output
  EXPECT_EQ(wait->reply().getWaitResult().getStatusCode(), 4);
}

TEST_F(ServiceTest, WaitNotRunningReturnsAtOnceForAStoppedContainer) {
  std::string id = create({.cmd = std::vector<std::string>{"true"}});
  auto wait = call(&S::handleWaitContainer, WaitContainerOp{{id}, WaitCondition::NotRunning});
  ASSERT_TRUE(wait->ok());
  EXPECT_EQ(wait->reply().getWaitResult().getStatusCode(), 0);
  auto missing = call(&S::handleWaitContainer, WaitContainerOp{{"nosuch"}, WaitCondition::NotRunning});
  EXPECT_EQ(missing->kind(), ErrorKind::NotFound);
  EXPECT_EQ(missing->sink.acceptedCount, 0);  // the error comes before the 200 head
}

TEST_F(ServiceTest, CancelledWaitAndFollowEndPromptly) {
  std::string id = create({.cmd = std::vector<std::string>{"sleep", "300"}});
  ASSERT_TRUE(start(id));
  auto wait = spawn(&S::handleWaitContainer, WaitContainerOp{{id}, WaitCondition::NotRunning});
  auto follow = spawn(&S::handleContainerLogs, ContainerLogsOp{{id}, true, true, true, false, 0, 0, -1});
  auto attach = spawn(&S::handleAttachContainer, AttachContainerOp{{id}, true, true, true, false, true});
  ASSERT_TRUE(runUntil([&] {
    return wait->sink.acceptedCount == 1 && follow->sink.acceptedCount == 1 && attach->sink.acceptedCount == 1;
  }));
  for (auto* c : {&wait, &follow, &attach}) (*c)->cancel.emit(asio::cancellation_type::terminal);
  ASSERT_TRUE(runUntil([&] { return wait->done() && follow->done() && attach->done(); }, 5s));
  EXPECT_EQ(container(id).state, state::ContainerState::Running);
}

}  // namespace
}  // namespace dockerbox::broker::containers::testing
