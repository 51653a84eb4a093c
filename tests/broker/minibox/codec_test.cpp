#include "broker/minibox/codec.hpp"

#include <gtest/gtest.h>

namespace dockerbox::broker::minibox {
namespace {

template <class T>
T decodeAs(std::string_view line) {
  auto reply = decodeReply(line);
  EXPECT_TRUE(reply) << line << ": " << (reply ? "" : reply.error().context);
  if (!reply) return T{};
  EXPECT_TRUE(std::holds_alternative<T>(*reply)) << line;
  return std::holds_alternative<T>(*reply) ? std::get<T>(*reply) : T{};
}

void expectMalformed(std::string_view line) {
  auto reply = decodeReply(line);
  ASSERT_FALSE(reply) << "accepted: " << line;
  EXPECT_EQ(reply.error().kind, ErrorKind::Internal);
  EXPECT_EQ(reply.error().message, "malformed reply from miniboxd");
}

TEST(CodecEncode, FullRunSendsTheV019FieldSetInOrder) {
  RunSpec spec{.image = "alpine",
               .tag = "3.19",
               .command = {"/bin/sh", "-c", "echo hi"},
               .network = NetworkMode::Bridge,
               .env = {"FOO=1"},
               .name = "web"};
  EXPECT_EQ(encodeRun(spec, RunMode::Ephemeral).line,
            R"({"type":"Run","image":"alpine","tag":"3.19","command":["/bin/sh","-c","echo hi"],)"
            R"("memory_limit_bytes":null,"cpu_weight":null,"ephemeral":true,"network":"Bridge",)"
            R"("env":["FOO=1"],"mounts":[],"privileged":false,"name":"web","tty":false})"
            "\n");
}

TEST(CodecEncode, RunWithMountsLimitsAndPrivilege) {
  RunSpec spec{.image = "ghcr.io/org/x",
               .command = {"/x"},
               .memoryLimitBytes = 1024,
               .cpuWeight = 100,
               .network = NetworkMode::Tailnet,
               .mounts = {{"/srv/data", "/data", MountAccess::ReadOnly}},
               .privilege = Privilege::Privileged,
               .tty = true};
  const auto request = encodeRun(spec, RunMode::Detached);
  EXPECT_EQ(request.type, RequestType::Run);
  EXPECT_EQ(request.line,
            R"({"type":"Run","image":"ghcr.io/org/x","tag":null,"command":["/x"],)"
            R"("memory_limit_bytes":1024,"cpu_weight":100,"ephemeral":false,"network":"Tailnet",)"
            R"("env":[],"mounts":[{"host_path":"/srv/data","container_path":"/data",)"
            R"("read_only":true}],"privileged":true,"name":null,"tty":true})"
            "\n");
}

TEST(CodecEncode, ValuesCannotInjectASecondLine) {
  const auto line = encodeStop("a\n{\"type\":\"Remove\"}").line;
  EXPECT_EQ(line.find('\n'), line.size() - 1);
}

TEST(CodecEncode, EveryOtherRequest) {
  auto ref = ImageRef::parse("nginx:stable").value();
  EXPECT_EQ(encodeStop("web").line, "{\"type\":\"Stop\",\"id\":\"web\"}\n");
  EXPECT_EQ(encodePauseContainer("ab").line, "{\"type\":\"PauseContainer\",\"id\":\"ab\"}\n");
  EXPECT_EQ(encodeResumeContainer("ab").line, "{\"type\":\"ResumeContainer\",\"id\":\"ab\"}\n");
  EXPECT_EQ(encodeRemove("ab").line, "{\"type\":\"Remove\",\"id\":\"ab\"}\n");
  EXPECT_EQ(encodeList().line, "{\"type\":\"List\"}\n");
  EXPECT_EQ(encodePull(ref).line, "{\"type\":\"Pull\",\"image\":\"nginx\",\"tag\":\"stable\"}\n");
  EXPECT_EQ(encodeContainerLogs("web").line,
            "{\"type\":\"ContainerLogs\",\"container_id\":\"web\",\"follow\":false}\n");
  EXPECT_EQ(encodeSubscribeEvents().line, "{\"type\":\"SubscribeEvents\"}\n");
  EXPECT_EQ(encodeListImages().line, "{\"type\":\"ListImages\"}\n");
  EXPECT_EQ(encodeRemoveImage(ref).line,
            "{\"type\":\"RemoveImage\",\"image_ref\":\"library/nginx:stable\"}\n");
  const std::vector<std::uint8_t> ls = {'l', 's', '\n'};
  EXPECT_EQ(encodeSendInput("3f9c1a7be2d04c61", ls).line,
            R"({"type":"SendInput","session_id":"3f9c1a7be2d04c61","data":"bHMK"})"
            "\n");
  ExecSpec exec{
      .containerId = "3f9c1a7be2d04c61", .cmd = {"/bin/ls", "/"}, .env = {"PATH=/usr/bin:/bin"}};
  EXPECT_EQ(encodeExec(exec).line,
            R"({"type":"Exec","container_id":"3f9c1a7be2d04c61","cmd":["/bin/ls","/"],)"
            R"("env":["PATH=/usr/bin:/bin"],"working_dir":null,"tty":false})"
            "\n");
}

TEST(CodecDecode, ContainerListWithQuirks) {
  auto list = decodeAs<ContainerList>(
      R"({"type":"ContainerList","containers":[)"
      R"({"id":"3f9c1a7be2d04c61","name":null,"image":"alpine:latest","command":"/bin/sh",)"
      R"("state":"Running","created_at":"2026-04-22T10:11:12.123456789+00:00","pid":4242},)"
      R"({"id":"0000000000000001","name":"web","image":"a:b","command":"",)"
      R"("state":"Orphaned","created_at":"1970-01-01T00:00:01Z","pid":null,"new_field":1}]})"
      "\r");
  ASSERT_EQ(list.containers.size(), 2U);
  const auto& running = list.containers[0];
  EXPECT_EQ(running.state, ContainerState::Running);
  EXPECT_FALSE(running.name);
  EXPECT_EQ(running.pid, 4242U);
  EXPECT_EQ(running.createdAtUnixNanos, 1776852672123456789LL);
  const auto& orphan = list.containers[1];
  EXPECT_EQ(orphan.state, ContainerState::Orphaned);
  EXPECT_EQ(orphan.name, "web");
  EXPECT_FALSE(orphan.pid);
  EXPECT_EQ(orphan.createdAtUnixNanos, 1'000'000'000);
}

TEST(CodecDecode, EveryContainerState) {
  const std::pair<const char*, ContainerState> states[] = {
      {"Created", ContainerState::Created}, {"Running", ContainerState::Running},
      {"Paused", ContainerState::Paused},   {"Stopped", ContainerState::Stopped},
      {"Failed", ContainerState::Failed},   {"Orphaned", ContainerState::Orphaned}};
  for (const auto& [name, state] : states) {
    const std::string line =
        std::string(R"({"type":"ContainerList","containers":[{"id":"a","name":null,"image":"i",)") +
        R"("command":"c","state":")" + name + R"(","created_at":"2026-01-01T00:00:00+00:00",)" +
        R"("pid":null}]})";
    EXPECT_EQ(decodeAs<ContainerList>(line).containers.at(0).state, state) << name;
  }
}

TEST(CodecDecode, LowercaseStateFromUpstreamDocsIsRejected) {
  expectMalformed(R"({"type":"ContainerList","containers":[{"id":"a","name":null,"image":"i",)"
                  R"("command":"c","state":"running","created_at":"2026-01-01T00:00:00+00:00",)"
                  R"("pid":null}]})");
}

TEST(CodecDecode, SimpleReplies) {
  EXPECT_EQ(decodeAs<ContainerCreated>(R"({"type":"ContainerCreated","id":"3f9c1a7be2d04c61"})").id,
            "3f9c1a7be2d04c61");
  EXPECT_EQ(decodeAs<Success>(R"({"type":"Success","message":"end of log"})").message,
            "end of log");
  EXPECT_EQ(
      decodeAs<ErrorReply>(R"({"type":"Error","message":"container not found: web"})").message,
      "container not found: web");
  EXPECT_EQ(decodeAs<ContainerPaused>(R"({"type":"ContainerPaused","id":"a"})").id, "a");
  EXPECT_EQ(decodeAs<ContainerResumed>(R"({"type":"ContainerResumed","id":"a"})").id, "a");
  EXPECT_EQ(decodeAs<ImageLoaded>(R"({"type":"ImageLoaded","image":"x:1"})").image, "x:1");
  EXPECT_EQ(decodeAs<ContainerStopped>(R"({"type":"ContainerStopped","exit_code":-9})").exitCode,
            -9);
  EXPECT_EQ(decodeAs<ExecStarted>(R"({"type":"ExecStarted","exec_id":"ab"})").execId, "ab");
  auto log = decodeAs<LogLine>(R"({"type":"LogLine","stream":"stderr","line":"hello"})");
  EXPECT_EQ(log.stream, OutputStream::Stderr);
  EXPECT_EQ(log.line, "hello");
  EXPECT_EQ(
      decodeAs<ImageList>(R"({"type":"ImageList","images":["library/alpine:latest"]})").images,
      std::vector<std::string>{"library/alpine:latest"});
}

TEST(CodecDecode, ContainerOutputIsBase64Decoded) {
  auto output = decodeAs<ContainerOutput>(
      R"({"type":"ContainerOutput","stream":"stdout","data":"aGVsbG8K"})");
  EXPECT_EQ(std::string(output.data.begin(), output.data.end()), "hello\n");
  EXPECT_EQ(
      decodeAs<ContainerOutput>(R"({"type":"ContainerOutput","stream":"stdout","data":"YQ=="})")
          .data.size(),
      1U);
  EXPECT_EQ(
      decodeAs<ContainerOutput>(R"({"type":"ContainerOutput","stream":"stdout","data":"YWI="})")
          .data.size(),
      2U);
  EXPECT_TRUE(decodeAs<ContainerOutput>(R"({"type":"ContainerOutput","stream":"stdout","data":""})")
                  .data.empty());
  expectMalformed(R"({"type":"ContainerOutput","stream":"stdout","data":"YQ"})");
  expectMalformed(R"({"type":"ContainerOutput","stream":"stdout","data":"Y==="})");
  expectMalformed(R"({"type":"ContainerOutput","stream":"stdout","data":"a GVs"})");
  expectMalformed(R"({"type":"ContainerOutput","stream":"tty","data":""})");
}

TEST(CodecDecode, HeadOnlyAndRareReplies) {
  auto push = decodeAs<PushProgress>(
      R"({"type":"PushProgress","layer_digest":"sha256:a","bytes_uploaded":1,"total_bytes":2})");
  EXPECT_EQ(push.totalBytes, 2U);
  auto build =
      decodeAs<BuildOutput>(R"({"type":"BuildOutput","step":1,"total_steps":3,"message":"RUN x"})");
  EXPECT_EQ(build.totalSteps, 3U);
  EXPECT_EQ(
      decodeAs<BuildComplete>(R"({"type":"BuildComplete","image_id":"built:x","tag":"x"})").imageId,
      "built:x");
  auto pruned =
      decodeAs<Pruned>(R"({"type":"Pruned","removed":["a"],"freed_bytes":10,"dry_run":true})");
  EXPECT_TRUE(pruned.dryRun);
  auto pipeline = decodeAs<PipelineComplete>(
      R"({"type":"PipelineComplete","trace":{"a":[1]},"container_id":"c","exit_code":0})");
  EXPECT_EQ(pipeline.trace, R"({"a":[1]})");
  auto saved = decodeAs<SnapshotSaved>(
      R"({"type":"SnapshotSaved","info":{"container_id":"c","name":"n","created_at":"t","adapter":"native","image":"i","size_bytes":5}})");
  EXPECT_EQ(saved.info.sizeBytes, 5U);
  EXPECT_EQ(decodeAs<SnapshotRestored>(R"({"type":"SnapshotRestored","id":"c","name":"n"})").name,
            "n");
  EXPECT_TRUE(decodeAs<SnapshotList>(R"({"type":"SnapshotList","id":"c","snapshots":[]})")
                  .snapshots.empty());
  EXPECT_EQ(decodeAs<UpdateProgress>(R"({"type":"UpdateProgress","image":"i","status":"updated"})")
                .status,
            "updated");
  EXPECT_EQ(decodeAs<Manifest>(R"({"type":"Manifest","manifest":null})").manifest, "null");
  EXPECT_TRUE(
      decodeAs<VerifyResult>(R"({"type":"VerifyResult","allowed":true,"reason":"ok"})").allowed);
  decodeAs<WorkflowStepComplete>(R"({"type":"WorkflowStepComplete","step":"x"})");
  decodeAs<WorkflowComplete>(R"({"type":"WorkflowComplete"})");
}

TEST(CodecDecode, MalformedLinesAreErrors) {
  expectMalformed("");
  expectMalformed("\r");
  expectMalformed("not json");
  expectMalformed("[1,2]");
  expectMalformed(R"({"message":"no type"})");
  expectMalformed(R"({"type":7})");
  expectMalformed(R"({"type":"Nope"})");
  expectMalformed(R"({"type":"running"})");
  expectMalformed(R"({"type":"ContainerCreated"})");
  expectMalformed(R"({"type":"ContainerCreated","id":null})");
  expectMalformed(R"({"type":"ContainerStopped","exit_code":"0"})");
  expectMalformed(R"({"type":"ContainerStopped","exit_code":2147483648})");
  expectMalformed(R"({"type":"ContainerStopped","exit_code":1.5})");
  expectMalformed(R"({"type":"Pruned","removed":[1],"freed_bytes":0,"dry_run":false})");
  expectMalformed(R"({"type":"Pruned","removed":[],"freed_bytes":-1,"dry_run":false})");
  expectMalformed(R"({"type":"ContainerList","containers":[{"id":"a"}]})");
  expectMalformed(R"({"type":"ContainerList","containers":[1]})");
  expectMalformed(R"({"type":"Success","message":"a"} trailing)");
  expectMalformed(std::string(100, '[') + std::string(100, ']'));
}

TEST(CodecDecode, WhitespaceAroundTheLineIsTrimmed) {
  EXPECT_EQ(decodeAs<Success>(" {\"type\":\"Success\",\"message\":\"x\"}\r").message, "x");
}

TEST(CodecTerminal, FollowsProtocolSection21) {
  EXPECT_TRUE(isTerminal(Success{}));
  EXPECT_TRUE(isTerminal(ErrorReply{}));
  EXPECT_TRUE(isTerminal(ContainerStopped{}));
  EXPECT_TRUE(isTerminal(ContainerList{}));
  EXPECT_TRUE(isTerminal(ImageLoaded{}));
  EXPECT_TRUE(isTerminal(BuildComplete{}));
  EXPECT_TRUE(isTerminal(ContainerPaused{}));
  EXPECT_TRUE(isTerminal(ContainerResumed{}));
  EXPECT_TRUE(isTerminal(Pruned{}));
  EXPECT_TRUE(isTerminal(PipelineComplete{}));
  EXPECT_TRUE(isTerminal(ImageList{}));
  EXPECT_TRUE(isTerminal(SnapshotSaved{}));
  EXPECT_TRUE(isTerminal(SnapshotRestored{}));
  EXPECT_TRUE(isTerminal(SnapshotList{}));
  EXPECT_TRUE(isTerminal(Manifest{}));
  EXPECT_TRUE(isTerminal(VerifyResult{}));
  EXPECT_TRUE(isTerminal(WorkflowComplete{}));
  EXPECT_TRUE(isTerminal(WorkflowStepComplete{}));
  EXPECT_FALSE(isTerminal(ContainerCreated{}));
  EXPECT_FALSE(isTerminal(ContainerOutput{}));
  EXPECT_FALSE(isTerminal(ExecStarted{}));
  EXPECT_FALSE(isTerminal(PushProgress{}));
  EXPECT_FALSE(isTerminal(BuildOutput{}));
  EXPECT_FALSE(isTerminal(EventReply{}));
  EXPECT_FALSE(isTerminal(LogLine{}));
  EXPECT_FALSE(isTerminal(UpdateProgress{}));
}

}  // namespace
}  // namespace dockerbox::broker::minibox
