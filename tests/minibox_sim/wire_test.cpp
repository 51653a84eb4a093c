// minibox-sim wire-level tests (framing, request errors, version modes, peer gate, socket)
// against minibox-protocol.md §10.
// Each test starts its own simulator on a socket in a fresh /tmp directory and speaks raw
// JSON lines to it. Tests run as root (the simulator drops container processes to
// `nobody`). No test sleeps to synchronise: every wait is for a reply, an event or EOF,
// with a deadline.
#include "tests/minibox_sim/sim_client.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace dockerbox::sim::test {
namespace {

class WireTest : public ::testing::Test {
 protected:
  SimProcess sim_;
};

TEST_F(WireTest, BlankLinesGetNoReplyAndTheConnectionStaysOpen) {
  Client c(sim_.socketPath());
  c.sendRaw("\n   \r\n\t\n{\"type\":\"List\"}\n");
  EXPECT_EQ(typeOf(c.read()), "ContainerList");  // the blank lines produced nothing
  EXPECT_EQ(typeOf(c.request({{"type", "List"}})), "ContainerList");  // no EOF after a reply
  EXPECT_FALSE(c.hasLine(100ms));
}

TEST_F(WireTest, InvalidRequestsAnswerWithThePrefixAndKeepTheConnection) {
  Client c(sim_.socketPath());
  auto expectInvalid = [&](std::string_view raw, std::string_view contains) {
    c.sendRaw(std::string(raw) + "\n");
    json::object reply = c.read();
    EXPECT_EQ(typeOf(reply), "Error") << raw;
    EXPECT_EQ(messageOf(reply).rfind("invalid request: ", 0), 0U) << messageOf(reply);
    EXPECT_NE(messageOf(reply).find(contains), std::string::npos) << messageOf(reply);
  };
  expectInvalid("{not json", "");
  expectInvalid("{\"type\":\"Nope\"}", "unknown variant `Nope`");
  expectInvalid("{\"image\":\"alpine\"}", "missing field `type`");
  expectInvalid("{\"type\":\"Run\",\"image\":\"alpine\"}", "missing field `command`");
  expectInvalid("{\"type\":\"Run\",\"image\":\"alpine\",\"command\":[],\"ephemeral\":null}",
                "invalid type: null, expected a boolean");
  expectInvalid("{\"type\":\"Run\",\"image\":\"alpine\",\"command\":[],\"env\":null}",
                "invalid type: null");
  expectInvalid("{\"type\":\"Stop\",\"id\":5}", "invalid type: integer `5`");
  expectInvalid("{\"type\":\"Run\",\"image\":\"a\",\"command\":[],\"network\":\"bridge\"}",
                "unknown variant `bridge`");
  // Unknown fields are ignored; null is fine for an Option field.
  c.sendRaw("{\"type\":\"List\",\"extra\":[1,2]}\n");
  EXPECT_EQ(typeOf(c.read()), "ContainerList");
  json::object pull = c.request({{"type", "Pull"}, {"image", "alpine"}, {"tag", nullptr}});
  EXPECT_EQ(messageOf(pull), "pulled alpine:latest");
}

TEST_F(WireTest, OversizeLineIsRefusedAndTheConnectionStaysUsable) {
  Client c(sim_.socketPath());
  c.sendRaw(std::string(1024 * 1024 + 100, 'x') + "\n{\"type\":\"List\"}\n");
  json::object reply = c.read();
  EXPECT_EQ(typeOf(reply), "Error");
  EXPECT_EQ(messageOf(reply).rfind("request too large: at least ", 0), 0U) << messageOf(reply);
  EXPECT_NE(messageOf(reply).find("(max 1048576)"), std::string::npos);
  EXPECT_EQ(typeOf(c.read()), "ContainerList");
}

TEST_F(WireTest, FinalLineWithoutNewlineIsProcessedAtEof) {
  Client c(sim_.socketPath());
  c.sendRaw("{\"type\":\"List\"}");
  c.shutdownWrite();
  EXPECT_EQ(typeOf(c.read()), "ContainerList");
  EXPECT_TRUE(c.readsEof());
}

TEST_F(WireTest, InvalidUtf8IsAnsweredInHeadMode) {
  Client c(sim_.socketPath());
  c.sendRaw("{\"type\":\"Stop\",\"id\":\"\xff\"}\n");
  EXPECT_EQ(messageOf(c.read()).rfind("invalid UTF-8 in request: ", 0), 0U);
  EXPECT_EQ(typeOf(c.request({{"type", "List"}})), "ContainerList");
}

TEST_F(WireTest, InputAndResizeHaveNoSession) {
  Client c(sim_.socketPath());
  EXPECT_EQ(messageOf(c.request({{"type", "SendInput"}, {"session_id", "abc"}, {"data", "bHMK"}})),
            "no active tty session: abc");
  EXPECT_EQ(messageOf(c.request({{"type", "SendInput"}, {"session_id", "abc"}, {"data", "!"}}))
                .rfind("base64 decode: ", 0),
            0U);
  EXPECT_EQ(messageOf(c.request(
                {{"type", "ResizePty"}, {"session_id", "abc"}, {"cols", 80}, {"rows", 24}})),
            "no active tty session: abc");
}

TEST_F(WireTest, SocketIsOwnerOnlyAndRemovedOnShutdown) {
  struct stat st {};
  ASSERT_EQ(::stat(sim_.socketPath().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600U);
  int status = sim_.stop();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_NE(::stat(sim_.socketPath().c_str(), &st), 0);
}

TEST(SimModeTest, V019RefusesHeadOnlyRequestsAndPolicy) {
  SimProcess sim({"--mode", "v0.19", "--allow-bind-mounts", "--allow-privileged"});
  Client c(sim.socketPath());
  EXPECT_EQ(messageOf(c.request({{"type", "ListImages"}}))
                .rfind("invalid request: unknown variant `ListImages`", 0),
            0U);
  json::object mounts = runRequest({"/bin/true"}, false);
  mounts["mounts"] = json::array{
      json::object{{"host_path", "/srv"}, {"container_path", "/data"}, {"read_only", true}}};
  EXPECT_EQ(messageOf(c.request(mounts)),
            "policy violation: bind mount requested but bind mounts are not allowed");
  json::object privileged = runRequest({"/bin/true"}, false);
  privileged["privileged"] = true;
  EXPECT_EQ(messageOf(c.request(privileged)),
            "policy violation: privileged mode requested but privileged containers are not "
            "allowed");
  c.sendRaw(std::string(1024 * 1024 + 99, 'x') + "\n");
  EXPECT_EQ(messageOf(c.read()), "request too large: 1048676 bytes (max 1048576)");
  std::string id = startDetached(c, {"/bin/sleep", "30"});
  c.send({{"type", "Exec"}, {"container_id", id}, {"cmd", json::array{"/bin/true"}}});
  json::object started = c.read();
  EXPECT_TRUE(isHex(started["exec_id"].as_string(), 16)) << json::serialize(started);
  EXPECT_EQ(finishRun(c).exitCode, 0);
}

TEST(SimModeTest, V019ClosesOnInvalidUtf8) {
  SimProcess sim({"--mode", "v0.19"});
  Client c(sim.socketPath());
  c.sendRaw("{\"type\":\"Stop\",\"id\":\"\xff\"}\n");
  EXPECT_TRUE(c.readsEof());
}

TEST(SimModeTest, ExecStartedMayFollowTheFirstOutput) {
  SimProcess sim({"--exec-started", "late"});
  Client c(sim.socketPath());
  std::string id = startDetached(c, {"/bin/sleep", "30"});
  c.send({{"type", "Exec"}, {"container_id", id}, {"cmd", json::array{"/bin/echo", "x"}}});
  EXPECT_EQ(typeOf(c.read()), "ContainerOutput");
  EXPECT_EQ(typeOf(c.read()), "ExecStarted");
  EXPECT_EQ(typeOf(c.read()), "ContainerStopped");
}

TEST(SimModeTest, HeadAllowsMountsOnlyWhenConfigured) {
  SimProcess sim({"--allow-bind-mounts"});
  Client c(sim.socketPath());
  json::object mounts = runRequest({"/bin/true"}, true);
  mounts["mounts"] = json::array{
      json::object{{"host_path", "/srv"}, {"container_path", "/data"}, {"read_only", true}}};
  c.send(mounts);
  EXPECT_EQ(finishRun(c).exitCode, 0);
  json::object privileged = runRequest({"/bin/true"}, false);
  privileged["privileged"] = true;
  EXPECT_EQ(messageOf(c.request(privileged)).rfind("policy violation: privileged mode", 0), 0U);
}

TEST(SimModeTest, SmolvmAdapterHasNoExec) {
  SimProcess sim({"--adapter", "smolvm"});
  Client c(sim.socketPath());
  std::string id = startDetached(c, {"/bin/sleep", "30"});
  EXPECT_EQ(messageOf(c.request({{"type", "Exec"}, {"container_id", id},
                                 {"cmd", json::array{"/bin/true"}}})),
            "exec not supported on this platform");
}

TEST(SimModeTest, PeerGateClosesNonRootClientsWithoutAByte) {
  SimProcess sim({"--peer-gate"}, {{"MINIBOX_SOCKET_MODE", "0666"}});
  ASSERT_TRUE(sim.ready());
  ASSERT_EQ(::chmod(sim.dir().c_str(), 0755), 0);  // let uid 65534 reach the socket
  pid_t child = ::fork();
  if (child == 0) {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(3);
    Client nobody(sim.socketPath());
    if (!nobody.connected()) ::_exit(4);
    nobody.trySendRaw("{\"type\":\"List\"}\n");  // EPIPE if already closed: fine
    ::_exit(nobody.readsEof() ? 0 : 5);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "3: setuid, 4: connect, 5: got bytes or no EOF";
  Client root(sim.socketPath());
  EXPECT_EQ(typeOf(root.request({{"type", "List"}})), "ContainerList");
}

}  // namespace
}  // namespace dockerbox::sim::test
