// Container lifecycle routes: create, start, stop, restart, kill, pause, unpause, remove,
// rename, resize. Runs in: a frontend worker. Input: untrusted path, query and body.
#include "frontend/create_body.hpp"
#include "frontend/handlers.hpp"
#include "frontend/response.hpp"

#include <boost/json/object.hpp>

#include <limits>

namespace dockerbox::frontend {
namespace {

namespace json = boost::json;
using ipc::wire::Response;

/// ?t= of stop and restart: -1 (the container's own default) when absent. dockerd takes any
/// integer; the broker's bound is -1..86400 and it names a value outside it.
Result<std::int32_t> stopTimeout(const QueryParams& query) {
  auto t = queryInt(query, "t", -1);
  if (!t) return t.error();
  if (*t < -1) return -1;  // dockerd: a negative timeout waits for the process without limit
  return static_cast<std::int32_t>(std::min<std::int64_t>(*t, std::numeric_limits<std::int32_t>::max()));
}

/// The broker's stop runs the grace period before it answers: wait that long, and more.
std::chrono::steady_clock::duration stopCallTimeout(std::int32_t seconds) {
  return kStopReplySlack + std::chrono::seconds(std::max(seconds, 0));
}

}  // namespace

Result<Action> toCreateContainerRequest(const RouteRequest& request) {
  BrokerCall call = newCall("createContainer");
  auto config = requestOp(*call.message).initCreateContainer();
  // dockerode repeats the whole body as query parameters (client-flows.md fact 11): only
  // ?name= is read from the query. The body is the same whether it came with
  // Content-Length or chunked: Beast hands over the decoded bytes.
  if (auto ok = parseCreateBody(request.http.body, config); !ok) return ok.error();
  config.setName(request.query.get("name").value_or(""));
  call.render = [](Response::Reader reply, const RenderContext&) {
    if (reply.getResult().which() != Response::Result::CONTAINER_CREATED) return unexpectedReply("createContainer");
    return renderCreateContainer(reply.getResult().getContainerCreated());
  };
  return Action{std::move(call)};
}

HttpResponse renderCreateContainer(ipc::wire::ContainerCreatedReply::Reader reply) {
  // ContainerCreateResponse: Warnings is always a list (dockerd sends [] since API 1.44).
  return jsonResponse(201, json::object{{"Id", wireText(reply.getId())}, {"Warnings", textArray(reply.getWarnings())}});
}

Result<Action> toStartContainerRequest(const RouteRequest& request) {
  // ?detachKeys= only matters to an attached client; checkpoints are not supported.
  if (request.query.get("checkpoint").value_or("") != "") {
    return fail(ErrorKind::NotImplemented, "checkpoints are not supported by dockerbox: miniboxd cannot restore one");
  }
  BrokerCall call = okCall("startContainer", 204);
  requestOp(*call.message).initStartContainer().setRef(request.params.at(0));
  call.timeout = kPullReplyTimeout;  // miniboxd may download the image before it runs it
  return Action{std::move(call)};
}

Result<Action> toStopContainerRequest(const RouteRequest& request) {
  auto t = stopTimeout(request.query);
  if (!t) return t.error();
  BrokerCall call = okCall("stopContainer", 204);
  auto op = requestOp(*call.message).initStopContainer();
  op.setRef(request.params.at(0));
  op.setTimeoutSeconds(*t);
  op.setSignal(request.query.get("signal").value_or(""));
  call.timeout = stopCallTimeout(*t);
  return Action{std::move(call)};
}

Result<Action> toRestartContainerRequest(const RouteRequest& request) {
  auto t = stopTimeout(request.query);
  if (!t) return t.error();
  BrokerCall call = okCall("restartContainer", 204);
  auto op = requestOp(*call.message).initRestartContainer();
  op.setRef(request.params.at(0));
  op.setTimeoutSeconds(*t);
  op.setSignal(request.query.get("signal").value_or(""));
  call.timeout = stopCallTimeout(*t) + kPullReplyTimeout;
  return Action{std::move(call)};
}

Result<Action> toKillContainerRequest(const RouteRequest& request) {
  BrokerCall call = okCall("killContainer", 204);
  auto op = requestOp(*call.message).initKillContainer();
  op.setRef(request.params.at(0));
  op.setSignal(request.query.get("signal").value_or(""));
  return Action{std::move(call)};
}

Result<Action> toPauseContainerRequest(const RouteRequest& request) {
  BrokerCall call = okCall("pauseContainer", 204);
  requestOp(*call.message).initPauseContainer().setRef(request.params.at(0));
  return Action{std::move(call)};
}

Result<Action> toUnpauseContainerRequest(const RouteRequest& request) {
  BrokerCall call = okCall("unpauseContainer", 204);
  requestOp(*call.message).initUnpauseContainer().setRef(request.params.at(0));
  return Action{std::move(call)};
}

Result<Action> toRemoveContainerRequest(const RouteRequest& request) {
  // compose sends link=False; link=1 would remove a legacy link, which dockerbox has none of.
  if (request.query.boolValue("link")) {
    return fail(ErrorKind::NotImplemented, "links are not supported by dockerbox: there are no legacy links");
  }
  BrokerCall call = okCall("removeContainer", 204);
  auto op = requestOp(*call.message).initRemoveContainer();
  op.setRef(request.params.at(0));
  op.setForce(request.query.boolValue("force"));
  op.setVolumes(request.query.boolValue("v"));
  call.timeout = stopCallTimeout(10);  // a forced remove stops the container first
  return Action{std::move(call)};
}

Result<Action> toRenameContainerRequest(const RouteRequest& request) {
  BrokerCall call = okCall("renameContainer", 204);
  auto op = requestOp(*call.message).initRenameContainer();
  op.setRef(request.params.at(0));
  op.setNewName(request.query.get("name").value_or(""));
  return Action{std::move(call)};
}

Result<Action> toResizeContainerRequest(const RouteRequest& request) {
  auto height = queryUint16(request.query, "h");
  if (!height) return height.error();
  auto width = queryUint16(request.query, "w");
  if (!width) return width.error();
  BrokerCall call = okCall("resizeContainer", 200);
  auto op = requestOp(*call.message).initResizeContainer();
  op.setRef(request.params.at(0));
  op.setHeight(*height);
  op.setWidth(*width);
  return Action{std::move(call)};
}

}  // namespace dockerbox::frontend
