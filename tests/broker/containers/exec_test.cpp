// `docker exec` through the container service against the minibox simulator: create,
// start (attached and detached), inspect, and the errors a Docker user sees.
#include "engine/containers/service.hpp"

#include "tests/broker/containers/service_fixture.hpp"

namespace dockerbox::broker::containers::testing {
namespace {

using S = ContainerService;

class ExecTest : public ServiceTest {
 protected:
  std::string running() {
    std::string id = create({.name = "web", .cmd = std::vector<std::string>{"sleep", "300"}, .env = {"FROM=container"}});
    EXPECT_TRUE(start(id));
    return id;
  }

  std::string createExec(std::vector<std::string> cmd, std::vector<std::string> env = {}) {
    CreateExecOp op;
    op.container = {"web"};
    op.cmd = std::move(cmd);
    op.env = std::move(env);
    op.attachStdout = op.attachStderr = true;
    auto c = call(&S::handleCreateExec, std::move(op));
    EXPECT_TRUE(c->ok()) << c->error();
    return c->ok() ? std::string(c->reply().getExecCreated()) : std::string();
  }

  std::shared_ptr<Call> inspect(const std::string& execId) {
    auto c = call(&S::handleInspectExec, InspectExecOp{execId});
    EXPECT_TRUE(c->ok()) << c->error();
    return c;
  }
};

TEST_F(ExecTest, EchoPrintsAndExitsZero) {
  std::string id = running();
  std::string execId = createExec({"echo", "hi"});
  ASSERT_EQ(execId.size(), 64U);
  auto started = call(&S::handleStartExec, StartExecOp{execId, false, false});
  ASSERT_TRUE(started->ok()) << started->error();
  EXPECT_EQ(started->sink.acceptedCount, 1);
  EXPECT_EQ(started->sink.out, "hi\n");
  EXPECT_TRUE(started->reply().isStreamEnded());
  auto info = inspect(execId);
  auto r = info->reply().getExecInspect();
  EXPECT_FALSE(r.getRunning());
  EXPECT_TRUE(r.getHasExitCode());
  EXPECT_EQ(r.getExitCode(), 0);
  EXPECT_EQ(r.getContainerId(), id);
  EXPECT_EQ(r.getConfig().getCmd()[0], "echo");
  // An exec runs once.
  auto again = call(&S::handleStartExec, StartExecOp{execId, false, false});
  EXPECT_EQ(again->kind(), ErrorKind::Conflict);
}

TEST_F(ExecTest, StderrIsSeparateAndExitCodesAreKept) {
  running();
  std::string execId = createExec({"sh", "-c", "echo out; echo err >&2; exit 5"});
  auto started = call(&S::handleStartExec, StartExecOp{execId, false, false});
  ASSERT_TRUE(started->ok()) << started->error();
  EXPECT_EQ(started->sink.out, "out\n");
  EXPECT_EQ(started->sink.err, "err\n");
  EXPECT_EQ(inspect(execId)->reply().getExecInspect().getExitCode(), 5);
}

TEST_F(ExecTest, EnvironmentIsPathContainerThenExec) {
  running();
  std::string execId = createExec({"sh", "-c", "echo $FROM $EXTRA; echo $PATH"}, {"EXTRA=exec"});
  auto started = call(&S::handleStartExec, StartExecOp{execId, false, false});
  EXPECT_EQ(started->sink.out, "container exec\n/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n");
}

TEST_F(ExecTest, MissingProgramAndSignalDeath) {
  running();
  std::string missing = createExec({"no-such-program"});
  call(&S::handleStartExec, StartExecOp{missing, false, false});
  EXPECT_EQ(inspect(missing)->reply().getExecInspect().getExitCode(), 127);
  std::string killed = createExec({"sh", "-c", "kill -9 $$"});
  call(&S::handleStartExec, StartExecOp{killed, false, false});
  // miniboxd reports only "a signal" (-1) for execs: 255, Docker's unknown status.
  EXPECT_EQ(inspect(killed)->reply().getExecInspect().getExitCode(), 255);
}

TEST_F(ExecTest, DetachedExecFinishesInTheBackground) {
  running();
  std::string execId = createExec({"sh", "-c", "exit 7"});
  auto started = call(&S::handleStartExec, StartExecOp{execId, true, false});
  ASSERT_TRUE(started->ok()) << started->error();
  EXPECT_TRUE(started->reply().isOk());
  EXPECT_EQ(started->sink.acceptedCount, 0);
  ASSERT_TRUE(runUntil([&] {
    auto e = state_->getExec(execId);
    return e && e->exitCode.has_value();
  }));
  EXPECT_EQ(*state_->getExec(execId)->exitCode, 7);
}

TEST_F(ExecTest, ClientLeavingDoesNotLoseTheExitCode) {
  running();
  std::string execId = createExec({"sh", "-c", "echo started; exec sleep 1"});
  auto started = spawn(&S::handleStartExec, StartExecOp{execId, false, false});
  ASSERT_TRUE(runUntil([&] { return started->sink.out == "started\n"; }));
  started->cancel.emit(asio::cancellation_type::terminal);
  ASSERT_TRUE(runUntil([&] { return started->done(); }));
  EXPECT_FALSE(started->ok());
  ASSERT_TRUE(runUntil([&] {
    auto e = state_->getExec(execId);
    return e && e->exitCode.has_value();
  }));
  EXPECT_EQ(*state_->getExec(execId)->exitCode, 0);  // sleep 1 replaced the shell and exited 0
}

TEST_F(ExecTest, RefusedWhereDockerRefuses) {
  std::string id = create({.name = "web", .cmd = std::vector<std::string>{"sleep", "300"}});
  CreateExecOp op;
  op.container = {"web"};
  op.cmd = {"true"};
  auto notRunningYet = call(&S::handleCreateExec, op);
  EXPECT_EQ(notRunningYet->kind(), ErrorKind::Conflict);
  EXPECT_EQ(notRunningYet->error(), "Container " + id + " is not running");
  ASSERT_TRUE(start(id));
  CreateExecOp asUser = op;
  asUser.user = "nobody";
  // Accepted at create (dockerbox-init switches users); this container runs unconfined (no
  // init here), where miniboxd cannot switch users, so the start refuses it.
  auto created = call(&S::handleCreateExec, asUser);
  ASSERT_TRUE(created->ok()) << created->error();
  StartExecOp startAsUser;
  startAsUser.id = created->reply().getExecCreated();
  EXPECT_EQ(call(&S::handleStartExec, startAsUser)->kind(), ErrorKind::NotImplemented);
  CreateExecOp missing = op;
  missing.container = {"nosuch"};
  EXPECT_EQ(call(&S::handleCreateExec, missing)->kind(), ErrorKind::NotFound);
  EXPECT_EQ(call(&S::handleInspectExec, InspectExecOp{std::string(64, 'a')})->kind(), ErrorKind::NotFound);
  EXPECT_EQ(call(&S::handleResizeExec, ResizeExecOp{std::string(64, 'a'), 30, 100})->kind(), ErrorKind::NotFound);
  auto real = call(&S::handleCreateExec, op);
  ASSERT_TRUE(real->ok()) << real->error();
  // As dockerd: resizing an exec without a terminal is not an error; one with a terminal
  // must be running.
  EXPECT_TRUE(call(&S::handleResizeExec, ResizeExecOp{real->reply().getExecCreated(), 30, 100})->ok());
  CreateExecOp withTerminal = op;
  withTerminal.tty = true;
  auto terminal = call(&S::handleCreateExec, withTerminal);
  ASSERT_TRUE(terminal->ok()) << terminal->error();
  EXPECT_EQ(call(&S::handleResizeExec, ResizeExecOp{terminal->reply().getExecCreated(), 30, 100})->kind(),
            ErrorKind::Conflict);
}

}  // namespace
}  // namespace dockerbox::broker::containers::testing
