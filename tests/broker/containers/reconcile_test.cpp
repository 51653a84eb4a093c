// Start-up reconciliation: the broker dies (its io_context, service and Run connections go
// away as with kill -9) while the simulator keeps the containers; a new service on the same
// state adopts what still runs, records what ended unobserved, and forgets nothing.
#include "engine/containers/service.hpp"

#include "tests/broker/containers/service_fixture.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace dockerbox::broker::containers::testing {
namespace {

using S = ContainerService;

class ReconcileTest : public ServiceTest {
 protected:
  void restart() {
    crash();
    open();
    ASSERT_TRUE(runUntil([&] { return service_->reconcilePasses() > 0; }));
  }
};

TEST_F(ReconcileTest, RunningContainersAreAdoptedAndTheirExitCodeLearnedFromEvents) {
  std::string id = create({.name = "keep", .cmd = std::vector<std::string>{"sleep", "300"}, .labels = {{"a", "b"}}});
  ASSERT_TRUE(start(id));
  std::string done = create({.name = "done", .cmd = std::vector<std::string>{"sh", "-c", "exit 6"}});
  auto wait = spawn(&S::handleWaitContainer, WaitContainerOp{{done}, WaitCondition::NextExit});
  ASSERT_TRUE(runUntil([&] { return wait->sink.acceptedCount == 1; }));
  ASSERT_TRUE(start(done));
  ASSERT_TRUE(runUntil([&] { return wait->done(); }));
  const std::string miniboxId = *container(id).miniboxId;

  restart();
  auto c = container(id);
  EXPECT_EQ(c.state, state::ContainerState::Running);
  EXPECT_EQ(c.miniboxId, miniboxId);
  EXPECT_EQ(c.name, "keep");
  EXPECT_EQ(c.labels.size(), 1U);
  EXPECT_EQ(container(done).exitCode, 6);

  // Stopping the adopted container: the exit code comes from miniboxd's `stopped` event.
  auto stop = call(&S::handleStopContainer, StopContainerOp{{"keep"}, std::nullopt, std::nullopt});
  ASSERT_TRUE(stop->ok()) << stop->error();
  c = container(id);
  EXPECT_EQ(c.state, state::ContainerState::Exited);
  ASSERT_TRUE(c.exitCode.has_value());
  EXPECT_TRUE(*c.exitCode == 143 || *c.exitCode == 137) << *c.exitCode;
  EXPECT_TRUE(c.error.empty()) << c.error;
  // And it starts again under the new broker, with a held Run.
  ASSERT_TRUE(start(id));
  EXPECT_EQ(container(id).state, state::ContainerState::Running);
}

TEST_F(ReconcileTest, ContainersThatEndedUnobservedAreExitedWithUnknownStatus) {
  std::string id = create({.name = "gone", .cmd = std::vector<std::string>{"sleep", "300"}});
  ASSERT_TRUE(start(id));
  const std::string miniboxId = *container(id).miniboxId;
  crash();
  // While no broker runs, the container ends (stopped behind dockerbox's back).
  sim::test::Client raw(sim_.socketPath());
  auto reply = raw.request({{"type", "Stop"}, {"id", miniboxId}});
  ASSERT_EQ(sim::test::typeOf(reply), "Success") << sim::test::messageOf(reply);
  open();
  ASSERT_TRUE(runUntil([&] { return service_->reconcilePasses() > 0; }));
  auto c = container(id);
  EXPECT_EQ(c.state, state::ContainerState::Exited);
  EXPECT_EQ(c.exitCode, 255);
  EXPECT_FALSE(c.error.empty());
  auto ps = call(&S::handleListContainers, ListContainersOp{true, std::nullopt});
  ASSERT_EQ(ps->reply().getContainerList().getContainers().size(), 1U);
  EXPECT_EQ(ps->reply().getContainerList().getContainers()[0].getNames()[0], "/gone");
}

TEST_F(ReconcileTest, AnAdoptedContainerExitingOnItsOwnIsRecorded) {
  // The container blocks on a FIFO the test opens later: its exit is its own, and reaches
  // the new broker only as miniboxd's `stopped` event.
  char dir[] = "/tmp/dbx-fifo-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  ::chmod(dir, 0755);  // the simulator runs containers as nobody
  const std::string fifo = std::string(dir) + "/release";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0666), 0);
  ::chmod(fifo.c_str(), 0666);
  std::string id = create({.cmd = std::vector<std::string>{"sh", "-c", "read line < " + fifo + "; exit 3"}});
  ASSERT_TRUE(start(id));
  restart();
  ASSERT_EQ(container(id).state, state::ContainerState::Running);
  auto wait = spawn(&S::handleWaitContainer, WaitContainerOp{{id}, WaitCondition::NotRunning});
  ASSERT_TRUE(runUntil([&] { return wait->sink.acceptedCount == 1; }));
  int fd = ::open(fifo.c_str(), O_WRONLY | O_CLOEXEC);  // waits for the container's reader
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "go\n", 3), 3);
  ::close(fd);
  ASSERT_TRUE(runUntil([&] { return wait->done(); }));
  EXPECT_EQ(wait->reply().getWaitResult().getStatusCode(), 3);
  EXPECT_EQ(container(id).exitCode, 3);
  ::unlink(fifo.c_str());
  ::rmdir(dir);
}

}  // namespace
}  // namespace dockerbox::broker::containers::testing
