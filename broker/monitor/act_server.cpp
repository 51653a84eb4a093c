// Runs as root. Input: see act_server.hpp.
#include "broker/monitor/act_server.hpp"
#include "common/task.hpp"

#include "broker/minibox/image_ref.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <capnp/serialize.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <vector>

namespace dockerbox::broker::monitor {

namespace asio = boost::asio;
namespace wire = ipc::acts;
using containers::kActWindow;

/// Acts in flight on one channel at most: a bound on what the engine can make the monitor
/// hold (each running container holds one run act, so this is also the most containers one
/// engine can keep running at once).
constexpr std::size_t kMaxActsInFlight = 4096;
using containers::SealedRecord;
using containers::sealedRecordOf;
using containers::toWire;

CallerRegistry::Entry CallerRegistry::add(Caller& who, std::string_view operation) {
  who.requestId = next_++;
  callers_->insert_or_assign(who.requestId, Request{who, std::string(operation)});
  return Entry(callers_, who.requestId);
}

const CallerRegistry::Request* CallerRegistry::find(std::uint64_t requestId) const {
  auto found = callers_->find(requestId);
  return found == callers_->end() ? nullptr : &found->second;
}

struct ActServer::Shared {
  Shared(containers::MonitorPort& m, const CallerRegistry& c) : monitor(m), callers(c) {}
  containers::MonitorPort& monitor;
  const CallerRegistry& callers;
  std::shared_ptr<containers::ActLink> link;
  std::map<std::uint64_t, std::shared_ptr<Act>> acts;
  bool closed = false;

  void send(capnp::MallocMessageBuilder& message) {
    if (link && !closed) (void)link->send(message);
  }
  void sendError(std::uint64_t id, const Error& error) {
    capnp::MallocMessageBuilder message;
    auto reply = message.initRoot<wire::ActReply>();
    reply.setId(id);
    toWire(error, reply.initError());
    send(message);
  }
};

namespace {

using Reply = wire::ActReply::Builder;
using Which = wire::ActCall::Act::Which;

/// The acts each client operation may cause (by its audit name, dispatch.hpp). Reads of
/// miniboxd (list, probe, events, ...) need no request.
std::vector<Which> actsOf(std::string_view operation) {
  if (operation == "containers.create") return {Which::SEAL_CONTAINER, Which::CREATE_VOLUME};
  if (operation == "containers.start") return {Which::RUN};
  if (operation == "volumes.create") return {Which::CREATE_VOLUME};
  if (operation == "volumes.remove" || operation == "volumes.prune") return {Which::REMOVE_VOLUME};
  if (operation == "containers.restart") return {Which::SIGNAL, Which::STOP, Which::RUN};
  if (operation == "containers.stop" || operation == "containers.kill") return {Which::SIGNAL, Which::STOP};
  if (operation == "containers.remove") return {Which::SIGNAL, Which::STOP, Which::REMOVE_VOLUME};
  if (operation == "containers.pause") return {Which::PAUSE};
  if (operation == "containers.unpause") return {Which::RESUME};
  if (operation == "exec.create") return {Which::SEAL_EXEC};
  if (operation == "exec.start") return {Which::PREPARE_EXEC, Which::INPUT};
  if (operation == "exec.resize") return {Which::RESIZE_TERMINAL};
  if (operation == "images.pull") return {Which::RESOLVE_IMAGE, Which::PULL};
  if (operation == "images.remove") return {Which::REMOVE_IMAGE};
  if (operation == "containers.attach") return {Which::INPUT};
  if (operation == "system.auth") return {Which::RESOLVE_IMAGE};
  if (operation == "containers.resize") return {Which::RESIZE_TERMINAL};
  return {};
}

/// Sends an interim reply of act `id` once the engine has room for it (kActWindow); false
/// when the act or the channel is over.
asio::awaitable<bool> sendInterim(std::shared_ptr<ActServer::Shared> shared, std::shared_ptr<ActServer::Act> act,
                                  std::uint64_t id, std::function<void(Reply)> fill) {
  while (!shared->closed && act->unacked >= kActWindow) {
    if (co_await act->acked.wait() == containers::WakeReason::Cancelled) co_return false;
  }
  if (shared->closed) co_return false;
  ++act->unacked;
  capnp::MallocMessageBuilder message;
  auto reply = message.initRoot<wire::ActReply>();
  reply.setId(id);
  fill(reply);
  shared->send(message);
  co_return true;
}

/// Output of a run or exec as `output` interim replies of act `id`.
minibox::OutputHandler outputReplies(std::shared_ptr<ActServer::Shared> shared, std::shared_ptr<ActServer::Act> act,
                                     std::uint64_t id) {
  return [shared, act, id](minibox::OutputStream stream, std::vector<std::uint8_t> data) -> asio::awaitable<void> {
    std::function<void(Reply)> fill = [&stream, &data](Reply r) {
      auto out = r.initOutput();
      out.setStderr(stream == minibox::OutputStream::Stderr);
      out.setData(kj::arrayPtr(data.data(), data.size()));
    };
    (void)co_await sendInterim(shared, act, id, std::move(fill));
  };
}

/// A run's `created` and `output` interim replies of act `id`.
containers::RunHandlers runReplies(std::shared_ptr<ActServer::Shared> shared, std::shared_ptr<ActServer::Act> act,
                                   std::uint64_t id) {
  containers::RunHandlers handlers;
  handlers.onCreated = [shared, act, id](std::string miniboxId) -> asio::awaitable<void> {
    std::function<void(Reply)> fill = [&miniboxId](Reply r) { r.setCreated(miniboxId); };
    (void)co_await sendInterim(shared, act, id, std::move(fill));
  };
  handlers.onOutput = outputReplies(shared, act, id);
  handlers.onPublished = [shared, act, id](std::vector<containers::BoundPort> ports) -> asio::awaitable<void> {
    std::function<void(Reply)> fill = [&ports](Reply r) {
      auto list = r.initPublished(static_cast<unsigned>(ports.size()));
      for (unsigned i = 0; i < ports.size(); ++i) containers::toWire(ports[i], list[i]);
    };
    (void)co_await sendInterim(shared, act, id, std::move(fill));
  };
  return handlers;
}

}  // namespace

ActServer::ActServer(asio::any_io_executor executor, asio::local::stream_protocol::socket socket,
                     containers::MonitorPort& monitor, const CallerRegistry& callers)
    : executor_(std::move(executor)), shared_(std::make_shared<Shared>(monitor, callers)) {
  link_ = containers::ActLink::start(
      std::move(socket), [this](Frame frame) { onFrame(std::move(frame)); }, [this] { onClosed(); });
  shared_->link = link_;
}

ActServer::~ActServer() {
  link_->close();
  onClosed();
}

void ActServer::onClosed() {
  if (shared_->closed) return;
  shared_->closed = true;
  auto acts = std::move(shared_->acts);
  for (auto& [id, act] : acts) {
    act->cancel.emit(asio::cancellation_type::terminal);
    act->acked.notifyAll();
  }
}

namespace {

asio::awaitable<void> serve(std::shared_ptr<ActServer::Shared> shared, std::uint64_t id,
                            std::shared_ptr<ActServer::Act> act, kj::Array<capnp::word> frame) {
  struct Done {
    std::shared_ptr<ActServer::Shared> shared;
    std::uint64_t id;
    ~Done() { shared->acts.erase(id); }
  } done{shared, id};
  auto finish = [&](auto fill) {
    capnp::MallocMessageBuilder message;
    auto reply = message.initRoot<wire::ActReply>();
    reply.setId(id);
    fill(reply);
    shared->send(message);
  };
  auto failWith = [&](const Error& error) { shared->sendError(id, error); };
  try {
    capnp::FlatArrayMessageReader reader(frame, containers::actReaderOptions());
    auto call = reader.getRoot<wire::ActCall>();
    auto act_ = call.getAct();
    // The caller is the one the monitor bound to the named request, never one the engine
    // names, and only for an act that request's operation needs.
    const CallerRegistry::Request* bound = shared->callers.find(call.getRequest());
    std::optional<Caller> who;
    std::string operation;
    if (bound != nullptr) {
      who = bound->who;  // a run outlives its request: keep a copy
      operation = bound->operation;
    }
    // An input or a resize reaches an exec only for an exec's request, a run only for the
    // container's.
    auto needExecRequest = [&](bool forExec) -> bool {
      if (forExec == operation.starts_with("exec.")) return true;
      failWith(fail(ErrorKind::Forbidden, "denied: this request may not reach that program's terminal",
                    "request " + std::to_string(call.getRequest()) + " (" + operation + ")"));
      return false;
    };
    auto needCaller = [&]() -> bool {
      const auto allowed = actsOf(operation);
      if (who && std::find(allowed.begin(), allowed.end(), act_.which()) != allowed.end()) return true;
      failWith(fail(ErrorKind::Forbidden, "denied: no client request in flight needs this act",
                    "request " + std::to_string(call.getRequest()) + " (" + operation + ")"));
      return false;
    };
    auto& monitor = shared->monitor;
    switch (act_.which()) {
      case wire::ActCall::Act::LIST: {
        auto listed = co_await monitor.list();
        if (!listed) { failWith(listed.error()); co_return; }
        finish([&](Reply r) {
          auto out = r.initContainers(static_cast<unsigned>(listed->size()));
          for (unsigned i = 0; i < listed->size(); ++i) toWire((*listed)[i], out[i]);
        });
        co_return;
      }
      case wire::ActCall::Act::LIST_IMAGES: {
        auto listed = co_await monitor.listImages();
        if (!listed) { failWith(listed.error()); co_return; }
        finish([&](Reply r) {
          auto out = r.initImages(static_cast<unsigned>(listed->size()));
          for (unsigned i = 0; i < listed->size(); ++i) out.set(i, (*listed)[i]);
        });
        co_return;
      }
      case wire::ActCall::Act::PROBE: {
        auto protocol = co_await monitor.probe();
        if (!protocol) { failWith(protocol.error()); co_return; }
        finish([&](Reply r) { r.setProtocol(containers::toWire(*protocol)); });
        co_return;
      }
      case wire::ActCall::Act::CAN_CONFINE: {
        const bool confinable = co_await monitor.canConfine();
        finish([&](Reply r) { r.setConfinable(confinable); });
        co_return;
      }
      case wire::ActCall::Act::SUBSCRIBE_EVENTS: {
        minibox::EventHandler onEvent = [shared, act, id](minibox::ContainerEvent event) -> asio::awaitable<void> {
          std::function<void(Reply)> fill = [&event](Reply r) { toWire(event, r.initEvent()); };
          (void)co_await sendInterim(shared, act, id, std::move(fill));
        };
        auto ended = co_await monitor.subscribeEvents(onEvent);
        { failWith(ended ? fail(ErrorKind::Unavailable, "miniboxd's event stream ended") : ended.error()); co_return; }
      }
      case wire::ActCall::Act::SEAL_CONTAINER: {
        if (!needCaller()) co_return;
        auto in = act_.getSealContainer();
        auto config = in.getConfig();
        const std::string dockerId = in.getDockerId();
        const state::Blob blob(config.begin(), config.end());
        std::optional<containers::ImageDefaults> image;
        if (in.getHasImage()) {
          auto read = containers::imageDefaultsOf(in.getImage());
          if (!read) { failWith(read.error()); co_return; }
          image = std::move(*read);
        }
        auto seal = co_await monitor.sealContainer(*who, dockerId, blob, image);
        if (!seal) { failWith(seal.error()); co_return; }
        finish([&](Reply r) { r.setSeal(*seal); });
        co_return;
      }
      case wire::ActCall::Act::SEAL_EXEC: {
        if (!needCaller()) co_return;
        auto in = act_.getSealExec();
        auto config = in.getConfig();
        const std::string execId = in.getExecId();
        const SealedRecord container = sealedRecordOf(in.getContainer());
        const state::Blob blob(config.begin(), config.end());
        auto seal = co_await monitor.sealExec(*who, execId, container, blob);
        if (!seal) { failWith(seal.error()); co_return; }
        finish([&](Reply r) { r.setSeal(*seal); });
        co_return;
      }
      case wire::ActCall::Act::PULL:
      case wire::ActCall::Act::REMOVE_IMAGE: {
        if (!needCaller()) co_return;
        const bool pull = act_.which() == wire::ActCall::Act::PULL;
        auto ref = minibox::ImageRef::parse(pull ? act_.getPull().cStr() : act_.getRemoveImage().cStr());
        if (!ref) { failWith(ref.error()); co_return; }
        Result<void> acted;
        minibox::ImageRef image = *ref;
        if (pull) {
          acted = co_await monitor.pull(*who, std::move(image));
        } else {
          acted = co_await monitor.removeImage(*who, std::move(image));
        }
        if (!acted) { failWith(acted.error()); co_return; }
        finish([](Reply r) { r.setDone(); });
        co_return;
      }
      case wire::ActCall::Act::CREATE_VOLUME: {
        if (!needCaller()) co_return;
        auto made = co_await monitor.createVolume(*who, act_.getCreateVolume());
        if (!made) { failWith(made.error()); co_return; }
        finish([&](Reply r) { r.setVolumeCreated(*made); });
        co_return;
      }
      case wire::ActCall::Act::REMOVE_VOLUME: {
        if (!needCaller()) co_return;
        auto removed = co_await monitor.removeVolume(*who, act_.getRemoveVolume());
        if (!removed) { failWith(removed.error()); co_return; }
        finish([](Reply r) { r.setDone(); });
        co_return;
      }
      case wire::ActCall::Act::RESOLVE_IMAGE: {
        if (!needCaller()) co_return;
        auto in = act_.getResolveImage();
        // A login checks credentials only; a pull resolves images: neither request may do the other's.
        if (in.getLogin() != (operation == "system.auth")) {
          failWith(fail(ErrorKind::Forbidden, "denied: no client request in flight needs this act",
                        "resolveImage login=" + std::to_string(in.getLogin()) + " for " + operation));
          co_return;
        }
        std::string reference = in.getReference();
        std::string platform = in.getPlatform();
        containers::RegistryCredentials credentials{in.getUsername(), in.getPassword()};
        auto resolved =
            co_await monitor.resolveImage(*who, std::move(reference), std::move(platform), std::move(credentials),
                                          in.getLogin());
        if (!resolved) { failWith(resolved.error()); co_return; }
        // Copied, not read: the engine verifies the digests (ipc/registry.capnp).
        finish([&](Reply r) {
          auto out = r.initResolved();
          out.setReference(resolved->reference);
          out.setRepoDigest(resolved->repoDigest);
          out.setManifestDigest(resolved->manifestDigest);
          out.setManifest(kj::arrayPtr(reinterpret_cast<const kj::byte*>(resolved->manifest.data()), resolved->manifest.size()));
          out.setIndex(kj::arrayPtr(reinterpret_cast<const kj::byte*>(resolved->index.data()), resolved->index.size()));
          out.setConfigDigest(resolved->configDigest);
          out.setConfig(kj::arrayPtr(reinterpret_cast<const kj::byte*>(resolved->config.data()), resolved->config.size()));
        });
        co_return;
      }
      case wire::ActCall::Act::RUN: {
        if (!needCaller()) co_return;
        containers::RunHandlers handlers = runReplies(shared, act, id);
        // Coroutine arguments are named values (g++ 12 and temporaries, see service_exec.cpp).
        SealedRecord record = sealedRecordOf(act_.getRun());
        auto exit = co_await monitor.run(*who, std::move(record), std::move(handlers));
        if (!exit) { failWith(exit.error()); co_return; }
        finish([&](Reply r) { r.setExitCode(*exit); });
        co_return;
      }
      case wire::ActCall::Act::RESTART_RUN: {
        // No caller: the monitor runs it for the sealed owner, if the seal says it may.
        containers::RunHandlers handlers = runReplies(shared, act, id);
        SealedRecord record = sealedRecordOf(act_.getRestartRun());
        auto exit = co_await monitor.restartRun(std::move(record), std::move(handlers));
        if (!exit) { failWith(exit.error()); co_return; }
        finish([&](Reply r) { r.setExitCode(*exit); });
        co_return;
      }
      case wire::ActCall::Act::HEALTH_CHECK: {
        // No caller: the monitor runs the sealed config's check for the sealed owner.
        auto in = act_.getHealthCheck();
        SealedRecord record = sealedRecordOf(in.getContainer());
        std::string miniboxId = in.getMiniboxId();
        minibox::OutputHandler onOutput = outputReplies(shared, act, id);
        auto exit = co_await monitor.healthCheck(std::move(record), std::move(miniboxId), onOutput);
        if (!exit) { failWith(exit.error()); co_return; }
        finish([&](Reply r) { r.setExitCode(*exit); });
        co_return;
      }
      case wire::ActCall::Act::PREPARE_EXEC: {
        if (!needCaller()) co_return;
        auto in = act_.getPrepareExec();
        SealedRecord container = sealedRecordOf(in.getContainer());
        SealedRecord exec = sealedRecordOf(in.getExec());
        std::string miniboxId = in.getMiniboxId();
        auto ticket = co_await monitor.prepareExec(*who, std::move(container), std::move(miniboxId), std::move(exec));
        if (!ticket) { failWith(ticket.error()); co_return; }
        finish([&](Reply r) { r.setTicket(*ticket); });
        co_return;
      }
      case wire::ActCall::Act::RUN_EXEC: {
        minibox::OutputHandler onOutput = outputReplies(shared, act, id);
        auto exit = co_await monitor.runExec(act_.getRunExec(), onOutput);
        if (!exit) { failWith(exit.error()); co_return; }
        finish([&](Reply r) { r.setExitCode(*exit); });
        co_return;
      }
      case wire::ActCall::Act::SIGNAL: {
        if (!needCaller()) co_return;
        auto in = act_.getSignal();
        auto record = sealedRecordOf(in.getContainer());
        std::string miniboxId = in.getMiniboxId();
        auto sent = co_await monitor.signal(*who, std::move(record), std::move(miniboxId), in.getSignal());
        if (!sent) { failWith(sent.error()); co_return; }
        finish([](Reply r) { r.setDone(); });
        co_return;
      }
      case wire::ActCall::Act::STOP:
      case wire::ActCall::Act::PAUSE:
      case wire::ActCall::Act::RESUME: {
        if (!needCaller()) co_return;
        const auto kind = act_.which();
        auto in = kind == wire::ActCall::Act::STOP    ? act_.getStop()
                  : kind == wire::ActCall::Act::PAUSE ? act_.getPause()
                                                      : act_.getResume();
        auto record = sealedRecordOf(in.getContainer());
        std::string miniboxId = in.getMiniboxId();
        Result<void> acted;
        if (kind == wire::ActCall::Act::STOP) {
          acted = co_await monitor.stop(*who, std::move(record), std::move(miniboxId));
        } else if (kind == wire::ActCall::Act::PAUSE) {
          acted = co_await monitor.pause(*who, std::move(record), std::move(miniboxId));
        } else {
          acted = co_await monitor.resume(*who, std::move(record), std::move(miniboxId));
        }
        if (!acted) { failWith(acted.error()); co_return; }
        finish([](Reply r) { r.setDone(); });
        co_return;
      }
      case wire::ActCall::Act::INPUT: {
        if (!needCaller()) co_return;
        auto in = act_.getInput();
        auto bytes = in.getData();
        if (bytes.size() > containers::kMaxInputChunk) { failWith(fail(ErrorKind::BadRequest, "input chunk too large")); co_return; }
        if (!needExecRequest(in.hasExec())) co_return;
        SealedRecord record = sealedRecordOf(in.getContainer());
        SealedRecord exec = in.hasExec() ? sealedRecordOf(in.getExec()) : SealedRecord{};
        std::vector<std::uint8_t> data(bytes.begin(), bytes.end());
        auto written = co_await monitor.input(*who, std::move(record), std::move(exec), std::move(data), in.getClose());
        if (!written) { failWith(written.error()); co_return; }
        finish([](Reply r) { r.setDone(); });
        co_return;
      }
      case wire::ActCall::Act::RESIZE_TERMINAL: {
        if (!needCaller()) co_return;
        auto in = act_.getResizeTerminal();
        if (!needExecRequest(in.hasExec())) co_return;
        SealedRecord record = sealedRecordOf(in.getContainer());
        SealedRecord exec = in.hasExec() ? sealedRecordOf(in.getExec()) : SealedRecord{};
        auto resized = co_await monitor.resizeTerminal(*who, std::move(record), std::move(exec), in.getRows(), in.getCols());
        if (!resized) { failWith(resized.error()); co_return; }
        finish([](Reply r) { r.setDone(); });
        co_return;
      }
      default: { failWith(fail(ErrorKind::BadRequest, "unknown act")); co_return; }
    }
  } catch (const kj::Exception& e) {
    shared->sendError(id, fail(ErrorKind::BadRequest, "malformed act", e.getDescription().cStr()));
  } catch (const std::exception& e) {
    // A cancelled act (the engine went away) ends here too: nothing is left to answer.
    shared->sendError(id, fail(ErrorKind::Internal, "internal error", e.what()));
  }
}

}  // namespace

void ActServer::onFrame(Frame frame) {
  std::uint64_t id = 0;
  wire::ActCall::Act::Which which{};
  try {
    capnp::FlatArrayMessageReader reader(frame, containers::actReaderOptions());
    auto call = reader.getRoot<wire::ActCall>();
    id = call.getId();
    which = call.getAct().which();
    switch (which) {
      case wire::ActCall::Act::ACK:
        if (auto found = shared_->acts.find(id); found != shared_->acts.end() && found->second->unacked > 0) {
          --found->second->unacked;
          found->second->acked.notifyAll();
        }
        return;
      case wire::ActCall::Act::CANCEL:
        if (auto found = shared_->acts.find(id); found != shared_->acts.end()) {
          found->second->cancel.emit(asio::cancellation_type::terminal);
          found->second->acked.notifyAll();
        }
        return;
      case wire::ActCall::Act::DROP_EXEC: shared_->monitor.dropExec(call.getAct().getDropExec()); return;
      default: break;
    }
  } catch (const kj::Exception& e) {
    spdlog::error("event=acts_call_refused error=\"{}\"", e.getDescription().cStr());
    link_->close();
    onClosed();
    return;
  }
  if (shared_->acts.contains(id)) {
    shared_->sendError(id, fail(ErrorKind::BadRequest, "act id in use"));
    return;
  }
  if (shared_->acts.size() >= kMaxActsInFlight) {
    spdlog::warn("event=acts_refused reason=too_many_in_flight limit={}", kMaxActsInFlight);
    shared_->sendError(id, fail(ErrorKind::Unavailable, "dockerbox is at its limit of running containers and "
                                                        "operations in flight"));
    return;
  }
  auto act = std::make_shared<Act>(executor_);
  shared_->acts.emplace(id, act);
  // The completion handler keeps the Act (and its cancellation signal) alive until Asio has
  // detached the coroutine from the slot.
  asio::co_spawn(executor_, serve(shared_, id, act, std::move(frame)),
                 asio::bind_cancellation_slot(act->cancel.slot(), [act](const std::exception_ptr& thrown) {
                   reportTaskException("act", thrown);
                 }));
}

}  // namespace dockerbox::broker::monitor
