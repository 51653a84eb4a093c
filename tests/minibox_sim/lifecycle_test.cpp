// minibox-sim behaviour tests (container lifecycle, exec, logs, events, images) against
// minibox-protocol.md §10.
// Each test starts its own simulator on a socket in a fresh /tmp directory and speaks raw
// JSON lines to it. Tests run as root (the simulator drops container processes to
// `nobody`). No test sleeps to synchronise: every wait is for a reply, an event or EOF,
// with a deadline.
#include "tests/minibox_sim/sim_client.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>

namespace dockerbox::sim::test {
namespace {

class LifecycleTest : public ::testing::Test {
 protected:
  SimProcess sim_;
};

TEST_F(LifecycleTest, EphemeralRunStreamsOutputAndExitCode) {
  Client c(sim_.socketPath());
  RunOutcome echo = runEphemeral(c, {"/bin/echo", "hello"});
  EXPECT_TRUE(isHex(echo.id, 16)) << echo.id;
  EXPECT_EQ(echo.id[12], '4');  // first 16 hex digits of a UUIDv4
  EXPECT_EQ(echo.output, "hello\n");
  EXPECT_TRUE(echo.allStdout);
  EXPECT_EQ(echo.exitCode, 0);
  EXPECT_TRUE(findContainer(c, echo.id).empty());  // forgotten at exit

  EXPECT_EQ(runEphemeral(c, {"/bin/sh", "-c", "echo to-stderr >&2; exit 3"}).exitCode, 3);
  EXPECT_EQ(runEphemeral(c, {"/bin/sh", "-c", "kill -9 $$"}).exitCode, -9);
  RunOutcome relative = runEphemeral(c, {"sh", "-c", "true"});  // no PATH search
  EXPECT_TRUE(isHex(relative.id, 16));
  EXPECT_EQ(relative.exitCode, 127);
}

TEST_F(LifecycleTest, ContainerEnvironmentUserAndDirectory) {
  Client c(sim_.socketPath());
  json::object r = runRequest({"/usr/bin/env"}, true);
  r["env"] = json::array{"FOO=bar"};
  c.send(r);
  EXPECT_EQ(finishRun(c).output,
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nTERM=xterm\n"
            "FOO=bar\n");
  EXPECT_EQ(runEphemeral(c, {"/bin/sh", "-c", "id -u; id -G; pwd"}).output, "65534\n65534\n/\n");
}

TEST_F(LifecycleTest, LargeOutputArrivesCompleteInSmallChunks) {
  Client c(sim_.socketPath());
  RunOutcome big = runEphemeral(c, {"/usr/bin/head", "-c", "300000", "/dev/zero"});
  EXPECT_EQ(big.output.size(), 300000U);
  EXPECT_LE(big.largestChunk, 4096U);
  EXPECT_EQ(big.exitCode, 0);
}

TEST_F(LifecycleTest, DetachedLifecycleNamesAndErrors) {
  Client c(sim_.socketPath());
  std::string id = startDetached(c, {"/bin/sleep", "30"}, "web");
  ASSERT_TRUE(isHex(id, 16));
  json::object info = findContainer(c, id);
  EXPECT_EQ(info["state"], "Running");
  EXPECT_EQ(info["name"], "web");
  EXPECT_EQ(info["image"], "alpine:latest");
  EXPECT_EQ(info["command"], "/bin/sleep 30");
  EXPECT_TRUE(info["pid"].is_int64());
  std::regex rfc3339(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}\+00:00)");
  EXPECT_TRUE(std::regex_match(std::string(info["created_at"].as_string()), rfc3339));
  json::object conflict = c.request(runRequest({"/bin/true"}, false, "web"));
  EXPECT_EQ(messageOf(conflict), "container name \"web\" is already in use");
  EXPECT_EQ(messageOf(c.request({{"type", "Remove"}, {"id", "web"}})),
            "container '" + id + "' is already running");
  EXPECT_EQ(messageOf(c.request({{"type", "Stop"}, {"id", "web"}})), "container " + id + " stopped");
  EXPECT_EQ(messageOf(c.request({{"type", "Stop"}, {"id", id}})),
            "container " + id + " has no PID (not running?)");
  info = findContainer(c, id);
  EXPECT_EQ(info["state"], "Stopped");
  EXPECT_TRUE(info["pid"].is_null());
  EXPECT_EQ(messageOf(c.request(runRequest({"/bin/true"}, false, "web"))),
            "container name \"web\" is already in use");  // stopped records keep their name
  EXPECT_EQ(messageOf(c.request({{"type", "Remove"}, {"id", "web"}})), "container " + id + " removed");
  EXPECT_EQ(messageOf(c.request({{"type", "Remove"}, {"id", "web"}})), "container not found: web");
  EXPECT_EQ(messageOf(c.request({{"type", "Stop"}, {"id", id.substr(0, 8)}})),
            "container not found: " + id.substr(0, 8));  // no prefix matching
}

TEST_F(LifecycleTest, StopOfSigtermIgnoringProcessKillsAfterTwoSeconds) {
  Client events(sim_.socketPath());
  Client control(sim_.socketPath());
  ASSERT_NO_FATAL_FAILURE(subscribeSynced(events, control));
  Client run(sim_.socketPath());
  run.send(runRequest({"/bin/sh", "-c", "trap '' TERM; echo ready; exec /bin/sleep 30"}, true));
  RunOutcome started = awaitOutput(run, "ready\n");
  auto begin = std::chrono::steady_clock::now();
  json::object stopped = control.request({{"type", "Stop"}, {"id", started.id}});
  auto elapsed = std::chrono::steady_clock::now() - begin;
  EXPECT_EQ(messageOf(stopped), "container " + started.id + " stopped");
  // The grace period is a lower bound the simulator itself enforces (it cannot answer
  // sooner); no upper bound is asserted: how long a loaded machine takes is not the test's
  // business. That the stop escalated shows in the exit: a TERM-ignoring process ends by KILL.
  EXPECT_GE(elapsed, 1900ms);
  EXPECT_EQ(finishRun(run, started).exitCode, -9);

  json::object created = nextEvent(events);
  EXPECT_EQ(created["type"], "created");
  EXPECT_EQ(created["id"], json::value(started.id));
  EXPECT_EQ(created["image"], "alpine:latest");
  EXPECT_TRUE(created["timestamp"].as_object()["secs_since_epoch"].is_number());
  EXPECT_TRUE(created["timestamp"].as_object()["nanos_since_epoch"].is_number());
  json::object startedEvent = nextEvent(events);
  EXPECT_EQ(startedEvent["type"], "started");
  EXPECT_TRUE(startedEvent["pid"].is_int64());
  json::object stoppedEvent = nextEvent(events);
  EXPECT_EQ(stoppedEvent["type"], "stopped");
  EXPECT_EQ(stoppedEvent["exit_code"], -9);
}

TEST_F(LifecycleTest, PauseResumeUseExactIdsAndEmitEvents) {
  Client events(sim_.socketPath());
  Client c(sim_.socketPath());
  ASSERT_NO_FATAL_FAILURE(subscribeSynced(events, c));
  std::string id = startDetached(c, {"/bin/sleep", "30"}, "box");
  EXPECT_EQ(nextEvent(events)["type"], "created");
  EXPECT_EQ(nextEvent(events)["type"], "started");
  EXPECT_EQ(messageOf(c.request({{"type", "PauseContainer"}, {"id", "box"}})),
            "container box not found");
  json::object paused = c.request({{"type", "PauseContainer"}, {"id", id}});
  EXPECT_EQ(typeOf(paused), "ContainerPaused");
  EXPECT_EQ(paused["id"], json::value(id));
  EXPECT_EQ(findContainer(c, id)["state"], "Paused");
  EXPECT_EQ(messageOf(c.request({{"type", "PauseContainer"}, {"id", id}})),
            "container " + id + " is not running (state: Paused)");
  EXPECT_EQ(typeOf(c.request({{"type", "ResumeContainer"}, {"id", id}})), "ContainerResumed");
  EXPECT_EQ(messageOf(c.request({{"type", "ResumeContainer"}, {"id", id}})),
            "container " + id + " is not paused (state: Running)");
  EXPECT_EQ(nextEvent(events)["type"], "paused");
  EXPECT_EQ(nextEvent(events)["type"], "resumed");
  EXPECT_EQ(typeOf(c.request({{"type", "Stop"}, {"id", id}})), "Success");
  json::object stopped = nextEvent(events);
  EXPECT_EQ(stopped["type"], "stopped");
  EXPECT_EQ(stopped["exit_code"], -15);  // sleep dies of the SIGTERM
}

TEST_F(LifecycleTest, ExecStreamsStdoutBeforeStderr) {
  Client c(sim_.socketPath());
  std::string id = startDetached(c, {"/bin/sleep", "30"}, "exec-box");
  c.send({{"type", "Exec"}, {"container_id", id},
          {"cmd", json::array{"sh", "-c", "echo err >&2; echo out; exit 4"}},
          {"env", json::array{"PATH=/usr/bin:/bin"}}, {"working_dir", nullptr}, {"tty", false}});
  json::object started = c.read();
  EXPECT_EQ(typeOf(started), "ExecStarted");
  EXPECT_TRUE(isHex(started["exec_id"].as_string(), 32));
  std::vector<std::pair<std::string, std::string>> chunks;
  json::object m;
  while (typeOf(m = c.read()) == "ContainerOutput") {
    chunks.emplace_back(m["stream"].as_string(), base64Decode(m["data"].as_string()));
  }
  ASSERT_EQ(chunks.size(), 2U);
  EXPECT_EQ(chunks[0], (std::pair<std::string, std::string>{"stdout", "out\n"}));
  EXPECT_EQ(chunks[1], (std::pair<std::string, std::string>{"stderr", "err\n"}));
  EXPECT_EQ(m["exit_code"], 4);

  auto exec = [&](json::array cmd, json::array env, json::value wd = nullptr) {
    c.send({{"type", "Exec"}, {"container_id", id}, {"cmd", std::move(cmd)},
            {"env", std::move(env)}, {"working_dir", std::move(wd)}});
    RunOutcome out;
    json::object first = c.read();
    EXPECT_EQ(typeOf(first), "ExecStarted") << json::serialize(first);
    return finishRun(c, out);
  };
  EXPECT_EQ(exec({"/usr/bin/env"}, {"A=1"}).output, "A=1\n");  // only the request env
  EXPECT_EQ(exec({"/bin/pwd"}, {}, "/tmp").output, "/tmp\n");  // HEAD honours working_dir
  EXPECT_EQ(exec({"/bin/sh", "-c", "kill -9 $$"}, {}).exitCode, -1);
  EXPECT_EQ(messageOf(c.request({{"type", "Exec"}, {"container_id", "exec-box"},
                                 {"cmd", json::array{"/bin/true"}}})),
            "invalid container id: container ID must be alphanumeric");
  EXPECT_EQ(messageOf(c.request({{"type", "Exec"}, {"container_id", "0123456789abcdef"},
                                 {"cmd", json::array{"/bin/true"}}})),
            "exec failed: container 0123456789abcdef not found or not running: container "
            "0123456789abcdef not found");
}

TEST_F(LifecycleTest, LogsReplayRunningEphemeralAndAreEmptyForDetached) {
  Client c(sim_.socketPath());
  std::string detached = startDetached(c, {"/bin/sh", "-c", "echo invisible; exec sleep 30"});
  c.send({{"type", "ContainerLogs"}, {"container_id", detached}, {"follow", true}});
  EXPECT_EQ(messageOf(c.read()), "end of log");

  Client run(sim_.socketPath());
  run.send(runRequest({"/bin/sh", "-c", "echo one; echo two >&2; exec /bin/sleep 30"}, true));
  RunOutcome out = awaitOutput(run, "two\n");
  c.send({{"type", "ContainerLogs"}, {"container_id", out.id}});
  json::object first = c.read();
  json::object second = c.read();
  EXPECT_EQ(first["line"], "one");
  EXPECT_EQ(first["stream"], "stdout");
  EXPECT_EQ(second["line"], "two");
  EXPECT_EQ(messageOf(c.read()), "end of log");
  EXPECT_EQ(typeOf(c.request({{"type", "Stop"}, {"id", out.id}})), "Success");
  EXPECT_EQ(finishRun(run, out).exitCode, -15);
  EXPECT_EQ(messageOf(c.request({{"type", "ContainerLogs"}, {"container_id", out.id}})),
            "container not found: " + out.id);
}

TEST_F(LifecycleTest, SlowReaderBlocksTheProducerAndLosesNothing) {
  Client run(sim_.socketPath());
  Client control(sim_.socketPath());
  constexpr std::size_t kBytes = 2'000'000;  // far more than pipe and socket buffers hold
  run.send(runRequest({"/usr/bin/head", "-c", std::to_string(kBytes), "/dev/zero"}, true));
  json::object created = run.read();
  ASSERT_EQ(typeOf(created), "ContainerCreated");
  json::object info = findContainer(control, std::string(created["id"].as_string()));
  ASSERT_TRUE(info["pid"].is_int64());
  // While nobody reads, the container must end up blocked writing its pipe: the simulator
  // does not buffer without limit.
  std::string wchanPath = "/proc/" + std::to_string(info["pid"].as_int64()) + "/wchan";
  bool blocked = false;
  for (auto deadline = std::chrono::steady_clock::now() + 10s;
       !blocked && std::chrono::steady_clock::now() < deadline;) {
    std::ifstream wchan(wchanPath);
    std::string where;
    wchan >> where;
    blocked = where.find("pipe_write") != std::string::npos;
    if (!blocked) control.hasLine(10ms);  // a bounded pause between polls
  }
  EXPECT_TRUE(blocked) << "the producer never blocked";
  RunOutcome out = finishRun(run);
  EXPECT_EQ(out.output.size(), kBytes);
  EXPECT_LE(out.largestChunk, 4096U);
  EXPECT_EQ(out.exitCode, 0);
}

TEST_F(LifecycleTest, EphemeralContainerOutlivesItsClientAndIsForgottenAtExit) {
  Client control(sim_.socketPath());
  std::string id;
  {
    Client run(sim_.socketPath());
    run.send(runRequest({"/bin/sh", "-c", "echo ready; exec /bin/sleep 30"}, true, "eph"));
    id = awaitOutput(run, "ready\n").id;
  }  // the client goes away mid-stream
  EXPECT_EQ(findContainer(control, id)["state"], "Running");
  EXPECT_EQ(typeOf(control.request({{"type", "Stop"}, {"id", "eph"}})), "Success");
  bool gone = false;
  for (int i = 0; i < 500 && !gone; ++i) gone = findContainer(control, id).empty();
  EXPECT_TRUE(gone);
  EXPECT_EQ(typeOf(control.request(runRequest({"/bin/true"}, false, "eph"))),
            "ContainerCreated");  // the name was freed
}

TEST_F(LifecycleTest, PausedContainersCanBeRemoved) {
  Client c(sim_.socketPath());
  std::string id = startDetached(c, {"/bin/sleep", "30"});
  EXPECT_EQ(typeOf(c.request({{"type", "PauseContainer"}, {"id", id}})), "ContainerPaused");
  EXPECT_EQ(messageOf(c.request({{"type", "Remove"}, {"id", id}})), "container " + id + " removed");
  EXPECT_TRUE(findContainer(c, id).empty());
}

TEST_F(LifecycleTest, ExecWithTtyUsesAPseudoTerminal) {
  Client c(sim_.socketPath());
  std::string id = startDetached(c, {"/bin/sleep", "30"});
  c.send({{"type", "Exec"}, {"container_id", id}, {"cmd", json::array{"/bin/sh", "-c",
                                                                       "echo hi; test -t 1"}},
          {"tty", true}});
  EXPECT_EQ(typeOf(c.read()), "ExecStarted");
  RunOutcome out = finishRun(c);
  EXPECT_EQ(out.output, "hi\r\n");
  EXPECT_TRUE(out.allStdout);
  EXPECT_EQ(out.exitCode, 0);
}

TEST_F(LifecycleTest, ImagesPullListRemoveAndAutoPull) {
  Client c(sim_.socketPath());
  EXPECT_EQ(messageOf(c.request({{"type", "Pull"}, {"image", "library/nginx"}})),
            "pulled library/nginx:latest");
  auto listed = [&](std::string_view name) {
    json::object list = c.request({{"type", "ListImages"}});
    EXPECT_EQ(typeOf(list), "ImageList");
    for (const auto& v : list["images"].as_array()) {
      if (v.as_string() == name) return true;
    }
    return false;
  };
  EXPECT_TRUE(listed("library/nginx:latest"));
  EXPECT_TRUE(listed("library/alpine:latest"));
  EXPECT_EQ(messageOf(c.request({{"type", "RemoveImage"}, {"image_ref", "library/nginx:latest"}})),
            "removed library/nginx:latest");
  EXPECT_FALSE(listed("library/nginx:latest"));
  EXPECT_EQ(messageOf(c.request({{"type", "RemoveImage"}, {"image_ref", "absent:1"}})),
            "removed absent:1");
  EXPECT_EQ(messageOf(c.request({{"type", "RemoveImage"}, {"image_ref", "nocolon"}})),
            "invalid image ref: nocolon");
  EXPECT_EQ(typeOf(c.request({{"type", "Pull"}, {"image", "nosuch/image"}})), "Error");
  json::object debian = runRequest({"/bin/true"}, true);
  debian["image"] = "debian";
  c.send(debian);
  EXPECT_EQ(finishRun(c).exitCode, 0);
  EXPECT_TRUE(listed("library/debian:latest"));  // pulled automatically by Run
  json::object missing = runRequest({"/bin/true"}, true);
  missing["image"] = "nosuch";
  EXPECT_EQ(typeOf(c.request(missing)), "Error");  // no ContainerCreated first
  json::object pruned = c.request({{"type", "Prune"}, {"dry_run", true}});
  EXPECT_EQ(typeOf(pruned), "Pruned");
  EXPECT_EQ(pruned["dry_run"], true);
  EXPECT_TRUE(listed("library/debian:latest"));
}

}  // namespace
}  // namespace dockerbox::sim::test
