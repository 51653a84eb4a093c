#include "broker/minibox/client.hpp"

#include "client_fixture.hpp"

#include <gtest/gtest.h>

namespace dockerbox::broker::minibox {
namespace {

using boost::asio::awaitable;
using testing::FakeMode;
using testing::runTask;
using testing::runUntil;

TEST_F(ClientTest, ListStopsOnTerminalReplyAndReusesTheConnection) {
  auto& fake = serve(testing::replyByType({{"List", {kContainerList}}}));
  auto& c = client();
  for (int i = 0; i < 3; ++i) {
    auto containers = runTask(io_, c.list());
    ASSERT_TRUE(containers) << "list() hung: it must stop on ContainerList, not wait for EOF";
    ASSERT_TRUE(*containers) << containers->error().message;
    ASSERT_EQ((*containers)->size(), 1U);
    EXPECT_EQ((*containers)->front().state, ContainerState::Running);
  }
  EXPECT_EQ(fake.accepted(), 1U);
  EXPECT_EQ(fake.requests().size(), 3U);
  EXPECT_EQ(c.idleConnections(), 1U);
}

TEST_F(ClientTest, MissingSocketIsUnavailableAndNamesThePath) {
  auto result = runTask(io_, client().list());
  ASSERT_TRUE(result);
  ASSERT_FALSE(*result);
  EXPECT_EQ(result->error().kind, ErrorKind::Unavailable);
  EXPECT_EQ(result->error().message, "cannot reach miniboxd at " + socketPath() +
                                         ": No such file or directory (is miniboxd running?)");
}

TEST_F(ClientTest, EofRightAfterConnectIsThePeerCredentialGate) {
  serve(testing::replyByType({}), FakeMode::Gate);
  auto result = runTask(io_, client().list());
  ASSERT_TRUE(result);
  ASSERT_FALSE(*result);
  EXPECT_EQ(result->error().kind, ErrorKind::Unavailable);
  EXPECT_EQ(result->error().message,
            "miniboxd at " + socketPath() +
                " closed the connection without answering (it admits only root: is the broker "
                "running as root?)");
}

TEST_F(ClientTest, SilentDaemonTimesOutNamingSocketAndRequest) {
  auto& fake = serve(testing::replyByType({}));
  Timeouts timeouts;
  timeouts.reply = std::chrono::milliseconds(100);
  auto result = runTask(io_, client(timeouts).stop(kId));
  ASSERT_TRUE(result);
  ASSERT_FALSE(*result);
  EXPECT_EQ(result->error().kind, ErrorKind::Unavailable);
  EXPECT_NE(result->error().message.find(socketPath()), std::string::npos);
  EXPECT_NE(result->error().message.find("Stop"), std::string::npos);
  EXPECT_EQ(client_->idleConnections(), 0U) << "a timed-out connection must not be pooled";
  EXPECT_TRUE(runUntil(io_, [&] { return fake.closedByClient() == 1; }));
}

TEST_F(ClientTest, DetachedRunEndsOnContainerCreated) {
  auto& fake = serve(
      testing::replyByType({{"Run", {R"({"type":"ContainerCreated","id":"3f9c1a7be2d04c61"})"}},
                            {"List", {kContainerList}}}));
  auto& c = client();
  RunSpec spec{.image = "alpine", .command = {"/bin/sleep", "100"}};
  auto id = runTask(io_, c.runDetached(spec));
  ASSERT_TRUE(id) << "runDetached hung: nothing follows ContainerCreated for a detached Run";
  ASSERT_TRUE(*id) << id->error().message;
  EXPECT_EQ(**id, kId);
  EXPECT_NE(fake.requests().at(0).find(R"("ephemeral":false)"), std::string::npos);
  // The daemon is waiting for the next request on that connection: it is reusable.
  auto list = runTask(io_, c.list());
  ASSERT_TRUE(list && *list);
  EXPECT_EQ(fake.accepted(), 1U);
}

TEST_F(ClientTest, EphemeralRunStreamsOutputAndReturnsExitCode) {
  auto& fake = serve(
      testing::replyByType({{"Run",
                             {R"({"type":"ContainerCreated","id":"3f9c1a7be2d04c61"})",
                              R"({"type":"ContainerOutput","stream":"stdout","data":"aGVsbG8K"})",
                              R"({"type":"ContainerOutput","stream":"stdout","data":"d29ybGQK"})",
                              R"({"type":"ContainerStopped","exit_code":-9})"}},
                            {"List", {kContainerList}}}));
  auto& c = client();
  std::string createdId;
  std::string output;
  auto onCreated = [&](std::string id) -> awaitable<void> {
    createdId = std::move(id);
    co_return;
  };
  auto onOutput = [&](OutputStream, std::vector<std::uint8_t> bytes) -> awaitable<void> {
    output.append(bytes.begin(), bytes.end());
    co_return;
  };
  RunSpec spec{.image = "alpine", .command = {"/bin/sh", "-c", "echo hello; echo world"}};
  auto code = runTask(io_, c.runEphemeral(spec, onCreated, onOutput));
  ASSERT_TRUE(code) << "runEphemeral hung: it must stop on ContainerStopped";
  ASSERT_TRUE(*code) << code->error().message;
  EXPECT_EQ(**code, -9);
  EXPECT_EQ(dockerExitCode(**code), 137);
  EXPECT_EQ(createdId, kId);
  EXPECT_EQ(output, "hello\nworld\n");
  EXPECT_NE(fake.requests().at(0).find(R"("ephemeral":true)"), std::string::npos);
  ASSERT_TRUE(runTask(io_, c.list()).value());
  EXPECT_EQ(fake.accepted(), 1U);
}

TEST_F(ClientTest, ExecToleratesOutputBeforeExecStarted) {
  serve(testing::replyByType(
      {{"Exec",
        {R"({"type":"ContainerOutput","stream":"stdout","data":"b3V0"})",
         R"({"type":"ExecStarted","exec_id":"0123456789abcdef0123456789abcdef"})",
         R"({"type":"ContainerOutput","stream":"stderr","data":"ZXJy"})",
         R"({"type":"ContainerStopped","exit_code":3})"}}}));
  std::string out;
  std::string err;
  auto onOutput = [&](OutputStream stream, std::vector<std::uint8_t> bytes) -> awaitable<void> {
    (stream == OutputStream::Stdout ? out : err).append(bytes.begin(), bytes.end());
    co_return;
  };
  ExecSpec spec{.containerId = kId, .cmd = {"/bin/ls"}, .env = {"PATH=/bin"}};
  auto code = runTask(io_, client().exec(spec, onOutput));
  ASSERT_TRUE(code && *code);
  EXPECT_EQ(**code, 3);
  EXPECT_EQ(out, "out");
  EXPECT_EQ(err, "err");
}

TEST_F(ClientTest, ErrorReplyKeepsTextAndMapsKind) {
  serve(
      testing::replyByType({{"Stop", {R"({"type":"Error","message":"container not found: web"})"}},
                            {"List", {kContainerList}}}));
  auto& c = client();
  auto result = runTask(io_, c.stop("web"));
  ASSERT_TRUE(result);
  ASSERT_FALSE(*result);
  EXPECT_EQ(result->error().kind, ErrorKind::NotFound);
  EXPECT_EQ(result->error().message, "container not found: web");
  EXPECT_EQ(c.idleConnections(), 1U) << "an Error reply ends the exchange cleanly";
}

TEST_F(ClientTest, LogsCollectLinesUntilSuccess) {
  serve(testing::replyByType({{"ContainerLogs",
                               {R"({"type":"LogLine","stream":"stdout","line":"hello"})",
                                R"({"type":"LogLine","stream":"stdout","line":"world"})",
                                R"({"type":"Success","message":"end of log"})"}}}));
  auto lines = runTask(io_, client().logs("web"));
  ASSERT_TRUE(lines && *lines);
  ASSERT_EQ((*lines)->size(), 2U);
  EXPECT_EQ((*lines)->at(1).line, "world");
}

}  // namespace
}  // namespace dockerbox::broker::minibox
