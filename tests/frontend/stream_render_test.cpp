// Stream framing, time formats, the inspect / exec / event / pull renderers and the route
// table's 501 and 404 answers, without sockets.
#include "frontend/stream_framing.hpp"

#include "frontend/handlers.hpp"
#include "frontend/time_format.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

namespace dockerbox::frontend {
namespace {

using namespace testing;
namespace json = boost::json;
namespace wire = ipc::wire;

TEST(StreamFraming, MultiplexedFramesHaveDockersEightByteHeader) {
  EXPECT_EQ(multiplexFrame(FrameStream::Stdout, "hi\n"), std::string("\x01\0\0\0\0\0\0\x03hi\n", 11));
  EXPECT_EQ(multiplexFrame(FrameStream::Stderr, ""), std::string("\x02\0\0\0\0\0\0\0", 8));
  std::string big(70000, 'x');
  std::string frame = multiplexFrame(FrameStream::Stdout, big);
  EXPECT_EQ(frame.substr(0, 8), std::string("\x01\0\0\0\0\x01\x11\x70", 8));  // 70000 big-endian
  EXPECT_EQ(frame.size(), 70008u);
}

TEST(StreamFraming, HeadsAreByteExact) {
  EXPECT_EQ(hijackHead(true, kMultiplexedStream),
            "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\n"
            "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n");
  EXPECT_EQ(hijackHead(false, kMultiplexedStream),
            "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n");
  std::string chunked = chunkedHead("application/json");
  EXPECT_TRUE(chunked.starts_with("HTTP/1.1 200 OK\r\n"));
  EXPECT_TRUE(chunked.ends_with("Transfer-Encoding: chunked\r\n\r\n"));
  EXPECT_NE(chunked.find("Api-Version: 1.50\r\n"), std::string::npos);
  EXPECT_EQ(httpChunk("hello"), "5\r\nhello\r\n");
  EXPECT_EQ(httpChunk(std::string(300, 'a')).substr(0, 5), "12c\r\n");
  EXPECT_EQ(streamContentType(false, {1, 42}), kMultiplexedStream);
  EXPECT_EQ(streamContentType(false, {1, 41}), kRawStream);
  EXPECT_EQ(streamContentType(true, {1, 50}), kRawStream);
}

TEST(StreamFraming, TimestampsPrefixEveryLineOnce) {
  LogTimestamper stamper;
  const std::int64_t t = 1'700'000'000'055'536'000;
  EXPECT_EQ(stamper.apply(FrameStream::Stdout, "a\nb", t),
            "2023-11-14T22:13:20.055536000Z a\n2023-11-14T22:13:20.055536000Z b");
  EXPECT_EQ(stamper.apply(FrameStream::Stderr, "e\n", t), "2023-11-14T22:13:20.055536000Z e\n");
  EXPECT_EQ(stamper.apply(FrameStream::Stdout, "c\nd\n", t), "c\n2023-11-14T22:13:20.055536000Z d\n");
}

TEST(TimeFormat, MatchesGo) {
  EXPECT_EQ(rfc3339Nano(1'700'000'000'000'000'000), "2023-11-14T22:13:20Z");
  EXPECT_EQ(rfc3339Nano(1'700'000'000'500'000'000), "2023-11-14T22:13:20.5Z");
  EXPECT_EQ(rfc3339NanoFixed(1'700'000'000'000'000'001), "2023-11-14T22:13:20.000000001Z");
  EXPECT_EQ(parseUnixTimestamp("1700000000"), 1'700'000'000'000'000'000);
  EXPECT_EQ(parseUnixTimestamp("1700000000.25"), 1'700'000'000'250'000'000);
  EXPECT_EQ(parseUnixTimestamp("0"), 0);
  for (std::string_view bad : {"", "-1", "1.", "abc", "1.2.3", "2024-01-01T00:00:00Z", "1.1234567890",
                                 "999999999999", "9223372036.9"}) {
    EXPECT_FALSE(parseUnixTimestamp(bad)) << bad;
  }
}

TEST(Routes, UnimplementedDockerdRoutesAre501WithAReason) {
  for (auto request : {get("/v1.50/containers/web/top"), get("/containers/web/stats?stream=0"),
                       get("/volumes/data", Method::Put), get("/networks/create", Method::Post),
                       get("/build", Method::Post),
                       get("/v1.41/containers/web/archive?path=%2F", Method::Head),
                       get("/images/library/alpine:3/tag", Method::Post), get("/swarm/init", Method::Post),
                       get("/system/df"), get("/containers/web/update", Method::Post)}) {
    HttpResponse response = localResponse(request);
    EXPECT_EQ(response.status, 501u) << request.target;
    EXPECT_NE(jsonBody(response).at("message").as_string().find(" is not supported by dockerbox: "),
              json::string::npos)
        << request.target;
  }
  EXPECT_EQ(localResponse(get("/containers/web/nonsense")).status, 404u);
}

TEST(Routes, DockerInspectFallbacksAre404) {
  EXPECT_EQ(jsonBody(localResponse(get("/v1.50/networks/nosuch"))).at("message"), "No such network: nosuch");
  // Volumes are the broker's: any name is asked for (the engine answers 404 for unknown ones).
  auto volume = brokerCall(get("/v1.50/volumes/no:such"));
  EXPECT_EQ(std::string(requestOf(volume).getOp().getInspectVolume().getName().cStr()), "no:such");
  EXPECT_EQ(localResponse(get("/v1.50/plugins/nosuch/json")).status, 404u);
  EXPECT_EQ(localResponse(get("/plugins/vendor/plug:1/json")).status, 404u);
  // Image names carry slashes: the whole name reaches the broker.
  auto call = brokerCall(get("/v1.50/images/docker.io/library/alpine:latest/json"));
  EXPECT_EQ(std::string(requestOf(call).getOp().getInspectImage().getRef().cStr()), "docker.io/library/alpine:latest");
  // An image inspect that miniboxd cannot do at all still lets `docker inspect` move on.
  ReplyBuilder reply;
  auto error = reply.response().getResult().initError();
  error.setKind(wire::ErrorKind::NOT_IMPLEMENTED);
  error.setMessage("miniboxd v0.19 cannot list images");
  EXPECT_EQ(finishCall(call, reply.reader(), RenderContext{}).status, 404u);
}

TEST(Routes, BuiltinNetworksAreListed) {
  HttpResponse list = localResponse(get("/networks"));
  json::array items = jsonBody(list).as_array();
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[2].at("Driver"), "null");
  EXPECT_EQ(jsonBody(localResponse(get("/networks/bridge"))).at("Name"), "bridge");
  auto filtered = jsonBody(localResponse(get("/networks?filters=%7B%22name%22%3A%5B%22host%22%5D%7D"))).as_array();
  ASSERT_EQ(filtered.size(), 1u);
  EXPECT_EQ(filtered[0].at("Name"), "host");
}

TEST(Routes, LifecycleBuildersCarryTheirParameters) {
  auto stopCall = brokerCall(get("/containers/web/stop?t=5&signal=SIGINT", Method::Post));
  auto stop = requestOf(stopCall).getOp();
  EXPECT_EQ(stop.getStopContainer().getTimeoutSeconds(), 5);
  EXPECT_EQ(std::string(stop.getStopContainer().getSignal().cStr()), "SIGINT");
  EXPECT_EQ(requestOf(brokerCall(get("/containers/web/stop", Method::Post))).getOp().getStopContainer().getTimeoutSeconds(), -1);
  EXPECT_EQ(localResponse(get("/containers/web/stop?t=x", Method::Post)).status, 400u);
  auto killCall = brokerCall(get("/containers/web/kill?signal=TERM", Method::Post));
  auto kill = requestOf(killCall).getOp();
  EXPECT_EQ(std::string(kill.getKillContainer().getSignal().cStr()), "TERM");
  auto removeCall = brokerCall(get("/containers/web?force=1&v=True&link=False", Method::Delete));
  auto remove = requestOf(removeCall).getOp();
  EXPECT_TRUE(remove.getRemoveContainer().getForce());
  EXPECT_TRUE(remove.getRemoveContainer().getVolumes());
  auto renameCall = brokerCall(get("/containers/web/rename?name=web2", Method::Post));
  auto rename = requestOf(renameCall).getOp();
  EXPECT_EQ(std::string(rename.getRenameContainer().getNewName().cStr()), "web2");
  auto resizeCall = brokerCall(get("/containers/web/resize?h=30&w=100", Method::Post));
  auto resize = requestOf(resizeCall).getOp();
  EXPECT_EQ(resize.getResizeContainer().getHeight(), 30);
  EXPECT_EQ(localResponse(get("/containers/web/resize?h=70000&w=1", Method::Post)).status, 400u);
  EXPECT_EQ(localResponse(get("/containers/web/wait?condition=bogus", Method::Post)).status, 400u);
  EXPECT_EQ(localResponse(get("/containers/web/logs")).status, 400u);  // no stream chosen
  // start/stop answer 204 on ok and 304 without a body when already there.
  auto start = brokerCall(get("/containers/web/start", Method::Post));
  ReplyBuilder ok;
  ok.response().getResult().setOk();
  EXPECT_EQ(finishCall(start, ok.reader(), RenderContext{}).status, 204u);
  ReplyBuilder notModified;
  notModified.response().getResult().initError().setKind(wire::ErrorKind::NOT_MODIFIED);
  HttpResponse unchanged = finishCall(start, notModified.reader(), RenderContext{});
  EXPECT_EQ(unchanged.status, 304u);
  EXPECT_TRUE(unchanged.body.empty());
}

TEST(Render, ContainerInspectHasTheV150Shape) {
  ReplyBuilder reply;
  auto inspect = reply.response().getResult().initContainerInspect();
  auto summary = inspect.initSummary();
  summary.setId(std::string(64, 'a'));
  summary.initNames(1).set(0, "/web");
  summary.setImageId("sha256:" + std::string(64, 'b'));
  summary.setCreated(1'700'000'000);
  summary.setState(wire::ContainerState::EXITED);
  summary.setStartedAt(1'700'000'001);
  summary.setFinishedAt(1'700'000'002);
  summary.setHasExitCode(true);
  summary.setExitCode(3);
  inspect.setPath("sh");
  inspect.initArgs(2).set(0, "-c");
  auto config = inspect.initConfig();
  config.setImage("alpine");
  config.setHasCmd(true);
  config.initCmd(1).set(0, "true");
  config.setStopTimeout(-1);
  config.initExposedPorts(1).set(0, "80/tcp");
  auto mounts = config.initHost().initMounts(2);
  mounts[0].setType(wire::MountType::BIND);
  mounts[0].setSource("/tmp");
  mounts[0].setTarget("/hosttmp");
  mounts[0].setReadOnly(true);
  mounts[0].setFromBinds(true);
  mounts[1].setType(wire::MountType::VOLUME);
  mounts[1].setSource("mv");
  mounts[1].setTarget("/mv");
  auto call = brokerCall(get("/containers/web/json"));
  json::value body = jsonBody(finishCall(call, reply.reader(), RenderContext{}));
  for (const char* key : {"Id", "Created", "Path", "Args", "State", "Image", "ResolvConfPath", "HostnamePath",
                          "HostsPath", "LogPath", "Name", "RestartCount", "Driver", "Platform", "MountLabel",
                          "ProcessLabel", "AppArmorProfile", "ExecIDs", "HostConfig", "GraphDriver", "Mounts",
                          "Config", "NetworkSettings"}) {
    EXPECT_TRUE(body.as_object().contains(key)) << key;
  }
  EXPECT_EQ(body.at("Created"), "2023-11-14T22:13:20Z");
  EXPECT_EQ(body.at("Name"), "/web");
  const json::value& state = body.at("State");
  EXPECT_EQ(state.at("Status"), "exited");
  EXPECT_EQ(state.at("Running"), false);
  EXPECT_EQ(state.at("ExitCode"), 3);
  EXPECT_EQ(state.at("FinishedAt"), "2023-11-14T22:13:22Z");
  EXPECT_EQ(body.at("Config").at("Cmd"), json::array{"true"});
  EXPECT_TRUE(body.at("Config").at("Entrypoint").is_null());
  EXPECT_TRUE(body.at("Config").at("Env").is_null());
  EXPECT_FALSE(body.at("Config").as_object().contains("StopTimeout"));
  EXPECT_EQ(body.at("HostConfig").at("Binds"), json::array{"/tmp:/hosttmp:ro"});
  EXPECT_EQ(body.at("HostConfig").at("Mounts").at(0).at("Source"), "mv");
  EXPECT_EQ(body.at("HostConfig").at("NetworkMode"), "default");
  EXPECT_EQ(body.at("HostConfig").at("ConsoleSize"), (json::array{0, 0}));
  EXPECT_EQ(body.at("Mounts").as_array().size(), 2u);
  EXPECT_EQ(body.at("Mounts").at(0).at("RW"), false);
  EXPECT_EQ(body.at("Mounts").at(1).at("Name"), "mv");
  EXPECT_TRUE(body.at("NetworkSettings").at("Networks").as_object().contains("bridge"));
  EXPECT_TRUE(body.at("NetworkSettings").at("Ports").as_object().empty());  // not running
}

TEST(Routes, StreamBuildersCarryTheirParameters) {
  // since=0 from a client means "from the epoch"; 0 on the wire would mean "only new".
  EXPECT_EQ(requestOf(brokerStream(get("/events?since=0"))).getOp().getEvents().getSinceNanos(), 1);
  EXPECT_EQ(requestOf(brokerStream(get("/events"))).getOp().getEvents().getSinceNanos(), 0);
  EXPECT_EQ(localResponse(get("/events?filters=%7B%22color%22%3A%5B%22red%22%5D%7D")).status, 400u);
  EXPECT_EQ(localResponse(get("/events?until=soon")).status, 400u);
  auto logs = brokerStream(get("/v1.50/containers/web/logs?stdout=1&tail=5&until=1700000001"));
  EXPECT_NE(logs.prelude, nullptr);  // an inspect first: the TTY flag decides the framing
  EXPECT_EQ(requestOf(logs).getOp().getContainerLogs().getTail(), 5);
  EXPECT_EQ(requestOf(logs).getOp().getContainerLogs().getUntilNanos(), 1'700'000'001'000'000'000);
  EXPECT_FALSE(requestOf(logs).getOp().getContainerLogs().getStderr());
  auto attach = brokerStream(get("/containers/web/attach?stdin=1&stdout=1&stream=1&logs=1", Method::Post));
  EXPECT_EQ(attach.framing, StreamFraming::Hijacked);
  EXPECT_TRUE(requestOf(attach).getOp().getAttachContainer().getLogs());
  auto wait = brokerStream(get("/containers/web/wait?condition=removed", Method::Post));
  EXPECT_EQ(requestOf(wait).getOp().getWaitContainer().getCondition(), wire::WaitCondition::REMOVED);
  EXPECT_EQ(wait.prelude, nullptr);
  auto pull = brokerStream(get("/images/create?fromImage=alpine&tag=3.19", Method::Post));
  EXPECT_EQ(std::string(requestOf(pull).getOp().getPullImage().getRef().cStr()), "alpine");
  EXPECT_EQ(localResponse(get("/images/create?fromSrc=-", Method::Post)).status, 501u);
  EXPECT_EQ(localResponse(get("/images/create", Method::Post)).status, 400u);
}

TEST(Render, ExecInspectAndCreate) {
  ReplyBuilder reply;
  auto exec = reply.response().getResult().initExecInspect();
  exec.setId(std::string(64, 'e'));
  exec.setContainerId(std::string(64, 'c'));
  exec.setHasExitCode(true);
  exec.setExitCode(5);
  auto cmd = exec.initConfig().initCmd(3);
  cmd.set(0, "sh");
  cmd.set(1, "-c");
  cmd.set(2, "exit 5");
  json::value body = jsonBody(renderInspectExec(reply.reader().getResult().getExecInspect()));
  EXPECT_EQ(body.at("ExitCode"), 5);
  EXPECT_EQ(body.at("Running"), false);
  EXPECT_EQ(body.at("ProcessConfig").at("entrypoint"), "sh");
  EXPECT_EQ(body.at("ProcessConfig").at("arguments"), (json::array{"-c", "exit 5"}));

  HttpRequest create = get("/containers/web/exec", Method::Post);
  create.body = R"({"User":"","Privileged":false,"Tty":false,"AttachStdin":false,"AttachStderr":true,
                    "AttachStdout":true,"Detach":false,"DetachKeys":"","Env":null,"WorkingDir":"","Cmd":["echo","hi"]})";
  auto createCall = brokerCall(create);
  auto op = requestOf(createCall).getOp().getCreateExec();
  EXPECT_EQ(std::string(op.getContainer().cStr()), "web");
  EXPECT_EQ(op.getCmd().size(), 2u);
  EXPECT_TRUE(op.getAttachStdout());
  create.body = R"({"Cmd":[]})";
  EXPECT_EQ(jsonBody(localResponse(create)).at("message"), "No exec command specified");
}

TEST(Render, EventsPullAndWaitLines) {
  capnp::MallocMessageBuilder message;
  auto event = message.initRoot<wire::Event>();
  event.setType("image");
  event.setAction("pull");
  event.setActorId("alpine:latest");
  event.setTimeNanos(1'700'000'000'000'000'001);
  EXPECT_EQ(renderEvent(event.asReader()),
            "{\"status\":\"pull\",\"id\":\"alpine:latest\",\"Type\":\"image\",\"Action\":\"pull\","
            "\"Actor\":{\"ID\":\"alpine:latest\",\"Attributes\":{}},\"scope\":\"local\",\"time\":1700000000,"
            "\"timeNano\":1700000000000000001}\n");
  event.setType("network");
  EXPECT_EQ(renderEvent(event.asReader()).find("\"status\""), std::string::npos);

  capnp::MallocMessageBuilder pulled;
  auto image = pulled.initRoot<wire::ImagePulledReply>();
  image.setReference("ghcr.io/org/tool:1.2");
  image.setAlreadyPresent(true);
  EXPECT_EQ(renderPullImage(image.asReader()),
            "{\"status\":\"Pulling from org/tool\",\"id\":\"1.2\"}\n"
            "{\"status\":\"Status: Image is up to date for ghcr.io/org/tool:1.2\"}\n");
  EXPECT_EQ(renderWaitContainer(137, ""), "{\"StatusCode\":137,\"Error\":null}\n");
  EXPECT_EQ(renderWaitContainer(-1, "boom"), "{\"StatusCode\":-1,\"Error\":{\"Message\":\"boom\"}}\n");
}

}  // namespace
}  // namespace dockerbox::frontend

namespace dockerbox::frontend {
namespace {

TEST(Routes, VolumeRequests) {
  auto create = get("/v1.50/volumes/create", Method::Post);
  create.body = R"({"Name":"data","Driver":"local","Labels":{"team":"blue"},"DriverOpts":{}})";
  auto call = brokerCall(create);
  auto op = requestOf(call).getOp().getCreateVolume();
  EXPECT_EQ(std::string(op.getName().cStr()), "data");
  EXPECT_EQ(std::string(op.getDriver().cStr()), "local");
  ASSERT_EQ(op.getLabels().size(), 1U);
  EXPECT_EQ(std::string(op.getLabels()[0].getValue().cStr()), "blue");
  // `docker volume create` with no name sends no body at all on some clients.
  auto bare = brokerCall(get("/volumes/create", Method::Post));
  EXPECT_EQ(requestOf(bare).getOp().getCreateVolume().getName().size(), 0U);
  create.body = R"({"Name":"data","name":"other"})";
  EXPECT_EQ(localResponse(create).status, 400U);
  // Before API 1.42 a prune took every unused volume; since, only anonymous ones.
  auto old = brokerCall(get("/v1.41/volumes/prune", Method::Post));
  auto oldFilters = requestOf(old).getOp().getPruneVolumes().getFilters();
  ASSERT_EQ(oldFilters.size(), 1U);
  EXPECT_EQ(std::string(oldFilters[0].getKey().cStr()), "all");
  auto now = brokerCall(get("/v1.50/volumes/prune?filters=%7B%22label%22%3A%5B%22a%3Db%22%5D%7D", Method::Post));
  auto nowFilters = requestOf(now).getOp().getPruneVolumes().getFilters();
  ASSERT_EQ(nowFilters.size(), 1U);
  EXPECT_EQ(std::string(nowFilters[0].getValue().cStr()), "a=b");
  auto removal = brokerCall(get("/v1.50/volumes/data?force=1", Method::Delete));
  EXPECT_TRUE(requestOf(removal).getOp().getRemoveVolume().getForce());
}

}  // namespace
}  // namespace dockerbox::frontend
