// Route handlers: builders (to<Operation>Request) turn a Docker request into a typed IPC
// request, renderers (render<Operation>) turn the broker's typed reply into Docker JSON.
// Runs in: a frontend worker. Listed in the one route table in router.cpp.
#pragma once

#include "frontend/filters.hpp"
#include "frontend/router.hpp"

namespace dockerbox::frontend {

// Answered locally.
[[nodiscard]] Result<Action> handlePing(const RouteRequest& request);

// GET /version
[[nodiscard]] Result<Action> toVersionRequest(const RouteRequest& request);
[[nodiscard]] HttpResponse renderVersion(ipc::wire::VersionReply::Reader reply,
                                         const RenderContext& context);

// GET /info
[[nodiscard]] Result<Action> toInfoRequest(const RouteRequest& request);
[[nodiscard]] HttpResponse renderInfo(ipc::wire::InfoReply::Reader reply,
                                      const RenderContext& context);

// GET /containers/json
[[nodiscard]] Result<Action> toListContainersRequest(const RouteRequest& request);
/// What the broker does not do for the list yet: filters and, with filters, the limit.
struct ContainerListOptions {
  ContainerFilter filter;
  int limit = 0;  // <= 0: no limit
};
[[nodiscard]] HttpResponse renderListContainers(ipc::wire::ContainerListReply::Reader reply,
                                                const RenderContext& context,
                                                const ContainerListOptions& options);

// GET /images/json
[[nodiscard]] Result<Action> toListImagesRequest(const RouteRequest& request);
[[nodiscard]] HttpResponse renderListImages(ipc::wire::ImageListReply::Reader reply,
                                            const RenderContext& context);

/// Copies a Text field of a broker reply (capnp Text is NUL-terminated, length-checked).
[[nodiscard]] inline std::string wireText(capnp::Text::Reader value) {
  return std::string(value.cStr(), value.size());
}

/// Architecture as `docker info` reports it (uname -m), from the Go-style name the broker
/// sends ("amd64" -> "x86_64").
[[nodiscard]] std::string unameArchitecture(std::string_view goArch);

}  // namespace dockerbox::frontend
