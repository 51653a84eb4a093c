#include "frontend/create_body.hpp"

#include "frontend/handlers.hpp"
#include "frontend/strict_json.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

namespace dockerbox::frontend {
namespace {

using namespace testing;
namespace wire = ipc::wire;

/// Parses `body` into a fresh ContainerConfig; the message outlives the reader.
struct Parsed {
  capnp::MallocMessageBuilder message;
  Result<void> result = fail(ErrorKind::Internal, "not run");
  explicit Parsed(std::string_view body) {
    result = parseCreateBody(body, message.initRoot<wire::ContainerConfig>());
  }
  wire::ContainerConfig::Reader config() { return message.getRoot<wire::ContainerConfig>().asReader(); }
  std::string error() const { return result ? std::string() : result.error().message; }
  ErrorKind kind() const { return result ? ErrorKind::Internal : result.error().kind; }
};

std::vector<std::string> texts(capnp::List<capnp::Text>::Reader list) {
  std::vector<std::string> out;
  for (auto item : list) out.emplace_back(item.cStr());
  return out;
}

// The body `docker run --rm -v /tmp:/hosttmp:ro -e FOO=bar -l app=x alpine echo hi` sends
// (client-flows.md 7.3), trimmed of zero-valued keys.
constexpr std::string_view kCliBody = R"({"Hostname":"","Domainname":"","User":"","AttachStdin":false,
 "AttachStdout":true,"AttachStderr":true,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":["FOO=bar"],
 "Cmd":["echo","hi"],"Image":"alpine","Volumes":{},"WorkingDir":"","Entrypoint":null,"OnBuild":null,
 "Labels":{"app":"x"},"HostConfig":{"Binds":["/tmp:/hosttmp:ro"],"ContainerIDFile":"","LogConfig":{"Type":"",
 "Config":{}},"NetworkMode":"default","PortBindings":{},"RestartPolicy":{"Name":"no","MaximumRetryCount":0},
 "AutoRemove":true,"VolumeDriver":"","VolumesFrom":null,"ConsoleSize":[30,100],"CapAdd":null,"CapDrop":null,
 "CgroupnsMode":"","Dns":[],"DnsOptions":[],"DnsSearch":[],"ExtraHosts":null,"GroupAdd":null,"IpcMode":"",
 "Cgroup":"","Links":null,"OomScoreAdj":0,"PidMode":"","Privileged":false,"PublishAllPorts":false,
 "ReadonlyRootfs":false,"SecurityOpt":null,"UTSMode":"","UsernsMode":"","ShmSize":0,"Isolation":"",
 "CpuShares":0,"Memory":0,"NanoCpus":0,"CgroupParent":"","BlkioWeight":0,"BlkioWeightDevice":[],
 "CpuPeriod":0,"CpuQuota":0,"CpusetCpus":"","Devices":[],"DeviceCgroupRules":null,"DeviceRequests":null,
 "MemoryReservation":0,"MemorySwap":0,"MemorySwappiness":-1,"OomKillDisable":false,"PidsLimit":0,
 "Ulimits":[],"MaskedPaths":null,"ReadonlyPaths":null},
 "NetworkingConfig":{"EndpointsConfig":{"default":{"IPAMConfig":null}}}})";

TEST(CreateBody, DecodesTheCliBody) {
  Parsed p(kCliBody);
  ASSERT_TRUE(p.result) << p.error();
  auto config = p.config();
  EXPECT_EQ(std::string(config.getImage().cStr()), "alpine");
  EXPECT_TRUE(config.getHasCmd());
  EXPECT_EQ(texts(config.getCmd()), (std::vector<std::string>{"echo", "hi"}));
  EXPECT_FALSE(config.getHasEntrypoint());
  EXPECT_EQ(texts(config.getEnv()), std::vector<std::string>{"FOO=bar"});
  ASSERT_EQ(config.getLabels().size(), 1u);
  EXPECT_EQ(std::string(config.getLabels()[0].getKey().cStr()), "app");
  EXPECT_TRUE(config.getAttachStdout());
  EXPECT_EQ(config.getStopTimeout(), -1);
  auto host = config.getHost();
  EXPECT_TRUE(host.getAutoRemove());
  EXPECT_EQ(std::string(host.getNetworkMode().cStr()), "default");
  EXPECT_EQ(std::string(host.getRestartPolicy().cStr()), "no");
  EXPECT_EQ(host.getConsoleHeight(), 30);
  EXPECT_EQ(host.getConsoleWidth(), 100);
  ASSERT_EQ(host.getMounts().size(), 1u);
  auto bind = host.getMounts()[0];
  EXPECT_EQ(bind.getType(), wire::MountType::BIND);
  EXPECT_EQ(std::string(bind.getSource().cStr()), "/tmp");
  EXPECT_EQ(std::string(bind.getTarget().cStr()), "/hosttmp");
  EXPECT_TRUE(bind.getReadOnly());
  EXPECT_TRUE(bind.getFromBinds());
}

TEST(CreateBody, MatchesFieldsCaseInsensitivelyLikeGo) {
  Parsed p(R"({"image":"alpine","CMD":["true"],"hostconfig":{"privileged":true,"BINDS":["/srv:/srv"]}})");
  ASSERT_TRUE(p.result) << p.error();
  EXPECT_EQ(std::string(p.config().getImage().cStr()), "alpine");
  EXPECT_EQ(texts(p.config().getCmd()), std::vector<std::string>{"true"});
  EXPECT_TRUE(p.config().getHost().getPrivileged());
  EXPECT_EQ(p.config().getHost().getMounts().size(), 1u);
  // Go folds the Kelvin sign onto 'k' too: a field spelled with it is still that field.
  Parsed kelvin("{\"Image\":\"alpine\",\"HostConfig\":{\"Lin\xE2\x84\xAAs\":[\"db:db\"]}}");
  EXPECT_EQ(kelvin.kind(), ErrorKind::NotImplemented) << kelvin.error();  // it is Links
  Parsed unknown(R"({"Image":"alpine","NoSuchField":{"x":1}})");
  EXPECT_TRUE(unknown.result);  // unknown keys are ignored, as Go does
}

TEST(CreateBody, RefusesDuplicateKeysIncludingOnesDifferingOnlyInCase) {
  for (std::string_view body : {
           R"({"Image":"alpine","Image":"busybox"})",
           R"({"Image":"alpine","image":"busybox"})",
           R"({"Image":"alpine","HostConfig":{"Privileged":false,"privileged":true}})",
           R"({"Image":"alpine","HostConfig":{},"HOSTCONFIG":{"Privileged":true}})",
           R"({"Image":"alpine","Labels":{"a":"1","a":"2"}})",
           R"({"Image":"alpine","HostConfig":{"Mounts":[{"Type":"bind","type":"volume","Target":"/x"}]}})",
       }) {
    Parsed p(body);
    EXPECT_FALSE(p.result) << body;
    EXPECT_EQ(p.kind(), ErrorKind::BadRequest) << body;
    EXPECT_NE(p.error().find("duplicate key"), std::string::npos) << p.error();
  }
  // Label keys are data, not fields: "a" and "A" are two labels.
  Parsed labels(R"({"Image":"alpine","Labels":{"a":"1","A":"2"}})");
  ASSERT_TRUE(labels.result) << labels.error();
  EXPECT_EQ(labels.config().getLabels().size(), 2u);
}

TEST(CreateBody, CmdAndEntrypointNullEmptyOrString) {
  Parsed absent(R"({"Image":"alpine"})");
  EXPECT_FALSE(absent.config().getHasCmd());
  EXPECT_FALSE(absent.config().getHasEntrypoint());
  Parsed null(R"({"Image":"alpine","Cmd":null,"Entrypoint":null})");
  EXPECT_FALSE(null.config().getHasCmd());
  EXPECT_FALSE(null.config().getHasEntrypoint());
  Parsed empty(R"({"Image":"alpine","Cmd":[],"Entrypoint":[""]})");
  EXPECT_TRUE(empty.config().getHasCmd());
  EXPECT_EQ(empty.config().getCmd().size(), 0u);
  EXPECT_TRUE(empty.config().getHasEntrypoint());
  EXPECT_EQ(texts(empty.config().getEntrypoint()), std::vector<std::string>{""});
  Parsed string(R"({"Image":"alpine","Cmd":"echo hi","Entrypoint":"/bin/sh"})");
  EXPECT_EQ(texts(string.config().getCmd()), std::vector<std::string>{"echo hi"});
  EXPECT_EQ(texts(string.config().getEntrypoint()), std::vector<std::string>{"/bin/sh"});
  Parsed number(R"({"Image":"alpine","Cmd":5})");
  EXPECT_FALSE(number.result);
}

TEST(CreateBody, RefusesBadEmptyAndTrailingBodies) {
  EXPECT_EQ(Parsed("").error(), "invalid JSON: got EOF while reading request body");
  EXPECT_EQ(Parsed(" \r\n").error(), "invalid JSON: got EOF while reading request body");
  EXPECT_EQ(Parsed("null").error(), "config cannot be empty in order to create a container");
  EXPECT_EQ(Parsed(R"({"Image":"alpine"} {"Image":"evil"})").error(), "unexpected content after JSON");
  EXPECT_EQ(Parsed(R"({"Image":"alpine"}x)").error(), "unexpected content after JSON");
  EXPECT_TRUE(Parsed("{\"Image\":\"alpine\"}\n").result);
  for (std::string_view bad : {"{", "{\"Image\":}", "[1,2]", "\"x\"", "{\"Image\":\"a\",}", "{'Image':'a'}"}) {
    Parsed p(bad);
    EXPECT_FALSE(p.result) << bad;
    EXPECT_EQ(p.kind(), ErrorKind::BadRequest) << bad;
  }
  EXPECT_FALSE(Parsed(R"({"Image":"alpine","Tty":"yes"})").result);
  EXPECT_FALSE(Parsed(R"({"Image":"alpine","HostConfig":{"Memory":1.5}})").result);
  EXPECT_FALSE(Parsed(R"({"Image":"alpine","Env":"A=1"})").result);
  std::string deep = std::string(40, '[') + std::string(40, ']');
  EXPECT_FALSE(Parsed(R"({"Image":"alpine","X":)" + deep + "}").result);
}

TEST(CreateBody, BindsAndMountsBothBecomeTypedMounts) {
  Parsed p(R"({"Image":"alpine","Volumes":{"/data":{},"/anon":{}},"HostConfig":{
      "Binds":["proj_data:/data:rw","/host:/h:ro,rslave"],"VolumeDriver":"local",
      "Mounts":[{"Type":"volume","Source":"mv","Target":"/mv","ReadOnly":true,
                 "VolumeOptions":{"DriverConfig":{"Name":"local","Options":{"type":"none","o":"bind","device":"/etc"}}}},
                {"Type":"tmpfs","Target":"/scratch"},
                {"Type":"bind","Source":"/var/run","Target":"/run2","BindOptions":{"Propagation":"rshared"}}]}})");
  ASSERT_TRUE(p.result) << p.error();
  auto mounts = p.config().getHost().getMounts();
  ASSERT_EQ(mounts.size(), 6u);
  EXPECT_EQ(mounts[0].getType(), wire::MountType::VOLUME);
  EXPECT_EQ(std::string(mounts[0].getSource().cStr()), "proj_data");
  EXPECT_EQ(std::string(mounts[0].getVolumeDriver().cStr()), "local");
  EXPECT_TRUE(mounts[0].getFromBinds());
  EXPECT_FALSE(mounts[0].getReadOnly());
  EXPECT_EQ(mounts[1].getType(), wire::MountType::BIND);
  EXPECT_TRUE(mounts[1].getReadOnly());
  EXPECT_EQ(std::string(mounts[1].getPropagation().cStr()), "rslave");
  EXPECT_FALSE(mounts[2].getFromBinds());
  EXPECT_TRUE(mounts[2].getReadOnly());
  ASSERT_EQ(mounts[2].getVolumeOptions().size(), 3u);  // policy sees the bind hidden in a volume
  EXPECT_EQ(std::string(mounts[2].getVolumeOptions()[2].getValue().cStr()), "/etc");
  EXPECT_EQ(mounts[3].getType(), wire::MountType::TMPFS);
  EXPECT_EQ(std::string(mounts[4].getPropagation().cStr()), "rshared");
  // Config.Volumes: /data is covered by a bind; /anon becomes an anonymous volume.
  EXPECT_EQ(std::string(mounts[5].getTarget().cStr()), "/anon");
  EXPECT_EQ(mounts[5].getSource().size(), 0u);
  EXPECT_FALSE(Parsed(R"({"Image":"a","HostConfig":{"Mounts":[{"Type":"weird","Target":"/x"}]}})").result);
}

TEST(ParseBind, FollowsDockersLinuxParser) {
  auto bind = parseBind("/src:/dst");
  ASSERT_TRUE(bind);
  EXPECT_EQ(bind->type, wire::MountType::BIND);
  EXPECT_FALSE(bind->readOnly);
  auto volume = parseBind("name:/dst:ro,nocopy");
  ASSERT_TRUE(volume);
  EXPECT_EQ(volume->type, wire::MountType::VOLUME);
  EXPECT_TRUE(volume->readOnly);
  auto anonymous = parseBind("/only-target");
  ASSERT_TRUE(anonymous);
  EXPECT_TRUE(anonymous->source.empty());
  EXPECT_EQ(anonymous->target, "/only-target");
  EXPECT_TRUE(parseBind("/a:/b:z,rw,shared"));
  for (std::string_view bad : {"", ":/dst", "/a:/b:c:d", "/a:/b:rw,ro", "/a:/b:bogus", "/foo:rw", "/a:"}) {
    EXPECT_FALSE(parseBind(bad)) << bad;
  }
}

TEST(CreateBody, HostConfigSettingsArriveTyped) {
  Parsed p(R"({"Image":"alpine","ExposedPorts":{"80/tcp":{},"53":{}},"StopTimeout":5,"StopSignal":"SIGINT",
    "HostConfig":{"Memory":104857600,"NanoCpus":500000000,"CpuShares":512,"CapAdd":"NET_ADMIN",
    "CapDrop":["ALL"],"Devices":[{"PathOnHost":"/dev/fuse","PathInContainer":"/dev/fuse"}],
    "PortBindings":{"80/tcp":[{"HostIp":"","HostPort":"8080"}],"53":null},"Tmpfs":{"/run":"size=1m"},
    "Sysctls":{"net.core.somaxconn":"1024"},"PidMode":"host","DeviceRequests":[{"Count":-1}],
    "RestartPolicy":{"Name":"on-failure","MaximumRetryCount":3},"PidsLimit":100,"Dns":["1.1.1.1"]}})");
  ASSERT_TRUE(p.result) << p.error();
  auto config = p.config();
  EXPECT_EQ(texts(config.getExposedPorts()), (std::vector<std::string>{"80/tcp", "53/tcp"}));
  EXPECT_EQ(config.getStopTimeout(), 5);
  auto host = config.getHost();
  EXPECT_EQ(host.getMemory(), 104857600);
  EXPECT_EQ(host.getNanoCpus(), 500000000);
  EXPECT_EQ(host.getCpuShares(), 512);
  EXPECT_EQ(texts(host.getCapAdd()), std::vector<std::string>{"NET_ADMIN"});
  EXPECT_EQ(texts(host.getDevices()), std::vector<std::string>{"/dev/fuse"});
  ASSERT_EQ(host.getPortBindings().size(), 1u);
  EXPECT_EQ(std::string(host.getPortBindings()[0].getHostPort().cStr()), "8080");
  EXPECT_EQ(host.getTmpfs().size(), 1u);
  EXPECT_EQ(host.getSysctls().size(), 1u);
  EXPECT_EQ(std::string(host.getPidMode().cStr()), "host");
  EXPECT_TRUE(host.getHasDeviceRequests());
  EXPECT_FALSE(host.getHasDeviceCgroupRules());
  EXPECT_EQ(host.getRestartMaxRetries(), 3);
  EXPECT_EQ(host.getPidsLimit(), 100);
  Parsed none(R"({"Image":"alpine","NetworkDisabled":true})");
  EXPECT_EQ(std::string(none.config().getHost().getNetworkMode().cStr()), "none");
}

TEST(CreateBody, SettingsMiniboxdCannotHonourAreRefusedUnlessDefault) {
  for (std::string_view body : {
           R"({"Image":"a","HostConfig":{"CpuQuota":50000}})",
           R"({"Image":"a","HostConfig":{"OomScoreAdj":100}})",
           R"({"Image":"a","HostConfig":{"MaskedPaths":[]}})",
           R"({"Image":"a","HostConfig":{"MemorySwappiness":10}})",
           R"({"Image":"a","MacAddress":"02:42:ac:11:00:02"})",
       }) {
    Parsed p(body);
    EXPECT_EQ(p.kind(), ErrorKind::NotImplemented) << body;
    EXPECT_NE(p.error().find("is not supported by dockerbox"), std::string::npos) << p.error();
  }
  EXPECT_TRUE(Parsed(R"({"Image":"a","HostConfig":{"Init":false,"CpuQuota":0,"Ulimits":[],"MemorySwappiness":-1}})").result);
}

TEST(CreateBody, AHealthcheckArrivesTyped) {
  // What `docker run --health-cmd 'curl -f x' --health-interval 2s --health-retries 4` sends.
  Parsed p(R"({"Image":"a","Healthcheck":{"Test":["CMD-SHELL","curl -f x"],"Interval":2000000000,
    "Timeout":0,"StartPeriod":0,"Retries":4}})");
  ASSERT_TRUE(p.result) << p.error();
  ASSERT_TRUE(p.config().getHasHealthcheck());
  auto h = p.config().getHealthcheck();
  EXPECT_EQ(texts(h.getTest()), (std::vector<std::string>{"CMD-SHELL", "curl -f x"}));
  EXPECT_EQ(h.getInterval(), 2000000000);
  EXPECT_EQ(h.getRetries(), 4);
  EXPECT_FALSE(Parsed(R"({"Image":"a","Healthcheck":null})").config().getHasHealthcheck());
  EXPECT_FALSE(Parsed(R"({"Image":"a"})").config().getHasHealthcheck());
  EXPECT_EQ(Parsed(R"({"Image":"a","Healthcheck":{"Retries":4294967296}})").kind(), ErrorKind::BadRequest);
  EXPECT_EQ(Parsed(R"({"Image":"a","Healthcheck":{"Test":"CMD true"}})").kind(), ErrorKind::BadRequest);
}

TEST(CreateBody, SecuritySettingsArriveTyped) {
  Parsed p(R"({"Image":"a","User":"1000:1000","Hostname":"box","HostConfig":{"CapAdd":["NET_ADMIN"],
    "CapDrop":"ALL","SecurityOpt":["no-new-privileges"],"ReadonlyRootfs":true,"Init":true,
    "Ulimits":[{"Name":"nofile","Soft":1024,"Hard":2048},{"Name":"core","Soft":-1,"Hard":-1},
               {"Name":"nproc","Soft":10,"Hard":-1},{"Name":"stack"}]}})");
  ASSERT_TRUE(p.result) << p.error();
  auto config = p.config();
  EXPECT_EQ(std::string(config.getUser().cStr()), "1000:1000");
  EXPECT_EQ(std::string(config.getHostname().cStr()), "box");
  auto host = config.getHost();
  EXPECT_EQ(texts(host.getCapAdd()), std::vector<std::string>{"NET_ADMIN"});
  EXPECT_EQ(texts(host.getCapDrop()), std::vector<std::string>{"ALL"});
  EXPECT_EQ(texts(host.getSecurityOpt()), std::vector<std::string>{"no-new-privileges"});
  EXPECT_TRUE(host.getReadonlyRootfs());
  EXPECT_TRUE(host.getHasInit());
  EXPECT_TRUE(host.getInit());
  auto ulimits = host.getUlimits();
  ASSERT_EQ(ulimits.size(), 4u);
  EXPECT_EQ(std::string(ulimits[0].getName().cStr()), "nofile");
  EXPECT_EQ(ulimits[0].getSoft(), 1024);
  EXPECT_EQ(ulimits[0].getHard(), 2048);
  EXPECT_EQ(ulimits[1].getSoft(), -1);
  EXPECT_EQ(ulimits[1].getHard(), -1);
  EXPECT_EQ(ulimits[2].getSoft(), 10);  // any soft limit under an unlimited hard one
  EXPECT_EQ(ulimits[3].getSoft(), 0);   // absent limits are Go's zero
  EXPECT_EQ(ulimits[3].getHard(), 0);
}

TEST(CreateBody, InitKeepsNotGivenApartFromFalse) {
  for (std::string_view body : {R"({"Image":"a"})", R"({"Image":"a","HostConfig":{"Init":null}})"}) {
    Parsed p(body);
    ASSERT_TRUE(p.result) << p.error();
    EXPECT_FALSE(p.config().getHost().getHasInit()) << body;
    EXPECT_FALSE(p.config().getHost().getInit()) << body;
  }
  Parsed off(R"({"Image":"a","HostConfig":{"Init":false}})");
  ASSERT_TRUE(off.result) << off.error();
  EXPECT_TRUE(off.config().getHost().getHasInit());
  EXPECT_FALSE(off.config().getHost().getInit());
  Parsed wrong(R"({"Image":"a","HostConfig":{"Init":"yes"}})");
  EXPECT_EQ(wrong.kind(), ErrorKind::BadRequest) << wrong.error();
  EXPECT_NE(wrong.error().find("cannot unmarshal"), std::string::npos) << wrong.error();
}

TEST(CreateBody, UlimitsFollowDockersRules) {
  struct Case {
    std::string_view ulimits;
    std::string_view error;  // empty: accepted
  };
  std::string tooMany = "[";
  for (int i = 0; i < 33; ++i) tooMany += std::string(i ? "," : "") + R"({"Name":"nofile","Soft":1,"Hard":1})";
  tooMany += "]";
  const Case cases[] = {
      {R"([])", ""},
      {R"(null)", ""},
      {R"([{"Name":"nofile","Soft":1024,"Hard":1024}])", ""},
      {R"([{"Name":"rttime","Soft":0,"Hard":9223372036854775807}])", ""},
      {R"([{"Name":"as","Soft":1,"Hard":1}])", "invalid ulimit type: as"},
      {R"([{"Name":"NOFILE","Soft":1,"Hard":1}])", "invalid ulimit type: NOFILE"},
      {R"([{"Name":"","Soft":1,"Hard":1}])", "invalid ulimit type: "},
      {R"([{"Soft":1,"Hard":1}])", "invalid ulimit type: "},
      {R"([null])", "invalid ulimit type: "},
      {R"([{"Name":"nofile","Soft":2048,"Hard":1024}])",
       "ulimit soft limit must be less than or equal to hard limit: 2048 > 1024"},
      {R"([{"Name":"nofile","Soft":-1,"Hard":1024}])",
       "ulimit soft limit must be less than or equal to hard limit: unlimited > 1024"},
      {R"([{"Name":"nofile","Soft":-2,"Hard":1}])", "invalid ulimit nofile: a limit must be -1"},
      {R"([{"Name":"nofile","Soft":1,"Hard":-5}])", "invalid ulimit nofile: a limit must be -1"},
      {R"([{"Name":"nofile","Soft":1,"Hard":1},{"Name":"nofile","Soft":2,"Hard":2}])",
       "ulimit nofile is given more than once"},
      {R"([{"Name":"nofile","Soft":1.5,"Hard":2}])", "cannot unmarshal"},
      {R"([{"Name":"nofile","Soft":"1","Hard":2}])", "cannot unmarshal"},
      {R"([{"Name":"nofile","Soft":18446744073709551615,"Hard":2}])", "cannot unmarshal"},
      {R"({"Name":"nofile"})", "cannot unmarshal"},
      {R"("nofile=1:2")", "cannot unmarshal"},
      {tooMany, "too many ulimits: at most 32"},
  };
  for (const auto& c : cases) {
    std::string body = R"({"Image":"a","HostConfig":{"Ulimits":)" + std::string(c.ulimits) + "}}";
    Parsed p(body);
    if (c.error.empty()) {
      EXPECT_TRUE(p.result) << c.ulimits << ": " << p.error();
      continue;
    }
    EXPECT_EQ(p.kind(), ErrorKind::BadRequest) << c.ulimits << ": " << p.error();
    EXPECT_NE(p.error().find(c.error), std::string::npos) << c.ulimits << ": " << p.error();
  }
  // Every name Docker knows, once each.
  std::string all = "[";
  for (std::string_view name : {"core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile",
                                "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"}) {
    all += std::string(all.size() > 1 ? "," : "") + R"({"Name":")" + std::string(name) + R"(","Soft":1,"Hard":2})";
  }
  Parsed every(R"({"Image":"a","HostConfig":{"Ulimits":)" + all + "]}}");
  ASSERT_TRUE(every.result) << every.error();
  EXPECT_EQ(every.config().getHost().getUlimits().size(), 15u);
}

/// The inspect document of a created container whose create body was `body`.
boost::json::value inspectAfterCreate(std::string_view body, std::string_view id) {
  Parsed p(body);
  EXPECT_TRUE(p.result) << p.error();
  capnp::MallocMessageBuilder message;
  auto reply = message.initRoot<wire::ContainerInspectReply>();
  reply.setConfig(p.config());
  reply.initSummary().setId(std::string(id));
  return jsonBody(renderInspectContainer(reply.asReader(), RenderContext{}));
}

TEST(CreateBody, InspectShowsTheSecuritySettingsAsGiven) {
  constexpr std::string_view kId = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  auto given = inspectAfterCreate(R"({"Image":"a","User":"nobody","Hostname":"box","HostConfig":{
    "CapAdd":["NET_ADMIN"],"CapDrop":["ALL"],"SecurityOpt":["no-new-privileges"],"ReadonlyRootfs":true,
    "Init":false,"Ulimits":[{"Name":"nofile","Soft":1024,"Hard":2048},{"Name":"core","Soft":-1,"Hard":-1}]}})",
                                  kId);
  const auto& host = given.at("HostConfig").as_object();
  EXPECT_EQ(host.at("CapAdd"), boost::json::parse(R"(["NET_ADMIN"])"));
  EXPECT_EQ(host.at("CapDrop"), boost::json::parse(R"(["ALL"])"));
  EXPECT_EQ(host.at("SecurityOpt"), boost::json::parse(R"(["no-new-privileges"])"));
  EXPECT_EQ(host.at("ReadonlyRootfs"), true);
  EXPECT_EQ(host.at("Init"), false);
  EXPECT_EQ(host.at("Ulimits"), boost::json::parse(R"([{"Name":"nofile","Soft":1024,"Hard":2048},
                                                        {"Name":"core","Soft":-1,"Hard":-1}])"));
  EXPECT_EQ(given.at("Config").at("User"), "nobody");
  EXPECT_EQ(given.at("Config").at("Hostname"), "box");

  // Nothing given: Init left out (*bool, omitempty), Ulimits as the CLI sent them ([]),
  // and the hostname dockerd makes up, the short id.
  auto plain = inspectAfterCreate(R"({"Image":"a"})", kId);
  EXPECT_FALSE(plain.at("HostConfig").as_object().contains("Init"));
  EXPECT_EQ(plain.at("HostConfig").at("Ulimits"), boost::json::array{});
  EXPECT_EQ(plain.at("HostConfig").at("CapAdd"), nullptr);
  EXPECT_EQ(plain.at("Config").at("Hostname"), "0123456789ab");
  auto init = inspectAfterCreate(R"({"Image":"a","HostConfig":{"Init":true}})", kId);
  EXPECT_EQ(init.at("HostConfig").at("Init"), true);
  // dockerd takes the host's name for host networking, which a worker cannot know.
  auto hostNet = inspectAfterCreate(R"({"Image":"a","HostConfig":{"NetworkMode":"host"}})", kId);
  EXPECT_EQ(hostNet.at("Config").at("Hostname"), "");
}

TEST(CreateRoute, TakesNameFromTheQueryAndIgnoresTheRestOfIt) {
  HttpRequest request = get("/v1.50/containers/create?name=web&Image=busybox&HostConfig=%7B%7D", Method::Post);
  request.body = R"({"Image":"alpine"})";
  auto call = brokerCall(request);
  auto op = requestOf(call).getOp();
  ASSERT_EQ(op.which(), ipc::wire::Request::Op::CREATE_CONTAINER);
  EXPECT_EQ(std::string(op.getCreateContainer().getName().cStr()), "web");
  EXPECT_EQ(std::string(op.getCreateContainer().getImage().cStr()), "alpine");
  HttpRequest empty = get("/containers/create", Method::Post);
  HttpResponse refused = localResponse(empty);
  EXPECT_EQ(refused.status, 400u);
  EXPECT_EQ(jsonBody(refused).at("message"), "invalid JSON: got EOF while reading request body");
}

TEST(StrictJson, FoldsLikeGo) {
  EXPECT_EQ(foldFieldName("HostConfig"), "hostconfig");
  EXPECT_EQ(foldFieldName("\xE2\x84\xAA"), "k");
  EXPECT_EQ(foldFieldName("Bind\xC5\xBF"), "binds");
  EXPECT_FALSE(parseStrictJson(R"({"a":1,"a":1})"));
  EXPECT_TRUE(parseStrictJson(R"({"a":{"b":1},"c":{"b":1}})"));  // same key, different objects
}

}  // namespace
}  // namespace dockerbox::frontend
