// Runs as root. Input: validated requests.
#include "broker/dispatch.hpp"

#include "broker/authz.hpp"
#include "broker/containers/config_blob.hpp"
#include "broker/gate.hpp"
#include "broker/handlers.hpp"
#include "broker/stream.hpp"

#include <spdlog/spdlog.h>

#include <exception>

namespace dockerbox::broker {

namespace asio = boost::asio;

namespace {

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

using containers::ContainerService;

template <class Op>
using ServiceHandler = asio::awaitable<Result<void>> (ContainerService::*)(const Caller&, const Op&, StreamSink&,
                                                                           ReplyBuilder);

/// Runs a container-service handler; without dockerbox's state there is none to run.
template <class Op>
asio::awaitable<Result<void>> viaContainers(Handlers& h, ServiceHandler<Op> handler, const Caller& who, const Op& op,
                                            StreamSink& sink, ReplyBuilder out) {
  ContainerService* service = h.containers();
  if (service == nullptr) co_return fail(ErrorKind::Unavailable, "dockerbox's state is not open");
  co_return co_await (service->*handler)(who, op, sink, out);
}

asio::awaitable<Result<void>> run(Handlers& h, const Caller& who, const Operation& op, ReplyBuilder out,
                                  StreamSink& sink) {
  auto via = [&](auto handler, const auto& o) { return viaContainers(h, handler, who, o, sink, out); };
  return std::visit(
      Overloaded{
          [&](const VersionOp& o) { return h.handleVersion(who, o, out); },
          [&](const InfoOp& o) { return h.handleInfo(who, o, out); },
          [&](const ListContainersOp& o) { return h.handleListContainers(who, o, sink, out); },
          [&](const ListImagesOp& o) { return h.handleListImages(who, o, out); },
          [&](const CreateContainerOp& o) { return via(&ContainerService::handleCreateContainer, o); },
          [&](const InspectContainerOp& o) { return via(&ContainerService::handleInspectContainer, o); },
          [&](const StartContainerOp& o) { return via(&ContainerService::handleStartContainer, o); },
          [&](const StopContainerOp& o) { return via(&ContainerService::handleStopContainer, o); },
          [&](const KillContainerOp& o) { return via(&ContainerService::handleKillContainer, o); },
          [&](const RestartContainerOp& o) { return via(&ContainerService::handleRestartContainer, o); },
          [&](const PauseContainerOp& o) { return via(&ContainerService::handlePauseContainer, o); },
          [&](const UnpauseContainerOp& o) { return via(&ContainerService::handleUnpauseContainer, o); },
          [&](const WaitContainerOp& o) { return via(&ContainerService::handleWaitContainer, o); },
          [&](const RemoveContainerOp& o) { return via(&ContainerService::handleRemoveContainer, o); },
          [&](const RenameContainerOp& o) { return via(&ContainerService::handleRenameContainer, o); },
          [&](const ContainerLogsOp& o) { return via(&ContainerService::handleContainerLogs, o); },
          [&](const AttachContainerOp& o) { return via(&ContainerService::handleAttachContainer, o); },
          [&](const ResizeContainerOp& o) { return via(&ContainerService::handleResizeContainer, o); },
          [&](const CreateExecOp& o) { return via(&ContainerService::handleCreateExec, o); },
          [&](const StartExecOp& o) { return via(&ContainerService::handleStartExec, o); },
          [&](const InspectExecOp& o) { return via(&ContainerService::handleInspectExec, o); },
          [&](const ResizeExecOp& o) { return via(&ContainerService::handleResizeExec, o); },
          [&](const EventsOp& o) { return via(&ContainerService::handleEvents, o); },
          [&](const PullImageOp& o) { return via(&ContainerService::handlePullImage, o); },
          [&](const InspectImageOp& o) { return via(&ContainerService::handleInspectImage, o); },
          [&](const RemoveImageOp& o) { return via(&ContainerService::handleRemoveImage, o); },
      },
      op);
}

}  // namespace

asio::awaitable<void> dispatch(Handlers& handlers, Gate& gate, const Identity& who, const ValidatedRequest& request,
                               ipc::wire::Response::Builder out, StreamSink& sink) {
  auto name = operationName(request.op);
  // Decide (P2) and record (P6) before anything is done. Every path but an explicit allow by
  // a loaded policy is a denial (authorize()).
  Authorization authz = authorize(gate.policy(), who, request.op, handlers.config().miniboxSocket);
  if (!authz.detail.empty()) {
    // May name resolved host paths: the broker's log only, never the client or the audit log.
    spdlog::debug("event=policy_detail op={} uid={} detail=\"{}\"", name, who.uid, authz.detail);
  }
  auto ticket = gate.open(who, name, &request.op, authz.gate);
  if (!ticket) {
    spdlog::info("event=request op={} uid={} outcome=denied error=\"{}\"", name, who.uid, ticket.error().message);
    renderError(ticket.error(), out.initResult());
    co_return;
  }
  Caller caller(who, authz.visibility, Grants{authz.privileged, authz.rootUser});
  // A create runs what was judged: resolved bind sources, injected limits (authz.hpp).
  const Operation* op = &request.op;
  std::optional<Operation> applied;
  if (const auto* create = std::get_if<CreateContainerOp>(&request.op)) {
    CreateContainerOp judged = *create;
    if (auto r = applyAuthorization(authz, judged); !r) {
      gate.close(*ticket, r);
      spdlog::error("event=request op={} uid={} outcome=internal error=\"{}\"", name, who.uid, r.error().context);
      renderError(r.error(), out.initResult());
      co_return;
    }
    caller.judgedConfig = containers::blobFromWords(judged.canonicalConfig);
    applied.emplace(std::move(judged));
    op = &*applied;
  } else if (const auto* exec = std::get_if<CreateExecOp>(&request.op)) {
    caller.judgedConfig = containers::writeExecConfig(*exec);
  }
  // The monitor knows the caller of every act by this request's number (act_server.hpp).
  auto registered = handlers.callers().add(caller, name);
  Result<void> result = fail(ErrorKind::Internal, "internal error");
  try {
    result = co_await run(handlers, caller, *op, out.initResult(), sink);
  } catch (const std::exception& e) {
    // An exception is a failure of this request only: deny, log, keep serving (P8).
    result = fail(ErrorKind::Internal, "internal error", std::string("exception: ") + e.what());
  }
  gate.close(*ticket, result, std::move(caller.resolved));
  if (!result) {
    const auto& err = result.error();
    spdlog::info("event=request op={} uid={} outcome={} error=\"{}\" context=\"{}\"", name, who.uid,
                 toString(err.kind), err.message, err.context);
    renderError(err, out.initResult());
    co_return;
  }
  spdlog::debug("event=request op={} uid={} outcome=ok", name, who.uid);
}

}  // namespace dockerbox::broker
