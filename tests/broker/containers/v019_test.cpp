// Against a miniboxd v0.19 (the simulator's --mode v0.19): no ListImages, so create cannot
// check the image (Run pulls it at start) and image inspect is refused; exec ignores
// working_dir there, which dockerbox's shell wrapper makes irrelevant.
#include "engine/containers/service.hpp"

#include "tests/broker/containers/service_fixture.hpp"

namespace dockerbox::broker::containers::testing {
namespace {

using S = ContainerService;

class V019Test : public ServiceTest {
 protected:
  V019Test() : ServiceTest({"--mode", "v0.19"}) {}
};

TEST_F(V019Test, CreateSkipsTheImageCheckAndStartPulls) {
  // nginx is in the simulator's registry but not preloaded: on HEAD create would say 404.
  std::string id = create({.image = "nginx", .cmd = std::vector<std::string>{"echo", "pulled"}});
  auto wait = spawn(&S::handleWaitContainer, WaitContainerOp{{id}, WaitCondition::NextExit});
  ASSERT_TRUE(runUntil([&] { return wait->sink.acceptedCount == 1; }));
  ASSERT_TRUE(start(id));
  ASSERT_TRUE(runUntil([&] { return wait->done(); }));
  EXPECT_EQ(wait->reply().getWaitResult().getStatusCode(), 0);
  auto logs = call(&S::handleContainerLogs, ContainerLogsOp{{id}, false, true, true, false, 0, 0, -1});
  EXPECT_EQ(logs->sink.out, "pulled\n");
  EXPECT_EQ(call(&S::handleInspectImage, InspectImageOp{"nginx"})->kind(), ErrorKind::NotImplemented);
}

TEST_F(V019Test, ExecWorkingDirStillApplies) {
  std::string id = create({.cmd = std::vector<std::string>{"sleep", "300"}, .workingDir = "/tmp"});
  ASSERT_TRUE(start(id));
  CreateExecOp op;
  op.container = {id};
  op.cmd = {"pwd"};
  auto created = call(&S::handleCreateExec, op);
  ASSERT_TRUE(created->ok()) << created->error();
  auto started = call(&S::handleStartExec, StartExecOp{created->reply().getExecCreated(), false, false});
  EXPECT_EQ(started->sink.out, "/tmp\n");
}

}  // namespace
}  // namespace dockerbox::broker::containers::testing
