// Event replies and the mapping of miniboxd's Error texts to error kinds.
#include "broker/minibox/codec.hpp"

#include <gtest/gtest.h>

namespace dockerbox::broker::minibox {
namespace {

const std::string kTime =
    R"("timestamp":{"secs_since_epoch":1714000000,"nanos_since_epoch":123456789})";

ContainerEvent decodeEvent(const std::string& body) {
  const std::string line = R"({"type":"Event","event":{)" + body + "," + kTime + "}}";
  auto reply = decodeReply(line);
  EXPECT_TRUE(reply) << line << ": " << (reply ? "" : reply.error().context);
  if (!reply || !std::holds_alternative<EventReply>(*reply)) return {};
  return std::get<EventReply>(*reply).event;
}

TEST(CodecEvents, EveryEventKind) {
  auto created = decodeEvent(R"("type":"created","id":"a","image":"alpine:latest")");
  EXPECT_EQ(created.kind, EventKind::Created);
  EXPECT_EQ(created.image, "alpine:latest");
  EXPECT_EQ(created.timestampSecs, 1714000000U);
  EXPECT_EQ(created.timestampNanos, 123456789U);
  auto started = decodeEvent(R"("type":"started","id":"a","pid":4242)");
  EXPECT_EQ(started.kind, EventKind::Started);
  EXPECT_EQ(started.pid, 4242U);
  auto stopped = decodeEvent(R"("type":"stopped","id":"a","exit_code":-9)");
  EXPECT_EQ(stopped.kind, EventKind::Stopped);
  EXPECT_EQ(stopped.exitCode, -9);
  EXPECT_EQ(decodeEvent(R"("type":"paused","id":"a")").kind, EventKind::Paused);
  EXPECT_EQ(decodeEvent(R"("type":"resumed","id":"a")").kind, EventKind::Resumed);
  auto oom = decodeEvent(R"("type":"oom_killed","id":"a")");
  EXPECT_EQ(oom.kind, EventKind::OomKilled);
  EXPECT_EQ(oom.id, "a");
  auto pulled = decodeEvent(R"("type":"image_pulled","image":"x","size_bytes":7)");
  EXPECT_EQ(pulled.kind, EventKind::ImagePulled);
  EXPECT_EQ(pulled.sizeBytes, 7U);
  auto removed = decodeEvent(R"("type":"image_removed","image":"library/alpine:latest")");
  EXPECT_EQ(removed.kind, EventKind::ImageRemoved);
  EXPECT_EQ(removed.image, "library/alpine:latest");
  auto pruned = decodeEvent(R"("type":"image_pruned","count":2,"freed_bytes":123456)");
  EXPECT_EQ(pruned.kind, EventKind::ImagePruned);
  EXPECT_EQ(pruned.count, 2U);
  EXPECT_EQ(pruned.freedBytes, 123456U);
}

TEST(CodecEvents, MalformedEventsAreErrors) {
  const char* lines[] = {
      R"({"type":"Event","event":{"type":"Started","id":"a","pid":1,"timestamp":{"secs_since_epoch":1,"nanos_since_epoch":0}}})",
      R"({"type":"Event","event":{"type":"started","id":"a","pid":1}})",
      R"({"type":"Event","event":{"type":"started","id":"a","pid":1,"timestamp":"2026-01-01T00:00:00Z"}})",
      R"({"type":"Event","event":{"type":"started","id":"a","pid":1,"timestamp":{"secs_since_epoch":1,"nanos_since_epoch":1000000000}}})",
      R"({"type":"Event","event":{"type":"started","id":"a","timestamp":{"secs_since_epoch":1,"nanos_since_epoch":0}}})",
      R"({"type":"Event","event":{"type":"stopped","id":"a","exit_code":null,"timestamp":{"secs_since_epoch":1,"nanos_since_epoch":0}}})",
      R"({"type":"Event","event":"started"})",
      R"({"type":"Event"})",
  };
  for (const char* line : lines) {
    auto reply = decodeReply(line);
    EXPECT_FALSE(reply) << "accepted: " << line;
  }
}

Error mapped(const std::string& message) {
  return errorFromReply(ErrorReply{.message = message}, RequestType::Stop);
}

TEST(CodecErrors, KindsFollowTheDocumentedPrefixes) {
  const std::pair<std::string, ErrorKind> cases[] = {
      {"container not found: web", ErrorKind::NotFound},
      {"container 3f9c1a7be2d04c61 not found", ErrorKind::NotFound},
      {"exec failed: container a not found or not running: container a not found",
       ErrorKind::NotFound},
      {"container name \"web\" is already in use", ErrorKind::Conflict},
      {"container 3f9c1a7be2d04c61 has no PID (not running?)", ErrorKind::Conflict},
      {"exec failed: container a not found or not running: container a has no pid (not running)",
       ErrorKind::Conflict},
      {"container a is not running (state: Stopped)", ErrorKind::Conflict},
      {"container a is not paused (state: Running)", ErrorKind::Conflict},
      {"container 'a' is already running", ErrorKind::Conflict},
      {"policy violation: bind mount requested but bind mounts are not allowed",
       ErrorKind::Forbidden},
      {"exec not supported on this platform", ErrorKind::NotImplemented},
      {"invalid request: unknown variant `ListImages`, expected one of `Run`",
       ErrorKind::NotImplemented},
      {"invalid image reference \"A\": bad", ErrorKind::BadRequest},
      {"invalid container id: container ID must be alphanumeric", ErrorKind::BadRequest},
      {"invalid request: missing field `command`", ErrorKind::Internal},
      {"pause failed: Permission denied", ErrorKind::Internal},
      {"", ErrorKind::Internal},
  };
  for (const auto& [message, kind] : cases) {
    const Error error = mapped(message);
    EXPECT_EQ(error.kind, kind) << message;
    EXPECT_EQ(error.message, message) << "miniboxd's text is kept";
    EXPECT_NE(error.context.find("Stop"), std::string::npos);
  }
}

}  // namespace
}  // namespace dockerbox::broker::minibox
