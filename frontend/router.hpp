// The Docker API route table and the glue between parsed requests, IPC calls and
// responses. Runs in: a frontend worker. Input: an untrusted, already parsed HTTP request.
//
// Request handling knows nothing about sockets (style.md §7): a route turns a request into
// an Action, either a finished response (answered locally, like /_ping) or a BrokerCall,
// which the session sends over IPC and finishes with the broker's reply. Streaming and
// hijacked operations will add Action alternatives.
#pragma once

#include "common/result.hpp"
#include "frontend/http_types.hpp"
#include "frontend/request_target.hpp"

#include "ipc/dockerbox.capnp.h"

#include <capnp/message.h>

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

/// What renderers may know besides the reply. The clock is injected (tests fix it).
struct RenderContext {
  std::int64_t nowUnixSeconds = 0;
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
};

using Action = std::variant<HttpResponse, BrokerCall>;

using Handler = Result<Action> (*)(const RouteRequest& request);

struct Route {
  Method method;
  std::string_view pattern;  // "/containers/{id}/json": literal segments and {parameters}
  Handler handler;
};

/// The one route table (defined in router.cpp).
[[nodiscard]] const std::vector<Route>& routeTable();

/// Parses the target, finds the route, runs its handler. Every failure is already a
/// Docker-shaped response here; every response carries the engine headers.
[[nodiscard]] Action routeRequest(const HttpRequest& request);

/// Turns the broker's reply into the response: errors by kind, successes by the call's
/// renderer. Enums and union tags from the broker are checked, never trusted blindly.
[[nodiscard]] HttpResponse finishCall(const BrokerCall& call, ipc::wire::Response::Reader reply,
                                      const RenderContext& context);

/// Starts a WorkerMessage whose request.op the builder fills in.
[[nodiscard]] std::unique_ptr<capnp::MallocMessageBuilder> newWorkerMessage();
[[nodiscard]] ipc::wire::Request::Op::Builder requestOp(capnp::MallocMessageBuilder& message);

}  // namespace dockerbox::frontend
