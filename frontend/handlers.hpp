// Route handlers: builders (to<Operation>Request) turn a Docker request into a typed IPC
// request, renderers (render<Operation>) turn the broker's typed reply into Docker JSON.
// Runs in: a frontend worker. Listed in the one route table in router.cpp.
#pragma once

#include "frontend/filters.hpp"
#include "frontend/render_helpers.hpp"
#include "frontend/router.hpp"

namespace dockerbox::frontend {

// --- system_routes.cpp ----------------------------------------------------------------
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

// --- container_routes.cpp -------------------------------------------------------------
// GET /containers/json
[[nodiscard]] Result<Action> toListContainersRequest(const RouteRequest& request);
/// What the broker does not do for the list: filters, and with filters the limit and the
/// running-only cut (dockerd's before/since need the stopped containers to find their
/// reference).
struct ContainerListOptions {
  ContainerFilter filter;
  int limit = 0;             // <= 0: no limit
  bool runningOnly = false;  // applied here when the broker was asked for all
};
[[nodiscard]] HttpResponse renderListContainers(ipc::wire::ContainerListReply::Reader reply,
                                                const RenderContext& context,
                                                const ContainerListOptions& options);

// --- container_lifecycle.cpp ----------------------------------------------------------
[[nodiscard]] Result<Action> toCreateContainerRequest(const RouteRequest& request);
[[nodiscard]] HttpResponse renderCreateContainer(ipc::wire::ContainerCreatedReply::Reader reply);
[[nodiscard]] Result<Action> toStartContainerRequest(const RouteRequest& request);
[[nodiscard]] Result<Action> toStopContainerRequest(const RouteRequest& request);
[[nodiscard]] Result<Action> toRestartContainerRequest(const RouteRequest& request);
[[nodiscard]] Result<Action> toKillContainerRequest(const RouteRequest& request);
[[nodiscard]] Result<Action> toPauseContainerRequest(const RouteRequest& request);
[[nodiscard]] Result<Action> toUnpauseContainerRequest(const RouteRequest& request);
[[nodiscard]] Result<Action> toRemoveContainerRequest(const RouteRequest& request);
[[nodiscard]] Result<Action> toRenameContainerRequest(const RouteRequest& request);
[[nodiscard]] Result<Action> toResizeContainerRequest(const RouteRequest& request);

// --- container_inspect.cpp ------------------------------------------------------------
[[nodiscard]] Result<Action> toInspectContainerRequest(const RouteRequest& request);
[[nodiscard]] HttpResponse renderInspectContainer(ipc::wire::ContainerInspectReply::Reader reply,
                                                  const RenderContext& context);

// --- stream_routes.cpp: wait, logs, attach --------------------------------------------
[[nodiscard]] Result<Action> toWaitContainerRequest(const RouteRequest& request);
[[nodiscard]] Result<Action> toContainerLogsRequest(const RouteRequest& request);
[[nodiscard]] Result<Action> toAttachContainerRequest(const RouteRequest& request);
/// The renderer of a hijacked exec stream (shared with attach).
[[nodiscard]] std::unique_ptr<StreamRenderer> makeExecStartRenderer(ApiVersion version, bool upgrade);
/// {"StatusCode":N,"Error":null} or with "Error":{"Message":...}, plus "\n".
[[nodiscard]] std::string renderWaitContainer(std::int64_t statusCode, std::string_view error);

// --- exec_routes.cpp ------------------------------------------------------------------
[[nodiscard]] Result<Action> toCreateExecRequest(const RouteRequest& request);
[[nodiscard]] Result<Action> toStartExecRequest(const RouteRequest& request);
[[nodiscard]] Result<Action> toInspectExecRequest(const RouteRequest& request);
[[nodiscard]] Result<Action> toResizeExecRequest(const RouteRequest& request);
[[nodiscard]] HttpResponse renderInspectExec(ipc::wire::ExecInspectReply::Reader reply);

// --- events_routes.cpp ----------------------------------------------------------------
[[nodiscard]] Result<Action> toEventsRequest(const RouteRequest& request);
/// One event as dockerd's events.Message, one JSON line.
[[nodiscard]] std::string renderEvent(ipc::wire::Event::Reader event);

// --- image_routes.cpp -----------------------------------------------------------------
// GET /images/json
[[nodiscard]] Result<Action> toListImagesRequest(const RouteRequest& request);
[[nodiscard]] HttpResponse renderListImages(ipc::wire::ImageListReply::Reader reply,
                                            const RenderContext& context);
[[nodiscard]] Result<Action> toPullImageRequest(const RouteRequest& request);
/// The progress lines of a finished pull (miniboxd reports no progress of its own).
[[nodiscard]] std::string renderPullImage(ipc::wire::ImagePulledReply::Reader reply);
[[nodiscard]] Result<Action> toInspectImageRequest(const RouteRequest& request);
[[nodiscard]] HttpResponse renderInspectImage(ipc::wire::ImageSummary::Reader reply);
[[nodiscard]] Result<Action> toRemoveImageRequest(const RouteRequest& request);

// --- system_routes.cpp ----------------------------------------------------------------
/// POST /auth (docker login): the credentials are checked by dockerbox's registry client.
[[nodiscard]] Result<Action> toAuthRequest(const RouteRequest& request);

// --- volume_routes.cpp ----------------------------------------------------------------
[[nodiscard]] Result<Action> toListVolumesRequest(const RouteRequest& request);
[[nodiscard]] Result<Action> toCreateVolumeRequest(const RouteRequest& request);
[[nodiscard]] Result<Action> toInspectVolumeRequest(const RouteRequest& request);
[[nodiscard]] Result<Action> toRemoveVolumeRequest(const RouteRequest& request);
[[nodiscard]] Result<Action> toPruneVolumesRequest(const RouteRequest& request);

// --- local_routes.cpp: answered without the broker ------------------------------------
[[nodiscard]] Result<Action> handleListNetworks(const RouteRequest& request);
[[nodiscard]] Result<Action> handleInspectNetwork(const RouteRequest& request);
[[nodiscard]] Result<Action> handleInspectPlugin(const RouteRequest& request);

// --- shared by the builders (router.cpp) ----------------------------------------------
/// A call whose request op the caller fills in (requestOp(*call.message)).
[[nodiscard]] BrokerCall newCall(std::string operation);
/// A call answered `status` with no body when the broker says `ok` (start, stop, ...).
[[nodiscard]] BrokerCall okCall(std::string operation, unsigned status);
/// A response without a body (204, or 200 with Content-Length 0), with engine headers.
[[nodiscard]] HttpResponse emptyResponse(unsigned status);
/// An integer query value; `absent` when missing or empty; BadRequest naming `key` otherwise.
[[nodiscard]] Result<std::int64_t> queryInt(const QueryParams& query, std::string_view key,
                                            std::int64_t absent);
/// A terminal dimension (?h=, ?w=): 0..65535, 0 when absent.
[[nodiscard]] Result<std::uint16_t> queryUint16(const QueryParams& query, std::string_view key);

/// Architecture as `docker info` reports it (uname -m), from the Go-style name the broker
/// sends ("amd64" -> "x86_64").
[[nodiscard]] std::string unameArchitecture(std::string_view goArch);

}  // namespace dockerbox::frontend
