#include "frontend/router.hpp"

#include "frontend/handlers.hpp"
#include "frontend/response.hpp"

#include <kj/exception.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <exception>

namespace dockerbox::frontend {
namespace {

/// Splits a pattern into its segments ("/containers/{id}/json" -> 3 segments).
std::vector<std::string_view> patternSegments(std::string_view pattern) {
  std::vector<std::string_view> out;
  while (!pattern.empty()) {
    pattern.remove_prefix(1);  // the '/'
    auto slash = pattern.find('/');
    out.push_back(pattern.substr(0, slash));
    pattern = slash == std::string_view::npos ? std::string_view{} : pattern.substr(slash);
  }
  return out;
}

std::optional<ErrorKind> toErrorKind(ipc::wire::ErrorKind kind) {
  switch (kind) {
    case ipc::wire::ErrorKind::INTERNAL: return ErrorKind::Internal;
    case ipc::wire::ErrorKind::BAD_REQUEST: return ErrorKind::BadRequest;
    case ipc::wire::ErrorKind::NOT_FOUND: return ErrorKind::NotFound;
    case ipc::wire::ErrorKind::CONFLICT: return ErrorKind::Conflict;
    case ipc::wire::ErrorKind::FORBIDDEN: return ErrorKind::Forbidden;
    case ipc::wire::ErrorKind::UNAVAILABLE: return ErrorKind::Unavailable;
    case ipc::wire::ErrorKind::NOT_IMPLEMENTED: return ErrorKind::NotImplemented;
    case ipc::wire::ErrorKind::NOT_MODIFIED: return ErrorKind::NotModified;
  }
  // Cap'n Proto does not range-check enums: an unknown value is a broker bug or a newer
  // schema; never guess a status for it.
  return std::nullopt;
}

std::string notSupportedMessage(const UnsupportedRoute& route) {
  return std::string(route.what) + " is not supported by dockerbox: " + std::string(route.why);
}

}  // namespace

bool matchRoute(std::string_view pattern, const std::vector<std::string>& segments,
                std::vector<std::string>& params) {
  auto expected = patternSegments(pattern);
  std::vector<std::string> found;
  std::size_t at = 0;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    if (expected[i].ends_with("*}")) {
      // Greedy: everything but the literal segments still to come, at least one segment.
      std::size_t rest = expected.size() - i - 1;
      if (segments.size() < at + 1 + rest) return false;
      std::size_t take = segments.size() - at - rest;
      std::string joined;
      for (std::size_t k = 0; k < take; ++k) joined += (k == 0 ? "" : "/") + segments[at + k];
      found.push_back(std::move(joined));
      at += take;
      continue;
    }
    if (at >= segments.size()) return false;
    if (expected[i].starts_with('{')) {
      found.push_back(segments[at]);
    } else if (expected[i] != segments[at]) {
      return false;
    }
    ++at;
  }
  if (at != segments.size()) return false;
  params = std::move(found);
  return true;
}

const std::vector<Route>& routeTable() {
  // The one route table. HEAD is served only where dockerd serves it (/_ping). dockerd
  // routes dockerbox does not serve are in unsupportedRouteTable() (501); anything else
  // gets 404 {"message":"page not found"}, like dockerd.
  static const std::vector<Route> kRoutes{
      {Method::Get, "/_ping", &handlePing},
      {Method::Head, "/_ping", &handlePing},
      {Method::Get, "/version", &toVersionRequest},
      {Method::Get, "/info", &toInfoRequest},
      {Method::Post, "/auth", &toAuthRequest},
      {Method::Get, "/events", &toEventsRequest},
      {Method::Get, "/containers/json", &toListContainersRequest},
      {Method::Post, "/containers/create", &toCreateContainerRequest},
      {Method::Get, "/containers/{id}/json", &toInspectContainerRequest},
      {Method::Post, "/containers/{id}/start", &toStartContainerRequest},
      {Method::Post, "/containers/{id}/stop", &toStopContainerRequest},
      {Method::Post, "/containers/{id}/restart", &toRestartContainerRequest},
      {Method::Post, "/containers/{id}/kill", &toKillContainerRequest},
      {Method::Post, "/containers/{id}/pause", &toPauseContainerRequest},
      {Method::Post, "/containers/{id}/unpause", &toUnpauseContainerRequest},
      {Method::Post, "/containers/{id}/wait", &toWaitContainerRequest},
      {Method::Delete, "/containers/{id}", &toRemoveContainerRequest},
      {Method::Post, "/containers/{id}/rename", &toRenameContainerRequest},
      {Method::Get, "/containers/{id}/logs", &toContainerLogsRequest},
      {Method::Post, "/containers/{id}/attach", &toAttachContainerRequest},
      {Method::Post, "/containers/{id}/resize", &toResizeContainerRequest},
      {Method::Post, "/containers/{id}/exec", &toCreateExecRequest},
      {Method::Post, "/exec/{id}/start", &toStartExecRequest},
      {Method::Get, "/exec/{id}/json", &toInspectExecRequest},
      {Method::Post, "/exec/{id}/resize", &toResizeExecRequest},
      {Method::Get, "/images/json", &toListImagesRequest},
      {Method::Post, "/images/create", &toPullImageRequest},
      {Method::Get, "/images/{name*}/json", &toInspectImageRequest},
      {Method::Delete, "/images/{name*}", &toRemoveImageRequest},
      {Method::Get, "/networks", &handleListNetworks},
      {Method::Get, "/networks/{id}", &handleInspectNetwork},
      {Method::Get, "/volumes", &toListVolumesRequest},
      {Method::Post, "/volumes/create", &toCreateVolumeRequest},
      {Method::Post, "/volumes/prune", &toPruneVolumesRequest},
      {Method::Get, "/volumes/{name}", &toInspectVolumeRequest},
      {Method::Delete, "/volumes/{name}", &toRemoveVolumeRequest},
      {Method::Get, "/plugins/{name*}/json", &handleInspectPlugin},
  };
  return kRoutes;
}

Action routeRequest(const HttpRequest& request) {
  auto target = parseRequestTarget(request.target);
  if (!target) return errorResponse(target.error());
  for (const Route& route : routeTable()) {
    std::vector<std::string> params;
    if (route.method != request.method || !matchRoute(route.pattern, target->segments, params)) {
      continue;
    }
    RouteRequest routed{request, std::move(params), target->query, target->version};
    auto action = route.handler(routed);
    if (!action) {
      if (!action.error().context.empty()) {
        spdlog::info("event=request_refused route={} context={}", route.pattern,
                     action.error().context);
      }
      return errorResponse(action.error());
    }
    if (auto* call = std::get_if<BrokerCall>(&*action)) call->version = target->version;
    if (auto* stream = std::get_if<BrokerStream>(&*action)) stream->version = target->version;
    return std::move(*action);
  }
  for (const UnsupportedRoute& route : unsupportedRouteTable()) {
    std::vector<std::string> params;
    if (route.method == request.method && matchRoute(route.pattern, target->segments, params)) {
      return errorResponse(501, notSupportedMessage(route));
    }
  }
  return pageNotFound();
}

std::optional<HttpResponse> errorReplyResponse(ipc::wire::Response::Reader reply) {
  if (reply.getResult().which() != ipc::wire::Response::Result::ERROR) return std::nullopt;
  auto error = reply.getResult().getError();
  auto kind = toErrorKind(error.getKind());
  if (!kind) return errorResponse(500, "dockerbox: broker sent an unknown error kind");
  return errorResponse(Error{*kind, std::string(error.getMessage().cStr(), error.getMessage().size()), {}});
}

HttpResponse finishCall(const BrokerCall& call, ipc::wire::Response::Reader reply,
                        const RenderContext& context) {
  // A worker trusts the broker, but a malformed frame (a broker bug) must end in a clean
  // 500 for this request, not a crash: capnp throws on bad pointers while reading.
  try {
    if (!call.renderErrors) {
      if (auto error = errorReplyResponse(reply)) return std::move(*error);
    }
    return call.render(reply, context);
  } catch (const kj::Exception& e) {
    spdlog::error("event=bad_broker_reply operation={} error={}", call.operation,
                  e.getDescription().cStr());
  } catch (const std::exception& e) {
    spdlog::error("event=render_failed operation={} error={}", call.operation, e.what());
  }
  return errorResponse(500, "dockerbox: malformed reply from the broker");
}

HttpResponse unexpectedReply(std::string_view operation) {
  return errorResponse(500, "dockerbox: unexpected reply from the broker to " + std::string(operation));
}

std::optional<HttpResponse> StreamRenderer::afterPrelude(ipc::wire::Response::Reader reply) {
  return errorReplyResponse(reply);
}
std::string StreamRenderer::output(ipc::wire::StreamChunk::Reader) { return {}; }
std::string StreamRenderer::event(ipc::wire::Event::Reader) { return {}; }

std::unique_ptr<capnp::MallocMessageBuilder> newWorkerMessage() {
  auto message = std::make_unique<capnp::MallocMessageBuilder>();
  message->initRoot<ipc::wire::WorkerMessage>().initRequest();
  return message;
}

ipc::wire::Request::Op::Builder requestOp(capnp::MallocMessageBuilder& message) {
  return message.getRoot<ipc::wire::WorkerMessage>().getRequest().getOp();
}

BrokerCall newCall(std::string operation) {
  BrokerCall call;
  call.operation = std::move(operation);
  call.message = newWorkerMessage();
  return call;
}

HttpResponse emptyResponse(unsigned status) {
  HttpResponse response;
  response.status = status;
  addEngineHeaders(response);
  return response;
}

BrokerCall okCall(std::string operation, unsigned status) {
  BrokerCall call = newCall(operation);
  call.render = [operation = std::move(operation), status](ipc::wire::Response::Reader reply,
                                                           const RenderContext&) {
    if (reply.getResult().which() != ipc::wire::Response::Result::OK) return unexpectedReply(operation);
    return emptyResponse(status);
  };
  return call;
}

Result<std::int64_t> queryInt(const QueryParams& query, std::string_view key, std::int64_t absent) {
  auto raw = query.get(key);
  if (!raw || raw->empty()) return absent;
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(raw->data(), raw->data() + raw->size(), value);
  if (ec != std::errc() || end != raw->data() + raw->size()) {
    return fail(ErrorKind::BadRequest, "invalid value for " + std::string(key) + ": " + *raw);
  }
  return value;
}

Result<std::uint16_t> queryUint16(const QueryParams& query, std::string_view key) {
  auto value = queryInt(query, key, 0);
  if (!value) return value.error();
  if (*value < 0 || *value > 65535) {
    return fail(ErrorKind::BadRequest, "invalid value for " + std::string(key) + ": " + std::to_string(*value));
  }
  return static_cast<std::uint16_t>(*value);
}

}  // namespace dockerbox::frontend
