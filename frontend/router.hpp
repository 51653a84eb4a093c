// The Docker API route table and the glue between parsed requests, IPC calls and
// responses. Runs in: a frontend worker. Input: an untrusted, already parsed HTTP request.
//
// Request handling knows nothing about sockets (style.md §7): a route turns a request into
// an Action: a finished response (answered locally, like /_ping), a BrokerCall, which the
// session sends over IPC and finishes with the broker's reply, or a BrokerStream
// (streaming.hpp) for logs, events, wait, pull and the hijacked attach and exec streams.
#pragma once

#include "common/result.hpp"
#include "frontend/http_types.hpp"
#include "frontend/limits.hpp"
#include "frontend/request_target.hpp"
#include "frontend/streaming.hpp"

#include "ipc/dockerbox.capnp.h"

#include <capnp/message.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace dockerbox::frontend {

/// A request that matched a route: path parameters ({id}, {name}) in pattern order.
struct RouteRequest {
  const HttpRequest& http;
  std::vector<std::string> params;
  const QueryParams& query;
  ApiVersion version;
};

/// Renders a successful (non-error) reply. May throw kj::Exception on a malformed frame;
/// finishCall() catches it.
using Renderer =
    std::function<HttpResponse(ipc::wire::Response::Reader reply, const RenderContext& context)>;

/// An operation for the broker: the WorkerMessage (request.op set; IpcClient sets the id)
/// and how to render its reply.
struct BrokerCall {
  std::string operation;  // for logs, e.g. "listContainers"
  std::unique_ptr<capnp::MallocMessageBuilder> message;
  Renderer render;
  ApiVersion version;  // the client's API version (set by routeRequest)
  /// How long the broker may take. Longer than the default where the broker itself waits
  /// long: a pull, a start that may pull, a stop that waits `t` seconds.
  std::chrono::steady_clock::duration timeout = kBrokerReplyTimeout;
  /// Hand error replies to `render` too (it maps them itself), instead of the default
  /// Docker error for each kind.
  bool renderErrors = false;
};

using Action = std::variant<HttpResponse, BrokerCall, BrokerStream>;

using Handler = Result<Action> (*)(const RouteRequest& request);

struct Route {
  Method method;
  /// "/containers/{id}/json": literal segments and {parameters}. A parameter written
  /// {name*} takes one or more segments joined by "/" (image names: "library/alpine").
  std::string_view pattern;
  Handler handler;
};

/// The one route table (defined in router.cpp).
[[nodiscard]] const std::vector<Route>& routeTable();

/// A dockerd route dockerbox does not serve: answered 501 with `what` and `why`, so that a
/// client says what is missing instead of "page not found" (unsupported_routes.cpp).
struct UnsupportedRoute {
  Method method;
  std::string_view pattern;
  std::string_view what;  // "docker top", "networks", ...
  std::string_view why;
};
[[nodiscard]] const std::vector<UnsupportedRoute>& unsupportedRouteTable();

/// Matches decoded path segments against a route pattern; collects parameters in order.
[[nodiscard]] bool matchRoute(std::string_view pattern, const std::vector<std::string>& segments,
                              std::vector<std::string>& params);

/// Parses the target, finds the route, runs its handler. Every failure is already a
/// Docker-shaped response here; every response carries the engine headers.
[[nodiscard]] Action routeRequest(const HttpRequest& request);

/// Turns the broker's reply into the response: errors by kind, successes by the call's
/// renderer. Enums and union tags from the broker are checked, never trusted blindly.
[[nodiscard]] HttpResponse finishCall(const BrokerCall& call, ipc::wire::Response::Reader reply,
                                      const RenderContext& context);

/// The Docker response for a plain call's reply that the call's renderer did not expect.
[[nodiscard]] HttpResponse unexpectedReply(std::string_view operation);

/// Starts a WorkerMessage whose request.op the builder fills in.
[[nodiscard]] std::unique_ptr<capnp::MallocMessageBuilder> newWorkerMessage();
[[nodiscard]] ipc::wire::Request::Op::Builder requestOp(capnp::MallocMessageBuilder& message);

}  // namespace dockerbox::frontend
