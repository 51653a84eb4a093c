// GET /containers/{id}/json: the full v1.50 ContainerInspectResponse. Runs in: a frontend
// worker. Input: an untrusted path parameter; the broker's typed inspect reply.
//
// `docker inspect` prints this document as it is, and every client decodes it into typed
// structs (Go, Python), so each key has the JSON type the schema gives it: Go's nil slices
// are null, maps are objects, and the pointers (*int64, *bool) are null or a value.
#include "frontend/handlers.hpp"
#include "frontend/inspect_parts.hpp"
#include "frontend/response.hpp"
#include "frontend/time_format.hpp"

#include <boost/json/object.hpp>

namespace dockerbox::frontend {
namespace {

namespace json = boost::json;
namespace wire = ipc::wire;
using Response = wire::Response;

constexpr std::int64_t kNanosPerSecond = 1'000'000'000;

std::string timeOrZero(std::int64_t unixSeconds) {
  return unixSeconds == 0 ? std::string(kZeroTime) : rfc3339Nano(unixSeconds * kNanosPerSecond);
}

std::optional<ContainerState> stateOf(wire::ContainerState state) {
  switch (state) {
    case wire::ContainerState::CREATED: return ContainerState::Created;
    case wire::ContainerState::RUNNING: return ContainerState::Running;
    case wire::ContainerState::PAUSED: return ContainerState::Paused;
    case wire::ContainerState::RESTARTING: return ContainerState::Restarting;
    case wire::ContainerState::REMOVING: return ContainerState::Removing;
    case wire::ContainerState::EXITED: return ContainerState::Exited;
    case wire::ContainerState::DEAD: return ContainerState::Dead;
  }
  return std::nullopt;
}

/// State.Health, as dockerd shows it (Start and End in RFC 3339 with nanoseconds).
json::object renderHealth(wire::Health::Reader health) {
  json::array log;
  for (auto r : health.getLog()) {
    log.push_back(json::object{{"Start", rfc3339Nano(r.getStartNanos())},
                               {"End", rfc3339Nano(r.getEndNanos())},
                               {"ExitCode", r.getExitCode()},
                               {"Output", wireText(r.getOutput())}});
  }
  return json::object{{"Status", wireText(health.getStatus())},
                      {"FailingStreak", health.getFailingStreak()},
                      {"Log", std::move(log)}};
}

json::object renderState(wire::ContainerInspectReply::Reader reply, ContainerState state) {
  auto summary = reply.getSummary();
  // dockerd reports a paused container as Running too (container/state.go).
  bool running = state == ContainerState::Running || state == ContainerState::Paused;
  json::object out{
      {"Status", toApiString(state)},
      {"Running", running},
      {"Paused", state == ContainerState::Paused},
      {"Restarting", state == ContainerState::Restarting},
      {"OOMKilled", reply.getOomKilled()},
      {"Dead", state == ContainerState::Dead},
      {"Pid", running ? reply.getPid() : 0},
      {"ExitCode", summary.getHasExitCode() ? summary.getExitCode() : 0},
      {"Error", wireText(reply.getError())},
      {"StartedAt", timeOrZero(summary.getStartedAt())},
      {"FinishedAt", timeOrZero(summary.getFinishedAt())},
  };
  if (reply.hasHealth() && reply.getHealth().getStatus().size() != 0) out["Health"] = renderHealth(reply.getHealth());
  return out;
}

/// Config.Hostname as dockerd stores it at create: the client's, else the short id. With
/// NetworkMode "host" dockerd takes the host's name, which a sandboxed worker cannot see, so
/// it stays empty there.
std::string hostnameOf(wire::ContainerInspectReply::Reader reply) {
  auto config = reply.getConfig();
  std::string hostname = wireText(config.getHostname());
  if (!hostname.empty() || wireText(config.getHost().getNetworkMode()) == "host") return hostname;
  return wireText(reply.getSummary().getId()).substr(0, 12);
}

json::object renderConfig(wire::ContainerInspectReply::Reader reply) {
  auto config = reply.getConfig();
  json::object exposed;
  for (auto port : config.getExposedPorts()) exposed[wireText(port)] = json::object{};
  json::object out{
      {"Hostname", hostnameOf(reply)},
      {"Domainname", wireText(config.getDomainname())},
      {"User", wireText(config.getUser())},
      {"AttachStdin", config.getAttachStdin()},
      {"AttachStdout", config.getAttachStdout()},
      {"AttachStderr", config.getAttachStderr()},
      {"Tty", config.getTty()},
      {"OpenStdin", config.getOpenStdin()},
      {"StdinOnce", config.getStdinOnce()},
      {"Env", textArrayOrNull(config.getEnv())},
      {"Cmd", config.getHasCmd() ? json::value(textArray(config.getCmd())) : json::value(nullptr)},
      {"Image", wireText(config.getImage())},
      {"Volumes", nullptr},
      {"WorkingDir", wireText(config.getWorkingDir())},
      {"Entrypoint",
       config.getHasEntrypoint() ? json::value(textArray(config.getEntrypoint())) : json::value(nullptr)},
      {"OnBuild", nullptr},
      {"Labels", keyValueObject(config.getLabels())},
  };
  if (!exposed.empty()) out["ExposedPorts"] = std::move(exposed);
  if (config.getStopSignal().size() != 0) out["StopSignal"] = wireText(config.getStopSignal());
  if (config.getStopTimeout() >= 0) out["StopTimeout"] = config.getStopTimeout();
  if (config.getHasHealthcheck()) {
    auto h = config.getHealthcheck();
    json::object health{{"Test", textArray(h.getTest())}};
    // Go's omitempty: zero durations and retries are left out.
    if (h.getInterval() != 0) health["Interval"] = h.getInterval();
    if (h.getTimeout() != 0) health["Timeout"] = h.getTimeout();
    if (h.getStartPeriod() != 0) health["StartPeriod"] = h.getStartPeriod();
    if (h.getStartInterval() != 0) health["StartInterval"] = h.getStartInterval();
    if (h.getRetries() != 0) health["Retries"] = h.getRetries();
    out["Healthcheck"] = std::move(health);
  }
  return out;
}

}  // namespace

Result<Action> toInspectContainerRequest(const RouteRequest& request) {
  // ?size=1 asks for SizeRw/SizeRootFs, which miniboxd cannot compute: they are left out,
  // as the schema allows.
  BrokerCall call = newCall("inspectContainer");
  requestOp(*call.message).initInspectContainer().setRef(request.params.at(0));
  call.render = [](Response::Reader reply, const RenderContext& context) {
    if (reply.getResult().which() != Response::Result::CONTAINER_INSPECT) return unexpectedReply("inspectContainer");
    return renderInspectContainer(reply.getResult().getContainerInspect(), context);
  };
  return Action{std::move(call)};
}

HttpResponse renderInspectContainer(wire::ContainerInspectReply::Reader reply, const RenderContext&) {
  auto summary = reply.getSummary();
  auto state = stateOf(summary.getState());
  if (!state) return errorResponse(500, "dockerbox: broker sent an unknown container state");
  std::string id = wireText(summary.getId());
  std::string name = summary.getNames().size() > 0 ? wireText(summary.getNames()[0]) : "/" + id.substr(0, 12);
  auto host = reply.getConfig().getHost();
  bool running = *state == ContainerState::Running || *state == ContainerState::Paused;
  json::object body{
      {"Id", id},
      {"Created", rfc3339Nano(summary.getCreated() * kNanosPerSecond)},
      {"Path", wireText(reply.getPath())},
      {"Args", textArray(reply.getArgs())},
      {"State", renderState(reply, *state)},
      {"Image", wireText(summary.getImageId())},
      {"ResolvConfPath", ""},
      {"HostnamePath", ""},
      {"HostsPath", ""},
      {"LogPath", ""},
      {"Name", name},
      {"RestartCount", reply.getRestartCount()},
      {"Driver", "minibox"},
      {"Platform", "linux"},
      {"MountLabel", ""},
      {"ProcessLabel", ""},
      {"AppArmorProfile", ""},
      {"ExecIDs", textArrayOrNull(reply.getExecIds())},
      {"HostConfig", renderHostConfig(host)},
      {"GraphDriver", json::object{{"Data", json::object{}}, {"Name", "minibox"}}},
      {"Mounts", renderMountPoints(host)},
      {"Config", renderConfig(reply)},
      {"NetworkSettings", renderNetworkSettings(reply.getConfig(), reply.getSummary().getPorts(), running)},
  };
  return jsonResponse(200, body);
}

}  // namespace dockerbox::frontend
