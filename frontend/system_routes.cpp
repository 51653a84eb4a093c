// /_ping, /version and /info. Runs in: a frontend worker.
#include "frontend/handlers.hpp"

#include "frontend/engine_identity.hpp"
#include "frontend/registry_auth.hpp"
#include "frontend/response.hpp"
#include "frontend/time_format.hpp"

#include <boost/json/object.hpp>


namespace dockerbox::frontend {
namespace {

namespace json = boost::json;
using ipc::wire::Response;

}  // namespace

Result<Action> toAuthRequest(const RouteRequest& request) {
  auto login = parseLoginBody(request.http.body);
  if (!login) return login.error();
  BrokerCall call = newCall("auth");
  auto op = requestOp(*call.message).initAuth();
  op.setServer(login->server);
  op.setUsername(login->auth.username);
  op.setPassword(login->auth.password);
  call.timeout = kPullReplyTimeout;  // the registry client's round trips
  call.render = [](Response::Reader reply, const RenderContext&) {
    if (reply.getResult().which() != Response::Result::OK) return unexpectedReply("auth");
    // dockerd's answer for a registry without identity tokens.
    return jsonResponse(200, json::object{{"Status", "Login Succeeded"}, {"IdentityToken", ""}});
  };
  return Action{std::move(call)};
}

std::string unameArchitecture(std::string_view goArch) {
  if (goArch == "amd64") return "x86_64";
  if (goArch == "arm64") return "aarch64";
  if (goArch == "386") return "i686";
  return std::string(goArch);
}

Result<Action> handlePing(const RouteRequest& request) {
  // dockerd's ping handler (api/server/router/system/system_routes.go). The CLI reads
  // Api-Version from this answer and prefixes every later path with it.
  HttpResponse response;
  response.status = 200;
  addEngineHeaders(response);
  response.setHeader("Builder-Version", std::string(kBuilderVersion));
  response.setHeader("Swarm", "inactive");
  response.setHeader("Cache-Control", "no-cache, no-store, must-revalidate");
  response.setHeader("Pragma", "no-cache");
  response.setHeader("Content-Type", "text/plain; charset=utf-8");
  if (request.http.method == Method::Get) response.body = "OK";
  return Action{std::move(response)};
}

Result<Action> toVersionRequest(const RouteRequest&) {
  BrokerCall call = newCall("version");
  requestOp(*call.message).initVersion();
  call.render = [](Response::Reader reply, const RenderContext& context) {
    if (reply.getResult().which() != Response::Result::VERSION) return unexpectedReply("version");
    return renderVersion(reply.getResult().getVersion(), context);
  };
  return Action{std::move(call)};
}

HttpResponse renderVersion(ipc::wire::VersionReply::Reader reply, const RenderContext&) {
  // SystemVersion (engine-api-v1.50.yaml). The CLI prints Platform.Name and each component.
  std::string arch = wireText(reply.getArchitecture());
  std::string kernel = wireText(reply.getKernelVersion());
  json::object details{{"ApiVersion", kApiVersion},   {"MinAPIVersion", kMinApiVersion},
                       {"GitCommit", gitCommit()},    {"GoVersion", kGoVersion},
                       {"Os", kOsType},               {"Arch", arch},
                       {"KernelVersion", kernel},     {"Experimental", "false"},
                       {"BuildTime", buildTime()}};
  json::array components;
  components.push_back(json::object{{"Name", "Engine"}, {"Version", kEngineVersion}, {"Details", details}});
  components.push_back(json::object{{"Name", "miniboxd"},
                                    {"Version", wireText(reply.getMiniboxProtocol())},
                                    {"Details", json::object{{"Protocol", wireText(reply.getMiniboxProtocol())}}}});
  json::object body{{"Platform", json::object{{"Name", kPlatformName}}},
                    {"Components", std::move(components)},
                    {"Version", kEngineVersion},
                    {"ApiVersion", kApiVersion},
                    {"MinAPIVersion", kMinApiVersion},
                    {"GitCommit", gitCommit()},
                    {"GoVersion", kGoVersion},
                    {"Os", kOsType},
                    {"Arch", arch},
                    {"KernelVersion", kernel},
                    {"Experimental", false},
                    {"BuildTime", buildTime()}};
  return jsonResponse(200, body);
}

Result<Action> toInfoRequest(const RouteRequest&) {
  BrokerCall call = newCall("info");
  requestOp(*call.message).initInfo();
  call.render = [](Response::Reader reply, const RenderContext& context) {
    if (reply.getResult().which() != Response::Result::INFO) return unexpectedReply("info");
    return renderInfo(reply.getResult().getInfo(), context);
  };
  return Action{std::move(call)};
}

HttpResponse renderInfo(ipc::wire::InfoReply::Reader reply, const RenderContext& context) {
  // SystemInfo (engine-api-v1.50.yaml), with the fields `docker info` prints
  // (client-flows.md 7.1). Values are what is true of dockerbox, not dockerd's defaults:
  // no swarm, no BuildKit, no plugins we cannot back, no security options we cannot vouch for.
  json::object plugins{{"Volume", json::array{}},
                       {"Network", json::array{}},
                       {"Authorization", nullptr},
                       {"Log", json::array{"json-file"}}};
  json::object registry{{"InsecureRegistryCIDRs", json::array{"::1/128", "127.0.0.0/8"}},
                        {"IndexConfigs", json::object{}},
                        {"Mirrors", json::array{}}};
  json::object swarm{{"NodeID", ""},         {"NodeAddr", ""},          {"LocalNodeState", "inactive"},
                     {"ControlAvailable", false}, {"Error", ""},        {"RemoteManagers", nullptr}};
  json::object commit{{"ID", ""}};
  json::object body{
      {"ID", wireText(reply.getEngineId())},
      {"Containers", reply.getContainers()},
      {"ContainersRunning", reply.getContainersRunning()},
      {"ContainersPaused", reply.getContainersPaused()},
      {"ContainersStopped", reply.getContainersStopped()},
      {"Images", reply.getImages()},
      {"Driver", "minibox"},
      {"DriverStatus", json::array{json::array{"Upstream socket", wireText(reply.getMiniboxSocket())},
                                   json::array{"Upstream protocol", wireText(reply.getMiniboxProtocol())}}},
      {"Plugins", std::move(plugins)},
      // miniboxd applies memory limits and CPU weight (HostConfig.Memory, CpuShares).
      {"MemoryLimit", true},
      {"SwapLimit", false},
      {"CpuCfsPeriod", false},
      {"CpuCfsQuota", false},
      {"CPUShares", true},
      {"CPUSet", false},
      {"PidsLimit", false},
      {"OomKillDisable", false},
      {"IPv4Forwarding", false},
      {"Debug", false},
      {"NFd", 0},
      {"NGoroutines", 0},
      {"SystemTime", rfc3339Nano(context.nowUnixSeconds * 1'000'000'000)},
      {"LoggingDriver", "json-file"},
      {"CgroupDriver", "cgroupfs"},
      {"CgroupVersion", "2"},
      {"NEventsListener", 0},
      {"KernelVersion", wireText(reply.getKernelVersion())},
      {"OperatingSystem", wireText(reply.getOperatingSystem())},
      {"OSVersion", ""},
      {"OSType", kOsType},
      {"Architecture", unameArchitecture(wireText(reply.getArchitecture()))},
      {"IndexServerAddress", "https://index.docker.io/v1/"},
      {"RegistryConfig", std::move(registry)},
      {"NCPU", reply.getNcpu()},
      {"MemTotal", reply.getMemTotal()},
      {"GenericResources", nullptr},
      {"DockerRootDir", wireText(reply.getDockerRootDir())},
      {"HttpProxy", ""},
      {"HttpsProxy", ""},
      {"NoProxy", ""},
      {"Name", wireText(reply.getHostname())},
      {"Labels", json::array{}},
      {"ExperimentalBuild", false},
      {"ServerVersion", kEngineVersion},
      {"Runtimes", json::object{{"minibox", json::object{{"path", "miniboxd"}}}}},
      {"DefaultRuntime", "minibox"},
      {"Swarm", std::move(swarm)},
      {"LiveRestoreEnabled", false},
      {"Isolation", ""},
      {"InitBinary", ""},
      {"ContainerdCommit", commit},
      {"RuncCommit", commit},
      {"InitCommit", commit},
      {"SecurityOptions", textArray(reply.getSecurityOptions())},
      {"CDISpecDirs", json::array{}},
      {"Warnings", json::array{}},
  };
  return jsonResponse(200, body);
}

}  // namespace dockerbox::frontend
