// Runs as root. Input: validated requests.
#include "broker/dispatch.hpp"

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

asio::awaitable<Result<void>> notImplementedYet() {
  co_return fail(ErrorKind::NotImplemented, "this operation is not implemented by dockerbox yet");
}

asio::awaitable<Result<void>> run(Handlers& h, const Identity& who, const Operation& op, ReplyBuilder out,
                                  StreamSink& sink) {
  (void)sink;  // used by the streaming handlers
  return std::visit(
      Overloaded{
          [&](const VersionOp& o) { return h.handleVersion(who, o, out); },
          [&](const InfoOp& o) { return h.handleInfo(who, o, out); },
          [&](const ListContainersOp& o) { return h.handleListContainers(who, o, out); },
          [&](const ListImagesOp& o) { return h.handleListImages(who, o, out); },
          // TODO(soon): the containers issue gives every remaining operation its handler;
          // until then they are refused with a clear error, never faked.
          [&](const auto&) { return notImplementedYet(); },
      },
      op);
}

}  // namespace

namespace {

// TODO(soon): the policy evaluator (policy/) decides here. Until it is wired in, admitted
// clients (root and the socket group) may use every implemented operation.
GateDecision decide(const Identity&, const Operation&) {
  return GateDecision{true, false, "socket-admission", "admitted to the socket; no policy is enforced yet"};
}

}  // namespace

asio::awaitable<void> dispatch(Handlers& handlers, Gate& gate, const Identity& who, const ValidatedRequest& request,
                               ipc::wire::Response::Builder out, StreamSink& sink) {
  auto name = operationName(request.op);
  // Decide and record before anything is done (P2, P6).
  auto ticket = gate.open(who, name, &request.op, decide(who, request.op));
  if (!ticket) {
    spdlog::info("event=request op={} uid={} outcome=denied error=\"{}\"", name, who.uid, ticket.error().message);
    renderError(ticket.error(), out.initResult());
    co_return;
  }
  Result<void> result = fail(ErrorKind::Internal, "internal error");
  try {
    result = co_await run(handlers, who, request.op, out.initResult(), sink);
  } catch (const std::exception& e) {
    // An exception is a failure of this request only: deny, log, keep serving (P8).
    result = fail(ErrorKind::Internal, "internal error", std::string("exception: ") + e.what());
  }
  gate.close(*ticket, result);
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
