// Streams end to end through a worker: HTTP bytes in from a raw client, typed IPC out to a
// scripted broker that sends accepted / output / events / responses step by step.
#include "frontend/worker.hpp"

#include "stream_harness.hpp"

#include <gtest/gtest.h>

#include <csignal>

namespace dockerbox::frontend {
namespace {

using namespace testing;
using ipc::wire::Request;
using ipc::wire::StreamKind;
using ipc::wire::WorkerMessage;

const std::string kId(64, 'c');

// The worker writes to clients that have hung up, as in production, where main.cpp ignores
// SIGPIPE; without this the test process itself would die of it.
const bool kSigpipeIgnored = [] {
  ::signal(SIGPIPE, SIG_IGN);
  return true;
}();

/// Answers the prelude inspect of logs/attach with a container whose Tty is `tty`.
void answerInspect(ScriptedBroker& broker, bool tty) {
  auto id = broker.expectRequest(Request::Op::INSPECT_CONTAINER);
  broker.respond(id, [&](ipc::wire::Response::Result::Builder result) {
    auto inspect = result.initContainerInspect();
    inspect.initSummary().setId(kId);
    inspect.initConfig().setTty(tty);
  });
}

constexpr std::string_view kAttach =
    "POST /v1.50/containers/web/attach?stderr=1&stdout=1&stream=1 HTTP/1.1\r\nHost: api.moby.localhost\r\n"
    "Content-Length: 0\r\nConnection: Upgrade\r\nContent-Type: text/plain\r\nUpgrade: tcp\r\n\r\n";

TEST(Streams, WaitSendsItsHeadWhenAcceptedAndTheBodyWhenTheResultComes) {
  StreamHarness h;
  h.client->send("POST /v1.50/containers/web/wait?condition=next-exit HTTP/1.1\r\nHost: x\r\n\r\n");
  auto id = h.broker->expectRequest(Request::Op::WAIT_CONTAINER);
  EXPECT_EQ(h.broker->lastRequest().getOp().getWaitContainer().getCondition(), ipc::wire::WaitCondition::NEXT_EXIT);
  h.broker->accepted(id);
  // The head must arrive now, with no result in sight: `docker run` sends /start only then.
  std::string head = h.client->readThrough("\r\n\r\n");
  EXPECT_TRUE(head.starts_with("HTTP/1.1 200 OK\r\n")) << head;
  EXPECT_NE(head.find("Content-Type: application/json\r\n"), std::string::npos);
  EXPECT_NE(head.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  EXPECT_NE(head.find("Api-Version: 1.50\r\n"), std::string::npos);
  h.broker->respond(id, [](auto result) { result.initWaitResult().setStatusCode(3); });
  EXPECT_EQ(readChunkedBody(*h.client), "{\"StatusCode\":3,\"Error\":null}\n");
  // Keep-alive: the connection serves the next request.
  h.client->send("GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(h.client->readThrough("OK").starts_with("HTTP/1.1 200 OK"));
}

TEST(Streams, WaitErrorsBeforeAcceptanceAreDockerErrors) {
  StreamHarness h;
  h.client->send("POST /containers/nope/wait HTTP/1.1\r\nHost: x\r\n\r\n");
  auto id = h.broker->expectRequest(Request::Op::WAIT_CONTAINER);
  h.broker->respondError(id, ipc::wire::ErrorKind::NOT_FOUND, "No such container: nope");
  std::string head = h.client->readThrough("\r\n\r\n");
  EXPECT_TRUE(head.starts_with("HTTP/1.1 404 Not Found\r\n")) << head;
  EXPECT_EQ(h.client->readThrough("\n"), "{\"message\":\"No such container: nope\"}\n");
}

TEST(Streams, AttachHijacksWithDockerdsExactHeadAndMultiplexesOutput) {
  StreamHarness h;
  h.client->send(kAttach);
  answerInspect(*h.broker, false);
  auto id = h.broker->expectRequest(Request::Op::ATTACH_CONTAINER);
  auto op = h.broker->lastRequest().getOp().getAttachContainer();
  EXPECT_TRUE(op.getStdout() && op.getStderr() && op.getStream());
  EXPECT_FALSE(op.getStdin());
  h.broker->accepted(id);
  EXPECT_EQ(h.client->readThrough("\r\n\r\n"),
            "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\n"
            "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n");
  // The CLI half-closes right after the 101 when it has no stdin: output must keep flowing.
  h.client->shutdownWrite();
  auto end = h.broker->next();
  ASSERT_NE(end, nullptr);
  ASSERT_EQ(end->root().which(), WorkerMessage::STREAM_INPUT);
  EXPECT_TRUE(end->root().getStreamInput().getEnd());
  EXPECT_EQ(end->root().getStreamInput().getData().size(), 0u);
  h.broker->output(id, StreamKind::STDOUT, "out\n");
  h.broker->output(id, StreamKind::STDERR, "err\n");
  h.broker->respond(id, [](auto result) { result.setStreamEnded(); });
  EXPECT_EQ(h.client->readToEof(), std::string("\x01\0\0\0\0\0\0\x04" "out\n" "\x02\0\0\0\0\0\0\x04" "err\n", 24));
}

TEST(Streams, AttachWithATtyIsRawAndRelaysStdin) {
  StreamHarness h;
  // Stdin sent together with the request (before the 101) must reach the broker too.
  h.client->send(std::string(kAttach) + "early");
  answerInspect(*h.broker, true);
  auto id = h.broker->expectRequest(Request::Op::ATTACH_CONTAINER);
  h.broker->accepted(id);
  EXPECT_NE(h.client->readThrough("\r\n\r\n").find("Content-Type: application/vnd.docker.raw-stream\r\n"),
            std::string::npos);
  auto early = h.broker->next();
  ASSERT_NE(early, nullptr);
  ASSERT_EQ(early->root().which(), WorkerMessage::STREAM_INPUT);
  auto data = early->root().getStreamInput().getData();
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(data.begin()), data.size()), "early");
  EXPECT_EQ(early->root().getStreamInput().getRequestId(), id);
  h.client->send("ls\r");
  auto typed = h.broker->next();
  ASSERT_NE(typed, nullptr);
  EXPECT_EQ(typed->root().getStreamInput().getData().size(), 3u);
  EXPECT_EQ(typed->root().getStreamInput().getKind(), StreamKind::STDIN);
  h.broker->output(id, StreamKind::STDOUT, "bin\r\n");
  h.broker->respond(id, [](auto result) { result.setStreamEnded(); });
  EXPECT_EQ(h.client->readToEof(), "bin\r\n");
}

TEST(Streams, AHijackedClientThatHangsUpIsCancelled) {
  StreamHarness h;
  h.client->send(kAttach);
  answerInspect(*h.broker, false);
  auto id = h.broker->expectRequest(Request::Op::ATTACH_CONTAINER);
  h.broker->accepted(id);
  h.client->readThrough("\r\n\r\n");
  h.client->shutdownWrite();
  auto end = h.broker->next();
  ASSERT_NE(end, nullptr);
  EXPECT_TRUE(end->root().getStreamInput().getEnd());
  h.client->close();  // a full hang-up (EPOLLHUP), not a half-close
  auto cancel = h.broker->next();
  ASSERT_NE(cancel, nullptr);
  ASSERT_EQ(cancel->root().which(), WorkerMessage::CANCEL);
  EXPECT_EQ(cancel->root().getCancel(), id);
  // No final answer: after a cancel the worker may already have closed its channel, and a
  // write to it would fail (EPIPE) through no fault of the worker.
}

TEST(Streams, AttachRefusedBeforeTheStreamGetsTheErrorStatus) {
  StreamHarness h;
  h.client->send(kAttach);
  auto id = h.broker->expectRequest(Request::Op::INSPECT_CONTAINER);
  h.broker->respondError(id, ipc::wire::ErrorKind::NOT_FOUND, "No such container: web");
  std::string head = h.client->readThrough("\r\n\r\n");
  EXPECT_TRUE(head.starts_with("HTTP/1.1 404 ")) << head;
}

TEST(Streams, LogsAreChunkedMultiplexedFramesWithTimestamps) {
  StreamHarness h;
  h.client->send("GET /v1.50/containers/web/logs?stdout=1&stderr=1&timestamps=1&tail=all&since=1700000000.5 "
                 "HTTP/1.1\r\nHost: x\r\n\r\n");
  answerInspect(*h.broker, false);
  auto id = h.broker->expectRequest(Request::Op::CONTAINER_LOGS);
  auto op = h.broker->lastRequest().getOp().getContainerLogs();
  EXPECT_EQ(op.getTail(), -1);
  EXPECT_EQ(op.getSinceNanos(), 1'700'000'000'500'000'000);
  EXPECT_TRUE(op.getTimestamps());
  h.broker->accepted(id);
  std::string head = h.client->readThrough("\r\n\r\n");
  EXPECT_NE(head.find("Content-Type: application/vnd.docker.multiplexed-stream\r\n"), std::string::npos);
  EXPECT_NE(head.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  h.broker->output(id, StreamKind::STDOUT, "a\nb", 1'700'000'001'000'000'007);
  h.broker->output(id, StreamKind::STDOUT, "c\n", 1'700'000'002'000'000'000);
  h.broker->respond(id, [](auto result) { result.setStreamEnded(); });
  std::string first = "2023-11-14T22:13:21.000000007Z a\n2023-11-14T22:13:21.000000007Z b";
  std::string second = "c\n";  // continues the line: no new timestamp
  std::string expected = std::string("\x01\0\0\0\0\0\0", 7) + static_cast<char>(first.size()) + first +
                         std::string("\x01\0\0\0\0\0\0", 7) + static_cast<char>(second.size()) + second;
  EXPECT_EQ(readChunkedBody(*h.client), expected);
}

TEST(Streams, LogsOfATtyContainerAreRawAndAClientThatLeavesIsCancelled) {
  StreamHarness h;
  h.client->send("GET /containers/web/logs?stdout=1&follow=1 HTTP/1.1\r\nHost: x\r\n\r\n");
  answerInspect(*h.broker, true);
  auto id = h.broker->expectRequest(Request::Op::CONTAINER_LOGS);
  h.broker->accepted(id);
  EXPECT_NE(h.client->readThrough("\r\n\r\n").find("application/vnd.docker.raw-stream"), std::string::npos);
  h.broker->output(id, StreamKind::STDOUT, "tty bytes");
  EXPECT_EQ(h.client->readThrough("tty bytes"), "9\r\ntty bytes");
  h.client->close();  // `docker logs -f` ends with Ctrl-C
  auto cancel = h.broker->next();
  ASSERT_NE(cancel, nullptr);
  ASSERT_EQ(cancel->root().which(), WorkerMessage::CANCEL);
  EXPECT_EQ(cancel->root().getCancel(), id);
}

TEST(Streams, EventsAreOneFlushedJsonLineEach) {
  StreamHarness h;
  h.client->send("GET /events?since=1700000000&filters=%7B%22type%22%3A%5B%22container%22%5D%7D HTTP/1.1\r\nHost: x\r\n\r\n");
  auto id = h.broker->expectRequest(Request::Op::EVENTS);
  auto op = h.broker->lastRequest().getOp().getEvents();
  EXPECT_EQ(op.getSinceNanos(), 1'700'000'000'000'000'000);
  ASSERT_EQ(op.getFilters().size(), 1u);
  EXPECT_EQ(std::string(op.getFilters()[0].getKey().cStr()), "type");
  h.broker->accepted(id);
  h.client->readThrough("\r\n\r\n");
  h.broker->event(id, [](ipc::wire::Event::Builder event) {
    event.setType("container");
    event.setAction("start");
    event.setActorId(kId);
    event.setTimeNanos(1'700'000'000'123'456'789);
    auto attributes = event.initAttributes(1);
    attributes[0].setKey("image");
    attributes[0].setValue("alpine");
  });
  // Flushed at once, before anything else happens.
  std::string line = h.client->readThrough("}\n\r\n");
  EXPECT_NE(line.find("{\"status\":\"start\",\"id\":\"" + kId + "\",\"from\":\"alpine\",\"Type\":\"container\""),
            std::string::npos) << line;
  EXPECT_NE(line.find("\"time\":1700000000,\"timeNano\":1700000000123456789}"), std::string::npos) << line;
  h.broker->respond(id, [](auto result) { result.setStreamEnded(); });
  EXPECT_EQ(h.client->readThrough("\r\n\r\n"), "0\r\n\r\n");
}

TEST(Streams, PullAnswersAChunkedStatusStreamOrADockerError) {
  StreamHarness h;
  h.client->send("POST /v1.50/images/create?fromImage=docker.io%2Flibrary%2Falpine&tag=latest HTTP/1.1\r\n"
                 "Host: x\r\nX-Registry-Auth: e30=\r\nContent-Length: 0\r\n\r\n");
  auto id = h.broker->expectRequest(Request::Op::PULL_IMAGE);
  EXPECT_EQ(std::string(h.broker->lastRequest().getOp().getPullImage().getTag().cStr()), "latest");
  h.broker->respond(id, [](auto result) {
    result.initImagePulled().setReference("docker.io/library/alpine:latest");
  });
  std::string head = h.client->readThrough("\r\n\r\n");
  EXPECT_NE(head.find("Transfer-Encoding: chunked"), std::string::npos) << head;
  EXPECT_EQ(readChunkedBody(*h.client),
            "{\"status\":\"Pulling from library/alpine\",\"id\":\"latest\"}\n"
            "{\"status\":\"Status: Downloaded newer image for alpine:latest\"}\n");

  h.client->send("POST /images/create?fromImage=nonexistent-image&tag=latest HTTP/1.1\r\nHost: x\r\n\r\n");
  auto refused = h.broker->expectRequest(Request::Op::PULL_IMAGE);
  h.broker->respondError(refused, ipc::wire::ErrorKind::NOT_FOUND, "pull access denied for nonexistent-image");
  EXPECT_TRUE(h.client->readThrough("\r\n\r\n").starts_with("HTTP/1.1 404 "));
}

TEST(Streams, PullErrorsAfterTheHeadAreErrorDetailLines) {
  StreamHarness h;
  h.client->send("POST /images/create?fromImage=alpine HTTP/1.1\r\nHost: x\r\n\r\n");
  auto id = h.broker->expectRequest(Request::Op::PULL_IMAGE);
  h.broker->accepted(id);
  h.client->readThrough("\r\n\r\n");
  h.broker->respondError(id, ipc::wire::ErrorKind::UNAVAILABLE, "miniboxd went away");
  EXPECT_EQ(readChunkedBody(*h.client),
            "{\"errorDetail\":{\"message\":\"miniboxd went away\"},\"error\":\"miniboxd went away\"}\n");
}

TEST(Streams, ExecStartWithoutUpgradeIsA200RawStreamEndedByClosing) {
  StreamHarness h;
  std::string body = R"({"stdin":true,"Detach":false,"Tty":false})";
  h.client->send("POST /exec/" + kId + "/start HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  auto inspect = h.broker->expectRequest(Request::Op::INSPECT_EXEC);
  h.broker->respond(inspect, [](auto result) { result.initExecInspect().initConfig().setTty(false); });
  auto id = h.broker->expectRequest(Request::Op::START_EXEC);
  EXPECT_FALSE(h.broker->lastRequest().getOp().getStartExec().getDetach());
  h.broker->accepted(id);
  EXPECT_EQ(h.client->readThrough("\r\n\r\n"), "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n");
  h.broker->output(id, StreamKind::STDOUT, "hi\n");
  h.broker->respond(id, [](auto result) { result.setStreamEnded(); });
  EXPECT_EQ(h.client->readToEof(), std::string("\x01\0\0\0\0\0\0\x03hi\n", 11));
}

TEST(Streams, DetachedExecStartIsAPlainCall) {
  StreamHarness h;
  std::string body = R"({"Detach":true,"Tty":false})";
  h.client->send("POST /v1.50/exec/" + kId + "/start HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                 std::to_string(body.size()) + "\r\n\r\n" + body);
  auto id = h.broker->expectRequest(Request::Op::START_EXEC);
  EXPECT_TRUE(h.broker->lastRequest().getOp().getStartExec().getDetach());
  h.broker->respond(id, [](auto result) { result.setOk(); });
  std::string head = h.client->readThrough("\r\n\r\n");
  EXPECT_TRUE(head.starts_with("HTTP/1.1 200 OK\r\n")) << head;
  EXPECT_NE(head.find("Content-Length: 0\r\n"), std::string::npos);
}

TEST(Streams, OldApiAttachSaysRawStreamButStillMultiplexes) {
  StreamHarness h;
  std::string request(kAttach);
  request.replace(request.find("v1.50"), 5, "v1.41");
  h.client->send(request);
  answerInspect(*h.broker, false);
  auto id = h.broker->expectRequest(Request::Op::ATTACH_CONTAINER);
  h.broker->accepted(id);
  EXPECT_NE(h.client->readThrough("\r\n\r\n").find("Content-Type: application/vnd.docker.raw-stream"),
            std::string::npos);
  h.broker->output(id, StreamKind::STDOUT, "x");
  h.broker->respond(id, [](auto result) { result.setStreamEnded(); });
  EXPECT_EQ(h.client->readToEof(), std::string("\x01\0\0\0\0\0\0\x01x", 9));
}

}  // namespace
}  // namespace dockerbox::frontend
