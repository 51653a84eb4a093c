// Input: the monitor's calls (see engine_server.hpp).
#include "engine/engine_server.hpp"
#include "common/task.hpp"

#include "broker/containers/config_blob.hpp"
#include "broker/containers/notifier.hpp"
#include "broker/decode_fields.hpp"
#include "broker/decoder.hpp"
#include "ipc/engine.capnp.h"
#include "ipc/limits.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <capnp/serialize.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <deque>
#include <functional>
#include <exception>

namespace dockerbox::engine {

namespace asio = boost::asio;
namespace eng = ipc::engine;
using broker::Caller;
using broker::containers::kActWindow;
using broker::containers::WakeReason;

struct EngineServer::Request {
  explicit Request(asio::any_io_executor executor) : changed(std::move(executor)) {}
  std::uint64_t id = 0;
  asio::cancellation_signal cancel;
  broker::containers::Notifier changed;  // an ack or an input arrived, or the channel closed
  std::size_t unacked = 0;
  bool wantsInput = false;
  std::deque<std::optional<broker::StreamInput>> inputs;  // answers to wantInput
  bool cancelled = false;
};

struct EngineServer::Shared {
  Shared(asio::any_io_executor e, Engine& en) : executor(std::move(e)), engine(en) {}
  asio::any_io_executor executor;
  Engine& engine;
  std::shared_ptr<broker::containers::ActLink> link;
  std::map<std::uint64_t, std::shared_ptr<Request>> requests;
  bool closed = false;
  std::function<void()> onClosed;  // called once, when the channel is over

  void send(capnp::MessageBuilder& message) {
    if (link) (void)link->send(message);
  }
};

namespace {

using Shared = EngineServer::Shared;
using Request = EngineServer::Request;

/// The sink of one request: interim replies within the window, stdin pulled from the monitor.
class ChannelSink final : public broker::StreamSink {
 public:
  ChannelSink(std::shared_ptr<Shared> shared, std::shared_ptr<Request> request)
      : shared_(std::move(shared)), request_(std::move(request)) {}

  // The window is waited for inline in each method: g++ 12 resumed a nested member
  // coroutine of this class (a shared "wait for room" helper) in an invalid state.
  asio::awaitable<bool> accepted() override {
    while (windowFull()) {
      if (co_await request_->changed.wait() == WakeReason::Cancelled) co_return false;
    }
    if (!usable()) co_return false;
    ++request_->unacked;
    reply([](eng::EngineReply::Builder r) { r.setAccepted(); });
    co_return true;
  }

  asio::awaitable<bool> output(broker::OutputKind kind, std::span<const std::byte> data,
                               std::int64_t timeNanos) override {
    do {
      auto part = data.first(std::min(data.size(), ipc::kMaxChunkBytes));
      data = data.subspan(part.size());
      while (windowFull()) {
        if (co_await request_->changed.wait() == WakeReason::Cancelled) co_return false;
      }
      if (!usable()) co_return false;
      ++request_->unacked;
      reply([&](eng::EngineReply::Builder r) {
        auto out = r.initOutput();
        out.setStderr(kind == broker::OutputKind::Stderr);
        out.setData(kj::arrayPtr(reinterpret_cast<const kj::byte*>(part.data()), part.size()));
        out.setTimeNanos(timeNanos);
      });
    } while (!data.empty());
    co_return true;
  }

  asio::awaitable<bool> event(const broker::EventRecord& e) override {
    while (windowFull()) {
      if (co_await request_->changed.wait() == WakeReason::Cancelled) co_return false;
    }
    if (!usable()) co_return false;
    ++request_->unacked;
    reply([&e](eng::EngineReply::Builder r) { broker::toWire(e, r.initEvent()); });
    co_return true;
  }

  asio::awaitable<std::optional<broker::StreamInput>> input() override {
    if (!usable()) co_return std::nullopt;
    request_->wantsInput = true;
    reply([](eng::EngineReply::Builder r) { r.setWantInput(); });  // not a coroutine
    while (request_->inputs.empty()) {
      if (!usable() || co_await request_->changed.wait() == WakeReason::Cancelled) {
        request_->wantsInput = false;
        co_return std::nullopt;
      }
    }
    auto next = std::move(request_->inputs.front());
    request_->inputs.pop_front();
    request_->wantsInput = false;
    co_return next;
  }

 private:
  [[nodiscard]] bool usable() const { return !shared_->closed && !request_->cancelled; }

  using Fill = std::function<void(eng::EngineReply::Builder)>;

  void reply(const Fill& fill) {
    capnp::MallocMessageBuilder message;
    auto root = message.initRoot<eng::EngineReply>();
    root.setId(request_->id);
    fill(root);
    shared_->send(message);
  }

  /// This request has kActWindow interim replies unacknowledged (and may still send).
  [[nodiscard]] bool windowFull() const { return usable() && request_->unacked >= kActWindow; }

  std::shared_ptr<Shared> shared_;
  std::shared_ptr<Request> request_;
};

policy::Visibility visibilityOf(eng::Principal::Visibility v) {
  switch (v) {
    case eng::Principal::Visibility::GROUP: return policy::Visibility::Group;
    case eng::Principal::Visibility::ALL: return policy::Visibility::All;
    default: return policy::Visibility::Own;
  }
}

/// The caller the monitor named: who they are and what the deciding rule granted.
Caller callerOf(std::uint64_t id, eng::Principal::Reader p) {
  broker::Identity who;
  who.uid = p.getUid();
  who.gid = p.getGid();
  for (auto g : p.getGroups()) who.groups.push_back(g);
  Caller caller(std::move(who), visibilityOf(p.getVisibility()),
                broker::Grants{p.getPrivileged() ? policy::Privileged::Allowed : policy::Privileged::Denied,
                               p.getRootUserAllowed() ? policy::RootUser::Allowed : policy::RootUser::Denied});
  caller.requestId = id;
  return caller;
}

/// The operation the monitor judged: the worker's frame decoded by the one door; a create
/// takes the config as judged instead of the frame's.
Result<broker::Operation> operationOf(eng::EngineRequest::Reader request) {
  auto bytes = request.getFrame();
  if (bytes.size() % sizeof(capnp::word) != 0) return fail(ErrorKind::Internal, "internal error", "unaligned frame");
  auto words = kj::heapArray<capnp::word>(bytes.size() / sizeof(capnp::word));
  std::memcpy(words.begin(), bytes.begin(), bytes.size());
  auto message = broker::decodeWorkerMessage(words.asPtr());
  if (!message) return message.error();
  auto* validated = std::get_if<broker::ValidatedRequest>(&*message);
  if (validated == nullptr) return fail(ErrorKind::Internal, "internal error", "the frame is not a valid request");
  if (std::holds_alternative<broker::CreateContainerOp>(validated->op)) {
    auto judged = request.getJudgedConfig();
    broker::state::Blob blob(judged.begin(), judged.end());
    auto op = broker::containers::readStoredCreate(
        blob, [](ipc::wire::ContainerConfig::Reader in) { return broker::decode::createContainer(in); });
    if (!op) return op.error();
    // The stored config is the judged bytes themselves (the monitor seals only those), not a
    // re-encoding of them.
    if (blob.size() % sizeof(std::uint64_t) != 0) return fail(ErrorKind::Internal, "internal error", "unaligned config");
    op->canonicalConfig.assign(blob.size() / sizeof(std::uint64_t), 0);
    std::memcpy(op->canonicalConfig.data(), blob.data(), blob.size());
    return broker::Operation(std::in_place_type<broker::CreateContainerOp>, std::move(*op));
  }
  return std::move(validated->op);
}

asio::awaitable<void> serve(std::shared_ptr<Shared> shared, std::shared_ptr<Request> request, Caller caller,
                            broker::Operation op) {
  ChannelSink sink(shared, request);
  capnp::MallocMessageBuilder message;
  auto root = message.initRoot<eng::EngineReply>();
  root.setId(request->id);
  auto response = root.initDone().initResponse();
  Result<void> result = fail(ErrorKind::Internal, "internal error");
  try {
    result = co_await shared->engine.run(caller, op, sink, response.initResult());
  } catch (const std::exception& e) {
    result = fail(ErrorKind::Internal, "internal error", std::string("exception: ") + e.what());
  }
  co_await asio::this_coro::reset_cancellation_state();  // the answer goes out regardless
  if (!result) {
    if (!result.error().context.empty()) {
      spdlog::debug("event=engine_request id={} error=\"{}\" context=\"{}\"", request->id, result.error().message,
                    result.error().context);
    }
    renderError(result.error(), response.initResult());
  }
  auto resolved = root.getDone().initResolved(static_cast<unsigned>(caller.resolved.size()));
  for (unsigned i = 0; i < caller.resolved.size(); ++i) {
    resolved[i].setType(caller.resolved[i].type);
    resolved[i].setId(caller.resolved[i].id);
    resolved[i].setName(caller.resolved[i].name);
  }
  shared->send(message);
  shared->requests.erase(request->id);
}

/// The channel is over: every request in flight ends (its sink refuses, it is cancelled).
void channelClosed(Shared& shared) {
  if (shared.closed) return;
  shared.closed = true;
  for (auto& [id, request] : shared.requests) {
    request->cancel.emit(asio::cancellation_type::terminal);
    request->changed.notifyAll();
  }
  if (auto done = std::move(shared.onClosed)) done();
}

void onCall(const std::shared_ptr<Shared>& shared, kj::Array<capnp::word> frame) {
  try {
    capnp::FlatArrayMessageReader reader(frame, broker::containers::actReaderOptions());
    auto call = reader.getRoot<eng::EngineCall>();
    const std::uint64_t id = call.getId();
    auto found = shared->requests.find(id);
    std::shared_ptr<Request> request = found == shared->requests.end() ? nullptr : found->second;
    switch (call.which()) {
      case eng::EngineCall::REQUEST: {
        if (request) throw std::invalid_argument("a second request under one id");
        auto op = operationOf(call.getRequest());
        if (!op) {
          // The monitor judged what it decoded; the same door refusing it here is a bug.
          spdlog::error("event=engine_request_refused id={} error=\"{}\"", id, op.error().context);
          capnp::MallocMessageBuilder message;
          auto root = message.initRoot<eng::EngineReply>();
          root.setId(id);
          renderError(fail(ErrorKind::Internal, "internal error"), root.initDone().initResponse().initResult());
          shared->send(message);
          return;
        }
        auto fresh = std::make_shared<Request>(shared->executor);
        fresh->id = id;
        Caller caller = callerOf(id, call.getRequest().getCaller());
        shared->requests[id] = fresh;
        asio::co_spawn(shared->executor, serve(shared, fresh, std::move(caller), std::move(*op)),
                       // The handler keeps the request (and its cancellation signal) alive until
                       // Asio has detached the finished coroutine from the slot.
                       asio::bind_cancellation_slot(fresh->cancel.slot(), [fresh](const std::exception_ptr& thrown) {
                         reportTaskException("engine request", thrown);
                       }));
        return;
      }
      case eng::EngineCall::INPUT:
      case eng::EngineCall::NO_INPUT: {
        if (!request || !request->wantsInput || !request->inputs.empty()) return;  // stale
        if (call.isNoInput()) {
          request->inputs.emplace_back(std::nullopt);
        } else {
          auto data = call.getInput().getData();
          if (data.size() > ipc::kMaxChunkBytes) throw std::invalid_argument("a stdin chunk over the limit");
          broker::StreamInput in;
          in.requestId = id;
          in.data.assign(reinterpret_cast<const std::byte*>(data.begin()),
                         reinterpret_cast<const std::byte*>(data.end()));
          in.end = call.getInput().getEnd();
          request->inputs.emplace_back(std::move(in));
        }
        request->changed.notifyAll();
        return;
      }
      case eng::EngineCall::CANCEL:
        if (!request || request->cancelled) return;
        request->cancelled = true;
        request->cancel.emit(asio::cancellation_type::terminal);
        request->changed.notifyAll();
        return;
      case eng::EngineCall::ACK:
        if (!request || request->unacked == 0) return;
        --request->unacked;
        request->changed.notifyAll();
        return;
      default: throw std::invalid_argument("an unknown call");
    }
  } catch (const kj::Exception& e) {
    spdlog::error("event=engine_call_refused error=\"{}\"", e.getDescription().cStr());
  } catch (const std::exception& e) {
    spdlog::error("event=engine_call_refused error=\"{}\"", e.what());
  }
  if (shared->link) shared->link->close();  // silences the link's own onClosed
  channelClosed(*shared);
}

}  // namespace

EngineServer::EngineServer(asio::any_io_executor executor, asio::local::stream_protocol::socket socket,
                           Engine& engine, std::function<void()> onClosed)
    : shared_(std::make_shared<Shared>(executor, engine)) {
  shared_->onClosed = std::move(onClosed);
  std::weak_ptr<Shared> weak = shared_;
  shared_->link = broker::containers::ActLink::start(
      std::move(socket),
      [weak](kj::Array<capnp::word> frame) {
        if (auto shared = weak.lock()) onCall(shared, std::move(frame));
      },
      [weak] {
        if (auto shared = weak.lock()) channelClosed(*shared);
      });
}

EngineServer::~EngineServer() {
  shared_->onClosed = nullptr;
  if (shared_->link) shared_->link->close();
}

}  // namespace dockerbox::engine
