// Exec routes: create, start (hijacked, or detached), inspect, resize. Runs in: a frontend
// worker. Input: untrusted path, query and JSON bodies; the broker's replies.
#include "frontend/handlers.hpp"
#include "frontend/response.hpp"
#include "frontend/strict_json.hpp"

#include <boost/json/object.hpp>

#include <limits>

namespace dockerbox::frontend {
namespace {

namespace json = boost::json;
namespace wire = ipc::wire;
using Response = wire::Response;

void setTextList(capnp::List<capnp::Text>::Builder list, const std::vector<std::string>& items) {
  for (unsigned i = 0; i < items.size(); ++i) list.set(i, items[i]);
}

/// container.ExecOptions, as POST /containers/{id}/exec sends it.
Result<void> parseExecBody(std::string_view body, wire::ExecConfig::Builder out) {
  auto root = parseStrictJson(body);
  if (!root) return root.error();
  auto fields = JsonFields::of(*root, "ExecOptions");
  if (!fields) return fields.error();
  std::optional<std::vector<std::string>> cmd;
  DOCKERBOX_TRY_ASSIGN(cmd, fields->getStrSlice("Cmd"));
  if (!cmd || cmd->empty()) return fail(ErrorKind::BadRequest, "No exec command specified");
  setTextList(out.initCmd(static_cast<unsigned>(cmd->size())), *cmd);
  std::optional<std::vector<std::string>> env;
  DOCKERBOX_TRY_ASSIGN(env, fields->getStringList("Env"));
  if (env) setTextList(out.initEnv(static_cast<unsigned>(env->size())), *env);
  std::string text;
  DOCKERBOX_TRY_ASSIGN(text, fields->getString("WorkingDir"));
  out.setWorkingDir(text);
  DOCKERBOX_TRY_ASSIGN(text, fields->getString("User"));
  out.setUser(text);
  DOCKERBOX_TRY_ASSIGN(text, fields->getString("DetachKeys"));
  out.setDetachKeys(text);
  bool flag = false;
  DOCKERBOX_TRY_ASSIGN(flag, fields->getBool("Tty"));
  out.setTty(flag);
  DOCKERBOX_TRY_ASSIGN(flag, fields->getBool("AttachStdin"));
  out.setAttachStdin(flag);
  DOCKERBOX_TRY_ASSIGN(flag, fields->getBool("AttachStdout"));
  out.setAttachStdout(flag);
  DOCKERBOX_TRY_ASSIGN(flag, fields->getBool("AttachStderr"));
  out.setAttachStderr(flag);
  DOCKERBOX_TRY_ASSIGN(flag, fields->getBool("Privileged"));
  out.setPrivileged(flag);
  return {};
}

struct ExecStartOptions {
  bool detach = false;
  bool tty = false;
};

/// container.ExecStartOptions: {"Detach":false,"Tty":false[,"ConsoleSize":[h,w]]}. An empty
/// body counts as all defaults (dockerode sends {"stdin":true,...}, which Go ignores).
Result<ExecStartOptions> parseExecStartBody(std::string_view body) {
  ExecStartOptions out;
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return out;
  auto root = parseStrictJson(body);
  if (!root) return root.error();
  auto fields = JsonFields::of(*root, "ExecStartOptions");
  if (!fields) return fields.error();
  DOCKERBOX_TRY_ASSIGN(out.detach, fields->getBool("Detach"));
  DOCKERBOX_TRY_ASSIGN(out.tty, fields->getBool("Tty"));
  return out;
}

}  // namespace

Result<Action> toCreateExecRequest(const RouteRequest& request) {
  BrokerCall call = newCall("createExec");
  auto config = requestOp(*call.message).initCreateExec();
  if (auto ok = parseExecBody(request.http.body, config); !ok) return ok.error();
  config.setContainer(request.params.at(0));  // the path names the container, not the body
  call.render = [](Response::Reader reply, const RenderContext&) {
    if (reply.getResult().which() != Response::Result::EXEC_CREATED) return unexpectedReply("createExec");
    return jsonResponse(201, json::object{{"Id", wireText(reply.getResult().getExecCreated())}});
  };
  return Action{std::move(call)};
}

Result<Action> toStartExecRequest(const RouteRequest& request) {
  auto options = parseExecStartBody(request.http.body);
  if (!options) return options.error();
  const std::string& id = request.params.at(0);
  auto fill = [&](capnp::MallocMessageBuilder& message) {
    auto op = requestOp(message).initStartExec();
    op.setId(id);
    op.setDetach(options->detach);
    op.setTty(options->tty);
  };
  if (options->detach) {
    // `docker exec -d`: no stream; 200 with an empty body once the process has started.
    BrokerCall call = okCall("startExec", 200);
    fill(*call.message);
    return Action{std::move(call)};
  }
  // The framing follows the exec's own Tty (from its inspect), as dockerd's does; the Tty
  // of the start body only chose dockerd's Content-Type.
  auto prelude = newWorkerMessage();
  requestOp(*prelude).initInspectExec().setId(id);
  BrokerStream stream{"startExec", std::move(prelude), newWorkerMessage(),
                      makeExecStartRenderer(request.version, !request.http.header("Upgrade").empty()),
                      StreamFraming::Hijacked, {}};
  fill(*stream.message);
  return Action{std::move(stream)};
}

Result<Action> toInspectExecRequest(const RouteRequest& request) {
  BrokerCall call = newCall("inspectExec");
  requestOp(*call.message).initInspectExec().setId(request.params.at(0));
  call.render = [](Response::Reader reply, const RenderContext&) {
    if (reply.getResult().which() != Response::Result::EXEC_INSPECT) return unexpectedReply("inspectExec");
    return renderInspectExec(reply.getResult().getExecInspect());
  };
  return Action{std::move(call)};
}

HttpResponse renderInspectExec(wire::ExecInspectReply::Reader reply) {
  auto config = reply.getConfig();
  auto cmd = config.getCmd();
  json::array arguments;
  for (unsigned i = 1; i < cmd.size(); ++i) arguments.emplace_back(wireText(cmd[i]));
  // ExecInspectResponse; ExitCode is null while the process runs (Go's *int).
  json::object body{
      {"CanRemove", false},
      {"DetachKeys", wireText(config.getDetachKeys())},
      {"ID", wireText(reply.getId())},
      {"Running", reply.getRunning()},
      {"ExitCode", reply.getHasExitCode() ? json::value(reply.getExitCode()) : json::value(nullptr)},
      {"ProcessConfig", json::object{{"arguments", std::move(arguments)},
                                     {"entrypoint", cmd.size() > 0 ? wireText(cmd[0]) : ""},
                                     {"privileged", config.getPrivileged()},
                                     {"tty", config.getTty()},
                                     {"user", wireText(config.getUser())}}},
      {"OpenStdin", config.getAttachStdin()},
      {"OpenStderr", config.getAttachStderr()},
      {"OpenStdout", config.getAttachStdout()},
      {"ContainerID", wireText(reply.getContainerId())},
      {"Pid", reply.getPid()},
  };
  return jsonResponse(200, body);
}

Result<Action> toResizeExecRequest(const RouteRequest& request) {
  auto height = queryUint16(request.query, "h");
  if (!height) return height.error();
  auto width = queryUint16(request.query, "w");
  if (!width) return width.error();
  BrokerCall call = okCall("resizeExec", 200);
  auto op = requestOp(*call.message).initResizeExec();
  op.setRef(request.params.at(0));
  op.setHeight(*height);
  op.setWidth(*width);
  return Action{std::move(call)};
}

}  // namespace dockerbox::frontend
