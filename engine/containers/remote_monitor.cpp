// Input: the monitor's replies on the acts channel (see remote_monitor.hpp).
#include "engine/containers/remote_monitor.hpp"

#include <capnp/serialize.h>
#include <spdlog/spdlog.h>

namespace dockerbox::broker::containers {

namespace asio = boost::asio;
namespace wire = ipc::acts;

namespace {

Error channelClosed() { return fail(ErrorKind::Unavailable, "dockerbox's monitor is not reachable"); }

Error unexpected(const char* act) {
  return fail(ErrorKind::Internal, "internal error", std::string("acts: unexpected reply to ") + act);
}

/// Hands an `output` interim reply of a run or exec to `onOutput`. The bytes are a named
/// value moved in: g++ 12 bitwise-copies a coroutine argument materialized from a temporary
/// (see service_exec.cpp).
asio::awaitable<Result<void>> deliverOutput(ipc::acts::ActReply::Reader reply, const minibox::OutputHandler& onOutput,
                                            const char* act) {
  if (!reply.isOutput()) co_return unexpected(act);
  auto data = reply.getOutput().getData();
  const auto stream = reply.getOutput().getStderr() ? minibox::OutputStream::Stderr : minibox::OutputStream::Stdout;
  std::vector<std::uint8_t> bytes(data.begin(), data.end());
  co_await onOutput(stream, std::move(bytes));
  co_return Result<void>();
}

}  // namespace

RemoteMonitor::RemoteMonitor(asio::any_io_executor executor, asio::local::stream_protocol::socket socket,
                             std::function<void()> whenClosed)
    : executor_(std::move(executor)), closedCallback_(std::move(whenClosed)) {
  link_ = ActLink::start(
      std::move(socket), [this](Frame frame) { onFrame(std::move(frame)); }, [this] { onClosed(); });
}

RemoteMonitor::~RemoteMonitor() {
  closedCallback_ = nullptr;
  link_->close();
}

void RemoteMonitor::onFrame(Frame frame) {
  std::uint64_t id = 0;
  try {
    capnp::FlatArrayMessageReader reader(frame, actReaderOptions());
    id = reader.getRoot<wire::ActReply>().getId();
  } catch (const kj::Exception& e) {
    spdlog::error("event=acts_reply_refused error=\"{}\"", e.getDescription().cStr());
    link_->close();
    onClosed();
    return;
  }
  auto found = pending_->find(id);
  if (found == pending_->end()) return;  // an act that was cancelled meanwhile
  found->second->replies.push_back(std::move(frame));
  found->second->changed.notifyAll();
}

void RemoteMonitor::onClosed() {
  for (auto& [id, pending] : *pending_) {
    pending->closed = true;
    pending->changed.notifyAll();
  }
  if (auto done = std::move(closedCallback_)) done();
}

std::unique_ptr<RemoteMonitor::Call> RemoteMonitor::begin(std::uint64_t request) {
  auto call = std::make_unique<Call>();
  call->id = nextId_++;
  call->root.setId(call->id);
  call->root.setRequest(request);
  return call;
}

void RemoteMonitor::post(Call& call) { (void)link_->send(call.message); }

asio::awaitable<Result<RemoteMonitor::Final>> RemoteMonitor::roundTrip(Call& call, const InterimHandler& onInterim) {
  auto pending = std::make_shared<Pending>(executor_);
  (*pending_)[call.id] = pending;
  struct Forget {
    std::shared_ptr<PendingMap> map;
    std::uint64_t id;
    ~Forget() { map->erase(id); }
  } forget{pending_, call.id};
  if (!link_->send(call.message)) co_return channelClosed();
  for (;;) {
    while (!pending->replies.empty()) {
      Final reply{std::move(pending->replies.front()), nullptr};
      pending->replies.pop_front();
      Reply root;
      try {
        reply.reader = std::make_unique<capnp::FlatArrayMessageReader>(reply.frame, actReaderOptions());
        root = reply.get();
        switch (root.which()) {
          case wire::ActReply::CREATED:
          case wire::ActReply::PUBLISHED:
          case wire::ActReply::OUTPUT:
          case wire::ActReply::EVENT: break;
          case wire::ActReply::ERROR: co_return errorOf(root.getError());
          default: co_return std::move(reply);
        }
      } catch (const kj::Exception& e) {
        co_return fail(ErrorKind::Internal, "internal error", std::string("acts: ") + e.getDescription().cStr());
      }
      // An interim reply: handled, then acknowledged (the monitor's window for this act).
      Result<void> handled = unexpected("a quick act");
      if (onInterim) handled = co_await onInterim(root);
      Call ack;
      ack.root.setId(call.id);
      ack.root.getAct().setAck();
      post(ack);
      if (!handled) {
        Call cancel;
        cancel.root.setId(call.id);
        cancel.root.getAct().setCancel();
        post(cancel);
        co_return handled.error();
      }
    }
    if (pending->closed) co_return channelClosed();
    if (co_await pending->changed.wait() == WakeReason::Cancelled) {
      Call cancel;
      cancel.root.setId(call.id);
      cancel.root.getAct().setCancel();
      post(cancel);
      co_return fail(ErrorKind::Unavailable, "the client went away");
    }
  }
}

asio::awaitable<Result<std::vector<minibox::ContainerInfo>>> RemoteMonitor::list() {
  auto call = begin(0);
  call->root.getAct().setList();
  auto reply = co_await roundTrip(*call);
  if (!reply) co_return reply.error();
  auto root = reply->get();
  if (!root.isContainers()) co_return unexpected("list");
  std::vector<minibox::ContainerInfo> out;
  for (auto info : root.getContainers()) {
    auto one = containerInfoOf(info);
    if (!one) co_return one.error();
    out.push_back(std::move(*one));
  }
  co_return out;
}

asio::awaitable<Result<std::vector<std::string>>> RemoteMonitor::listImages() {
  auto call = begin(0);
  call->root.getAct().setListImages();
  auto reply = co_await roundTrip(*call);
  if (!reply) co_return reply.error();
  auto root = reply->get();
  if (!root.isImages()) co_return unexpected("listImages");
  std::vector<std::string> out;
  for (auto name : root.getImages()) out.emplace_back(name);
  co_return out;
}

asio::awaitable<Result<minibox::Protocol>> RemoteMonitor::probe() {
  auto call = begin(0);
  call->root.getAct().setProbe();
  auto reply = co_await roundTrip(*call);
  if (!reply) co_return reply.error();
  auto root = reply->get();
  if (!root.isProtocol()) co_return unexpected("probe");
  co_return protocolOf(root.getProtocol());
}

asio::awaitable<Result<void>> RemoteMonitor::subscribeEvents(minibox::EventHandler onEvent) {
  auto call = begin(0);
  call->root.getAct().setSubscribeEvents();
  InterimHandler interim = [&onEvent](Reply reply) -> asio::awaitable<Result<void>> {
    if (!reply.isEvent()) co_return unexpected("subscribeEvents");
    auto event = containerEventOf(reply.getEvent());
    if (!event) co_return event.error();
    minibox::ContainerEvent named = std::move(*event);  // see run()
    co_await onEvent(std::move(named));
    co_return Result<void>();
  };
  auto reply = co_await roundTrip(*call, interim);
  if (!reply) co_return reply.error();
  co_return fail(ErrorKind::Unavailable, "miniboxd's event stream ended");
}

asio::awaitable<bool> RemoteMonitor::canConfine() {
  auto call = begin(0);
  call->root.getAct().setCanConfine();
  auto reply = co_await roundTrip(*call);
  co_return reply && reply->get().isConfinable() && reply->get().getConfinable();
}

asio::awaitable<Result<std::string>> RemoteMonitor::sealContainer(const Caller& who, const std::string& dockerId,
                                                                  const state::Blob& config,
                                                                  const std::optional<ImageDefaults>& image) {
  auto call = begin(who.requestId);
  auto act = call->root.getAct().initSealContainer();
  act.setDockerId(dockerId);
  act.setConfig(kj::arrayPtr(config.data(), config.size()));
  if (image) {
    act.setHasImage(true);
    toWire(*image, act.initImage());
  }
  auto reply = co_await roundTrip(*call);
  if (!reply) co_return reply.error();
  if (!reply->get().isSeal()) co_return unexpected("sealContainer");
  co_return std::string(reply->get().getSeal());
}

asio::awaitable<Result<std::string>> RemoteMonitor::sealExec(const Caller& who, const std::string& execId,
                                                             const SealedRecord& container, const state::Blob& config) {
  auto call = begin(who.requestId);
  auto act = call->root.getAct().initSealExec();
  act.setExecId(execId);
  toWire(container, act.initContainer());
  act.setConfig(kj::arrayPtr(config.data(), config.size()));
  auto reply = co_await roundTrip(*call);
  if (!reply) co_return reply.error();
  if (!reply->get().isSeal()) co_return unexpected("sealExec");
  co_return std::string(reply->get().getSeal());
}

asio::awaitable<Result<void>> RemoteMonitor::pull(const Caller& who, minibox::ImageRef ref) {
  auto call = begin(who.requestId);
  call->root.getAct().setPull(ref.registry() + "/" + ref.path() + ":" + ref.tag());
  auto reply = co_await roundTrip(*call);
  if (!reply) co_return reply.error();
  if (!reply->get().isDone()) co_return unexpected("pull");
  co_return Result<void>();
}

asio::awaitable<Result<void>> RemoteMonitor::removeImage(const Caller& who, minibox::ImageRef ref) {
  auto call = begin(who.requestId);
  call->root.getAct().setRemoveImage(ref.registry() + "/" + ref.path() + ":" + ref.tag());
  auto reply = co_await roundTrip(*call);
  if (!reply) co_return reply.error();
  if (!reply->get().isDone()) co_return unexpected("removeImage");
  co_return Result<void>();
}

asio::awaitable<Result<bool>> RemoteMonitor::createVolume(const Caller& who, std::string name) {
  auto call = begin(who.requestId);
  call->root.getAct().setCreateVolume(name);
  auto reply = co_await roundTrip(*call);
  if (!reply) co_return reply.error();
  if (!reply->get().isVolumeCreated()) co_return unexpected("createVolume");
  co_return reply->get().getVolumeCreated();
}

asio::awaitable<Result<void>> RemoteMonitor::removeVolume(const Caller& who, std::string name) {
  auto call = begin(who.requestId);
  call->root.getAct().setRemoveVolume(name);
  auto reply = co_await roundTrip(*call);
  if (!reply) co_return reply.error();
  if (!reply->get().isDone()) co_return unexpected("removeVolume");
  co_return Result<void>();
}

asio::awaitable<Result<ResolvedImage>> RemoteMonitor::resolveImage(const Caller& who, std::string reference,
                                                                   std::string platform,
                                                                   RegistryCredentials credentials, bool loginOnly) {
  auto call = begin(who.requestId);
  auto act = call->root.getAct().initResolveImage();
  act.setLogin(loginOnly);
  act.setReference(reference);
  act.setPlatform(platform);
  act.setUsername(credentials.username);
  act.setPassword(credentials.password);
  auto reply = co_await roundTrip(*call);
  if (!reply) co_return reply.error();
  if (!reply->get().isResolved()) co_return unexpected("resolveImage");
  auto in = reply->get().getResolved();
  auto bytes = [](capnp::Data::Reader d) { return std::string(d.asChars().begin(), d.asChars().end()); };
  ResolvedImage out;
  out.reference = in.getReference();
  out.repoDigest = in.getRepoDigest();
  out.manifestDigest = in.getManifestDigest();
  out.manifest = bytes(in.getManifest());
  out.index = bytes(in.getIndex());
  out.configDigest = in.getConfigDigest();
  out.config = bytes(in.getConfig());
  co_return out;
}

asio::awaitable<Result<std::int32_t>> RemoteMonitor::run(const Caller& who, SealedRecord container,
                                                         RunHandlers handlers) {
  auto call = begin(who.requestId);
  toWire(container, call->root.getAct().initRun());
  co_return co_await runReplies(*call, std::move(handlers));
}

asio::awaitable<Result<std::int32_t>> RemoteMonitor::restartRun(SealedRecord container, RunHandlers handlers) {
  auto call = begin(0);
  toWire(container, call->root.getAct().initRestartRun());
  co_return co_await runReplies(*call, std::move(handlers));
}

asio::awaitable<Result<std::int32_t>> RemoteMonitor::runReplies(Call& call, RunHandlers handlers) {
  InterimHandler interim = [&handlers](Reply reply) -> asio::awaitable<Result<void>> {
    // Arguments are named values moved in: g++ 12 bitwise-copies a coroutine argument
    // materialized from a temporary (see service_exec.cpp).
    if (reply.isCreated()) {
      std::string miniboxId(reply.getCreated());
      co_await handlers.onCreated(std::move(miniboxId));
      co_return Result<void>();
    }
    if (reply.isPublished()) {
      std::vector<BoundPort> ports;
      for (auto port : reply.getPublished()) ports.push_back(boundPortOf(port));
      if (handlers.onPublished) co_await handlers.onPublished(std::move(ports));
      co_return Result<void>();
    }
    co_return co_await deliverOutput(reply, handlers.onOutput, "run");
  };
  auto reply = co_await roundTrip(call, interim);
  if (!reply) co_return reply.error();
  if (!reply->get().isExitCode()) co_return unexpected("run");
  co_return reply->get().getExitCode();
}

asio::awaitable<Result<std::uint64_t>> RemoteMonitor::prepareExec(const Caller& who, SealedRecord container,
                                                                  std::string miniboxId, SealedRecord exec) {
  auto call = begin(who.requestId);
  auto act = call->root.getAct().initPrepareExec();
  toWire(container, act.initContainer());
  act.setMiniboxId(miniboxId);
  toWire(exec, act.initExec());
  auto reply = co_await roundTrip(*call);
  if (!reply) co_return reply.error();
  if (!reply->get().isTicket()) co_return unexpected("prepareExec");
  co_return reply->get().getTicket();
}

asio::awaitable<Result<std::int32_t>> RemoteMonitor::runExec(std::uint64_t ticket, minibox::OutputHandler onOutput) {
  auto call = begin(0);
  call->root.getAct().setRunExec(ticket);
  co_return co_await execReplies(*call, std::move(onOutput));
}

asio::awaitable<Result<std::int32_t>> RemoteMonitor::healthCheck(SealedRecord container, std::string miniboxId,
                                                                 minibox::OutputHandler onOutput) {
  auto call = begin(0);
  auto act = call->root.getAct().initHealthCheck();
  toWire(container, act.initContainer());
  act.setMiniboxId(miniboxId);
  co_return co_await execReplies(*call, std::move(onOutput));
}

asio::awaitable<Result<std::int32_t>> RemoteMonitor::execReplies(Call& call, minibox::OutputHandler onOutput) {
  InterimHandler interim = [&onOutput](Reply reply) -> asio::awaitable<Result<void>> {
    co_return co_await deliverOutput(reply, onOutput, "runExec");
  };
  auto reply = co_await roundTrip(call, interim);
  if (!reply) co_return reply.error();
  if (!reply->get().isExitCode()) co_return unexpected("runExec");
  co_return reply->get().getExitCode();
}

void RemoteMonitor::dropExec(std::uint64_t ticket) {
  auto call = begin(0);
  call->root.getAct().setDropExec(ticket);
  post(*call);
}

asio::awaitable<Result<void>> RemoteMonitor::input(const Caller& who, SealedRecord container, SealedRecord exec,
                                                   std::vector<std::uint8_t> data, bool close) {
  auto call = begin(who.requestId);
  auto in = call->root.getAct().initInput();
  toWire(container, in.initContainer());
  if (!exec.id.empty()) toWire(exec, in.initExec());
  in.setData(kj::arrayPtr(data.data(), data.size()));
  in.setClose(close);
  auto reply = co_await roundTrip(*call);
  if (!reply) co_return reply.error();
  if (!reply->get().isDone()) co_return unexpected("input");
  co_return Result<void>();
}

asio::awaitable<Result<void>> RemoteMonitor::resizeTerminal(const Caller& who, SealedRecord container,
                                                            SealedRecord exec, std::uint16_t rows, std::uint16_t cols) {
  auto call = begin(who.requestId);
  auto in = call->root.getAct().initResizeTerminal();
  toWire(container, in.initContainer());
  if (!exec.id.empty()) toWire(exec, in.initExec());
  in.setRows(rows);
  in.setCols(cols);
  auto reply = co_await roundTrip(*call);
  if (!reply) co_return reply.error();
  if (!reply->get().isDone()) co_return unexpected("resizeTerminal");
  co_return Result<void>();
}

asio::awaitable<Result<void>> RemoteMonitor::onRun(const Caller& who, wire::ActCall::Act::Which which,
                                                   SealedRecord container, std::string miniboxId) {
  auto call = begin(who.requestId);
  auto act = call->root.getAct();
  auto target = which == wire::ActCall::Act::STOP    ? act.initStop()
                : which == wire::ActCall::Act::PAUSE ? act.initPause()
                                                     : act.initResume();
  toWire(container, target.initContainer());
  target.setMiniboxId(miniboxId);
  auto reply = co_await roundTrip(*call);
  if (!reply) co_return reply.error();
  if (!reply->get().isDone()) co_return unexpected("stop, pause or resume");
  co_return Result<void>();
}

asio::awaitable<Result<void>> RemoteMonitor::stop(const Caller& who, SealedRecord container, std::string miniboxId) {
  co_return co_await onRun(who, wire::ActCall::Act::STOP, std::move(container), std::move(miniboxId));
}

asio::awaitable<Result<void>> RemoteMonitor::signal(const Caller& who, SealedRecord container, std::string miniboxId,
                                                    int signal) {
  auto call = begin(who.requestId);
  auto in = call->root.getAct().initSignal();
  toWire(container, in.initContainer());
  in.setMiniboxId(miniboxId);
  in.setSignal(signal);
  auto reply = co_await roundTrip(*call);
  if (!reply) co_return reply.error();
  if (!reply->get().isDone()) co_return unexpected("signal");
  co_return Result<void>();
}

asio::awaitable<Result<void>> RemoteMonitor::pause(const Caller& who, SealedRecord container, std::string miniboxId) {
  co_return co_await onRun(who, wire::ActCall::Act::PAUSE, std::move(container), std::move(miniboxId));
}

asio::awaitable<Result<void>> RemoteMonitor::resume(const Caller& who, SealedRecord container, std::string miniboxId) {
  co_return co_await onRun(who, wire::ActCall::Act::RESUME, std::move(container), std::move(miniboxId));
}

}  // namespace dockerbox::broker::containers
