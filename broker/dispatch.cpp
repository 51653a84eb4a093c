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

asio::awaitable<void> dispatch(Handlers& handlers, Gate& gate, const Identity& who, const ValidatedRequest& request,
                               std::span<const capnp::word> frame, ipc::wire::BrokerMessage::Builder reply,
                               StreamSink& sink) {
  struct SetId {  // on every path, after the response is in place
    ipc::wire::BrokerMessage::Builder& reply;
    std::uint64_t id;
    ~SetId() { reply.getResponse().setId(id); }
  } setId{reply, request.id};
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
    renderError(ticket.error(), reply.initResponse().initResult());
    co_return;
  }
  Caller caller(who, authz.visibility, Grants{authz.privileged, authz.rootUser});
  // A create runs what was judged: resolved bind sources, injected limits (authz.hpp).
  if (const auto* create = std::get_if<CreateContainerOp>(&request.op)) {
    CreateContainerOp judged = *create;
    if (auto r = applyAuthorization(authz, judged); !r) {
      gate.close(*ticket, r);
      spdlog::error("event=request op={} uid={} outcome=internal error=\"{}\"", name, who.uid, r.error().context);
      renderError(r.error(), reply.initResponse().initResult());
      co_return;
    }
    caller.judgedConfig = containers::blobFromWords(judged.canonicalConfig);
  } else if (const auto* exec = std::get_if<CreateExecOp>(&request.op)) {
    caller.judgedConfig = containers::writeExecConfig(*exec);
  }
  // The monitor knows the caller of every act by this request's number (act_server.hpp).
  auto registered = handlers.callers().add(caller, name);
  Result<void> result = fail(ErrorKind::Internal, "internal error");
  bool answered = false;
  try {
    // The engine serves the request as judged: a create's config is the judged one.
    // The channel stays alive for this request even if the engine is replaced meanwhile.
    std::shared_ptr<RemoteEngine> engine = handlers.remoteEngine();
    if (engine && engine->open()) {
      auto outcome = co_await engine->run(caller, frame, caller.judgedConfig, sink, reply);
      answered = outcome.answered;
      result = std::move(outcome.result);
    } else {
      result = fail(ErrorKind::Unavailable, "the dockerbox engine is restarting; try again");
    }
  } catch (const std::exception& e) {
    // An exception is a failure of this request only: deny, log, keep serving (P8).
    result = fail(ErrorKind::Internal, "internal error", std::string("exception: ") + e.what());
  }
  gate.close(*ticket, result, std::move(caller.resolved));
  if (!result) {
    const auto& err = result.error();
    spdlog::info("event=request op={} uid={} outcome={} error=\"{}\" context=\"{}\"", name, who.uid,
                 toString(err.kind), err.message, err.context);
    if (!answered) renderError(err, reply.initResponse().initResult());  // the engine did not answer
    co_return;
  }
  spdlog::debug("event=request op={} uid={} outcome=ok", name, who.uid);
}

}  // namespace dockerbox::broker
