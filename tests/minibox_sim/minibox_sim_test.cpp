// Wire-level tests of minibox-sim against minibox-protocol.md §10. Each test starts its own
// simulator on a socket in a fresh /tmp directory and speaks raw JSON lines to it. Tests run
// as root (the simulator drops container processes to `nobody`). No test sleeps to
// synchronise: every wait is for a reply, an event or EOF, with a deadline.
#include "tests/minibox_sim/sim_client.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <regex>

namespace dockerbox::sim::test {
namespace {

json::object runRequest(json::array command, bool ephemeral, const char* name = nullptr) {
  json::object r{{"type", "Run"}, {"image", "alpine"}, {"tag", nullptr},
                 {"command", std::move(command)}, {"ephemeral", ephemeral}};
  r["name"] = name ? json::value(name) : json::value(nullptr);
  return r;
}

struct RunOutcome {
  std::string id;
  std::string output;
  std::int64_t exitCode = 1000;
  bool allStdout = true;
  std::size_t largestChunk = 0;
};

/// Reads an ephemeral Run's stream to its terminal message.
RunOutcome finishRun(Client& c, RunOutcome out = {}) {
  for (;;) {
    json::object m = c.read();
    std::string type = typeOf(m);
    if (type == "ContainerCreated") {
      out.id = std::string(m.at("id").as_string());
    } else if (type == "ContainerOutput") {
      std::string data = base64Decode(m.at("data").as_string());
      out.largestChunk = std::max(out.largestChunk, data.size());
      out.allStdout = out.allStdout && m.at("stream").as_string() == "stdout";
      out.output += data;
    } else if (type == "ContainerStopped") {
      out.exitCode = m.at("exit_code").as_int64();
      return out;
    } else {
      ADD_FAILURE() << "unexpected message " << json::serialize(m);
      return out;
    }
  }
}

RunOutcome runEphemeral(Client& c, json::array command) {
  c.send(runRequest(std::move(command), true));
  return finishRun(c);
}

/// Reads an ephemeral Run until its output contains `text` (the container is then known to
/// have got that far).
RunOutcome awaitOutput(Client& c, std::string_view text) {
  RunOutcome out;
  while (out.output.find(text) == std::string::npos) {
    json::object m = c.read();
    if (typeOf(m) == "ContainerCreated") out.id = std::string(m.at("id").as_string());
    else if (typeOf(m) == "ContainerOutput") out.output += base64Decode(m.at("data").as_string());
    else {
      ADD_FAILURE() << "unexpected message " << json::serialize(m);
      break;
    }
  }
  return out;
}

std::string startDetached(Client& c, json::array command, const char* name = nullptr) {
  json::object reply = c.request(runRequest(std::move(command), false, name));
  EXPECT_EQ(typeOf(reply), "ContainerCreated") << json::serialize(reply);
  return reply.contains("id") ? std::string(reply.at("id").as_string()) : std::string();
}

json::object findContainer(Client& c, const std::string& id) {
  json::object list = c.request({{"type", "List"}});
  EXPECT_EQ(typeOf(list), "ContainerList");
  for (const auto& v : list["containers"].as_array()) {
    if (v.as_object().at("id").as_string() == id) return v.as_object();
  }
  return {};
}

/// Subscribes `events` and returns once the subscription is known to be live: it removes
/// marker images through `control` until a marker's image_removed event arrives.
void subscribeSynced(Client& events, Client& control) {
  events.send({{"type", "SubscribeEvents"}});
  for (int i = 0; i < 400; ++i) {
    std::string marker = "sync/marker" + std::to_string(i) + ":x";
    ASSERT_EQ(typeOf(control.request({{"type", "RemoveImage"}, {"image_ref", marker}})), "Success");
    if (!events.hasLine(25ms)) continue;
    for (;;) {  // every marker from the first delivered one up to `i` arrives, in order
      json::object e = events.read();
      if (e["event"].as_object()["image"] == json::value(marker)) return;
    }
  }
  FAIL() << "event subscription never became live";
}

json::object nextEvent(Client& events) {
  json::object e = events.read();
  EXPECT_EQ(typeOf(e), "Event");
  return e.contains("event") ? e["event"].as_object() : json::object{};
}

class SimTest : public ::testing::Test {
 protected:
  SimProcess sim_;
};

TEST_F(SimTest, BlankLinesGetNoReplyAndTheConnectionStaysOpen) {
  Client c(sim_.socketPath());
  c.sendRaw("\n   \r\n\t\n{\"type\":\"List\"}\n");
  EXPECT_EQ(typeOf(c.read()), "ContainerList");  // the blank lines produced nothing
  EXPECT_EQ(typeOf(c.request({{"type", "List"}})), "ContainerList");  // no EOF after a reply
  EXPECT_FALSE(c.hasLine(100ms));
}

TEST_F(SimTest, InvalidRequestsAnswerWithThePrefixAndKeepTheConnection) {
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

TEST_F(SimTest, OversizeLineIsRefusedAndTheConnectionStaysUsable) {
  Client c(sim_.socketPath());
  c.sendRaw(std::string(1024 * 1024 + 100, 'x') + "\n{\"type\":\"List\"}\n");
  json::object reply = c.read();
  EXPECT_EQ(typeOf(reply), "Error");
  EXPECT_EQ(messageOf(reply).rfind("request too large: at least ", 0), 0U) << messageOf(reply);
  EXPECT_NE(messageOf(reply).find("(max 1048576)"), std::string::npos);
  EXPECT_EQ(typeOf(c.read()), "ContainerList");
}

TEST_F(SimTest, FinalLineWithoutNewlineIsProcessedAtEof) {
  Client c(sim_.socketPath());
  c.sendRaw("{\"type\":\"List\"}");
  c.shutdownWrite();
  EXPECT_EQ(typeOf(c.read()), "ContainerList");
  EXPECT_TRUE(c.readsEof());
}

TEST_F(SimTest, EphemeralRunStreamsOutputAndExitCode) {
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

TEST_F(SimTest, ContainerEnvironmentUserAndDirectory) {
  Client c(sim_.socketPath());
  json::object r = runRequest({"/usr/bin/env"}, true);
  r["env"] = json::array{"FOO=bar"};
  c.send(r);
  EXPECT_EQ(finishRun(c).output,
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nTERM=xterm\n"
            "FOO=bar\n");
  EXPECT_EQ(runEphemeral(c, {"/bin/sh", "-c", "id -u; id -G; pwd"}).output, "65534\n65534\n/\n");
}

TEST_F(SimTest, LargeOutputArrivesCompleteInSmallChunks) {
  Client c(sim_.socketPath());
  RunOutcome big = runEphemeral(c, {"/usr/bin/head", "-c", "300000", "/dev/zero"});
  EXPECT_EQ(big.output.size(), 300000U);
  EXPECT_LE(big.largestChunk, 4096U);
  EXPECT_EQ(big.exitCode, 0);
}

TEST_F(SimTest, DetachedLifecycleNamesAndErrors) {
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

TEST_F(SimTest, StopOfSigtermIgnoringProcessKillsAfterTwoSeconds) {
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
  EXPECT_GE(elapsed, 1900ms);
  EXPECT_LT(elapsed, 6s);
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

TEST_F(SimTest, PauseResumeUseExactIdsAndEmitEvents) {
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

TEST_F(SimTest, ExecStreamsStdoutBeforeStderr) {
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

TEST_F(SimTest, LogsReplayRunningEphemeralAndAreEmptyForDetached) {
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

TEST_F(SimTest, SlowReaderBlocksTheProducerAndLosesNothing) {
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

TEST_F(SimTest, EphemeralContainerOutlivesItsClientAndIsForgottenAtExit) {
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

TEST_F(SimTest, PausedContainersCanBeRemoved) {
  Client c(sim_.socketPath());
  std::string id = startDetached(c, {"/bin/sleep", "30"});
  EXPECT_EQ(typeOf(c.request({{"type", "PauseContainer"}, {"id", id}})), "ContainerPaused");
  EXPECT_EQ(messageOf(c.request({{"type", "Remove"}, {"id", id}})), "container " + id + " removed");
  EXPECT_TRUE(findContainer(c, id).empty());
}

TEST_F(SimTest, ExecWithTtyUsesAPseudoTerminal) {
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

TEST_F(SimTest, InvalidUtf8IsAnsweredInHeadMode) {
  Client c(sim_.socketPath());
  c.sendRaw("{\"type\":\"Stop\",\"id\":\"\xff\"}\n");
  EXPECT_EQ(messageOf(c.read()).rfind("invalid UTF-8 in request: ", 0), 0U);
  EXPECT_EQ(typeOf(c.request({{"type", "List"}})), "ContainerList");
}

TEST_F(SimTest, ImagesPullListRemoveAndAutoPull) {
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

TEST_F(SimTest, InputAndResizeHaveNoSession) {
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

TEST_F(SimTest, SocketIsOwnerOnlyAndRemovedOnShutdown) {
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
