#include "frontend/router.hpp"

#include "frontend/handlers.hpp"
#include "frontend/response.hpp"

#include <kj/exception.h>
#include <spdlog/spdlog.h>

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

/// Matches decoded segments against a pattern; collects {parameter} values.
bool matchRoute(std::string_view pattern, const std::vector<std::string>& segments,
                std::vector<std::string>& params) {
  auto expected = patternSegments(pattern);
  if (expected.size() != segments.size()) return false;
  std::vector<std::string> found;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    if (expected[i].starts_with('{')) {
      found.push_back(segments[i]);
    } else if (expected[i] != segments[i]) {
      return false;
    }
  }
  params = std::move(found);
  return true;
}

ErrorKind toErrorKind(ipc::wire::ErrorKind kind) {
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
  return ErrorKind::Internal;
}

}  // namespace

const std::vector<Route>& routeTable() {
  // The one route table. HEAD is served only where dockerd serves it (/_ping); an
  // unknown path or method gets 404 {"message":"page not found"}, like dockerd.
  static const std::vector<Route> kRoutes{
      {Method::Get, "/_ping", &handlePing},
      {Method::Head, "/_ping", &handlePing},
      {Method::Get, "/version", &toVersionRequest},
      {Method::Get, "/info", &toInfoRequest},
      {Method::Get, "/containers/json", &toListContainersRequest},
      {Method::Get, "/images/json", &toListImagesRequest},
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
    return std::move(*action);
  }
  return pageNotFound();
}

HttpResponse finishCall(const BrokerCall& call, ipc::wire::Response::Reader reply,
                        const RenderContext& context) {
  // A worker trusts the broker, but a malformed frame (a broker bug) must end in a clean
  // 500 for this request, not a crash: capnp throws on bad pointers while reading.
  try {
    if (reply.getResult().which() == ipc::wire::Response::Result::ERROR) {
      auto error = reply.getResult().getError();
      return errorResponse(Error{toErrorKind(error.getKind()), error.getMessage().cStr(), {}});
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

std::unique_ptr<capnp::MallocMessageBuilder> newWorkerMessage() {
  auto message = std::make_unique<capnp::MallocMessageBuilder>();
  message->initRoot<ipc::wire::WorkerMessage>().initRequest();
  return message;
}

ipc::wire::Request::Op::Builder requestOp(capnp::MallocMessageBuilder& message) {
  return message.getRoot<ipc::wire::WorkerMessage>().getRequest().getOp();
}

}  // namespace dockerbox::frontend
