#include "frontend/ipc_client.hpp"

#include "frontend/limits.hpp"
#include "ipc/framing.hpp"
#include "ipc/limits.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <capnp/serialize.h>
#include <kj/exception.h>
#include <spdlog/spdlog.h>

#include <map>
#include <set>
#include <span>
#include <vector>

namespace dockerbox::frontend {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using ipc::wire::BrokerMessage;
using ipc::wire::Response;

class BrokerFrame {
 public:
  explicit BrokerFrame(kj::Array<capnp::word>&& words)
      : words_(std::move(words)),
        reader_(words_.asPtr(), ipc::readerOptions(kBrokerTraversalLimitWords)) {}
  [[nodiscard]] BrokerMessage::Reader root() const {
    return reader_.getRoot<BrokerMessage>();
  }

 private:
  kj::Array<capnp::word> words_;  // declared first: the reader points into it
  mutable capnp::FlatArrayMessageReader reader_;  // getRoot() is not const in capnp
};

BrokerMessage::Reader BrokerReply::message() const { return frame_->root(); }
Response::Reader BrokerReply::response() const { return frame_->root().getResponse(); }
bool BrokerReply::isFinal() const { return frame_->root().which() == BrokerMessage::RESPONSE; }

namespace {

constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);
using FrameChannel =
    asio::experimental::channel<void(boost::system::error_code, std::shared_ptr<const BrokerFrame>)>;
using OutboxChannel =
    asio::experimental::channel<void(boost::system::error_code, std::vector<std::byte>)>;

Error unavailable(std::string context) {
  return fail(ErrorKind::Unavailable, "dockerbox: the broker is not reachable", std::move(context));
}

/// The request id a broker frame belongs to. Throws kj::Exception on a malformed frame.
std::optional<std::uint64_t> requestIdOf(BrokerMessage::Reader root) {
  switch (root.which()) {
    case BrokerMessage::RESPONSE: return root.getResponse().getId();
    case BrokerMessage::STREAM_OUTPUT: return root.getStreamOutput().getRequestId();
    case BrokerMessage::ACCEPTED: return root.getAccepted();
    case BrokerMessage::EVENT: return root.getEvent().getRequestId();
  }
  return std::nullopt;  // a tag this worker does not know: capnp does not check unions
}

}  // namespace

class IpcChannel : public std::enable_shared_from_this<IpcChannel> {
 public:
  IpcChannel(asio::any_io_executor executor, UniqueFd channel)
      : executor_(executor), socket_(executor), outbox_(executor, kOutgoingFramesQueued) {
    boost::system::error_code ec;
    socket_.assign(asio::local::stream_protocol(), channel.get(), ec);
    if (ec) {
      failed_ = "assign: " + ec.message();
    } else {
      (void)channel.release();  // the socket owns it now
    }
  }

  asio::awaitable<void> run() {
    if (!failed_.empty()) co_return;
    asio::co_spawn(executor_, writeLoop(), asio::detached);
    co_await readLoop();
  }

  /// Assigns an id, registers the call and queues its request.
  asio::awaitable<Result<std::uint64_t>> send(capnp::MallocMessageBuilder& message) {
    if (!failed_.empty()) co_return unavailable(failed_);
    std::uint64_t id = nextId_++;
    message.getRoot<ipc::wire::WorkerMessage>().getRequest().setId(id);
    auto frame = ipc::encodeFrame(message);
    // A body within kMaxBodyBytes can still expand (a list of many tiny strings costs a
    // pointer and a word each): refuse here rather than have the broker drop the channel.
    if (frame.size() > ipc::kMaxWorkerFrameBytes) {
      co_return fail(ErrorKind::BadRequest, "request too large for dockerbox", "frame of " + std::to_string(frame.size()) + " bytes");
    }
    pending_[id] = std::make_shared<FrameChannel>(executor_, kFramesQueuedPerRequest);
    auto [sendError] = co_await outbox_.async_send({}, std::move(frame), kAwait);
    if (sendError) {
      forget(id);
      co_return unavailable("outbox closed");
    }
    co_return id;
  }

  /// The next frame for `id`, or an error when the channel is gone or the deadline passed.
  asio::awaitable<Result<BrokerReply>> receive(
      std::uint64_t id, std::optional<std::chrono::steady_clock::duration> timeout) {
    auto found = pending_.find(id);
    if (found == pending_.end()) co_return unavailable(failed_.empty() ? "call ended" : failed_);
    auto channel = found->second;  // keeps it alive while waiting
    std::shared_ptr<const BrokerFrame> frame;
    if (timeout) {
      asio::steady_timer timer(executor_, *timeout);
      auto outcome = co_await (channel->async_receive(kAwait) || timer.async_wait(kAwait));
      if (outcome.index() == 1) {
        close("no reply within the deadline");
        co_return unavailable("broker reply timed out");
      }
      auto [error, received] = std::get<0>(std::move(outcome));
      if (error) co_return unavailable(failed_.empty() ? error.message() : failed_);
      frame = std::move(received);
    } else {
      auto [error, received] = co_await channel->async_receive(kAwait);
      if (error) co_return unavailable(failed_.empty() ? error.message() : failed_);
      frame = std::move(received);
    }
    if (!frame) co_return unavailable("empty frame");
    co_return BrokerReply(std::move(frame));
  }

  asio::awaitable<bool> sendInput(std::uint64_t id, std::span<const char> data, bool end) {
    if (!failed_.empty()) co_return false;
    capnp::MallocMessageBuilder message;
    auto chunk = message.initRoot<ipc::wire::WorkerMessage>().initStreamInput();
    chunk.setRequestId(id);
    chunk.setKind(ipc::wire::StreamKind::STDIN);
    chunk.setData(kj::arrayPtr(reinterpret_cast<const kj::byte*>(data.data()), data.size()));
    chunk.setEnd(end);
    auto [error] = co_await outbox_.async_send({}, ipc::encodeFrame(message), kAwait);
    co_return !error;
  }

  /// Stops waiting for `id`: its remaining frames, up to the final response, are dropped.
  void cancel(std::uint64_t id) {
    forget(id);
    if (!failed_.empty()) return;
    draining_.insert(id);
    capnp::MallocMessageBuilder message;
    message.initRoot<ipc::wire::WorkerMessage>().setCancel(id);
    auto self = shared_from_this();
    asio::co_spawn(executor_, [self, frame = ipc::encodeFrame(message)]() mutable -> asio::awaitable<void> {
      auto [ignored] = co_await self->outbox_.async_send({}, std::move(frame), kAwait);
      (void)ignored;  // the channel is gone: the broker cancels everything on its own then
    }, asio::detached);
  }

  /// Forgets a call (after its final response, or when it gave up).
  void forget(std::uint64_t id) {
    auto found = pending_.find(id);
    if (found == pending_.end()) return;
    found->second->close();  // a reader blocked on a full queue moves on
    pending_.erase(found);
  }

  void close(const std::string& why) {
    if (failed_.empty()) {
      failed_ = why.empty() ? "closed" : why;
      spdlog::info("event=ipc_closed reason={}", failed_);
    }
    boost::system::error_code ignored;
    socket_.close(ignored);
    outbox_.close();
    for (auto& [id, channel] : pending_) channel->close();  // waiting calls see Unavailable
  }

  /// Closes once every frame queued so far is written (a cancel for the broker, say), or
  /// after kIpcDrainTimeout if the broker does not take them.
  void closeAfterPending(const std::string& why) {
    if (!failed_.empty() || closing_) return;
    closing_ = true;
    auto self = shared_from_this();
    asio::co_spawn(executor_, [self, why]() -> asio::awaitable<void> {
      asio::steady_timer deadline(self->executor_, kIpcDrainTimeout);
      // An empty frame is the writer's cue to close (encodeFrame never returns one).
      auto done = co_await (self->outbox_.async_send({}, std::vector<std::byte>{}, kAwait) ||
                            deadline.async_wait(kAwait));
      if (done.index() == 1) {
        self->close(why + " (pending frames dropped)");
        co_return;
      }
      self->closeReason_ = why;
    }, asio::detached);
  }

  [[nodiscard]] bool alive() const { return failed_.empty(); }

 private:
  asio::awaitable<void> writeLoop() {
    for (;;) {
      auto [error, bytes] = co_await outbox_.async_receive(kAwait);
      if (error) co_return;
      if (bytes.empty()) {
        close(closeReason_);
        co_return;
      }
      auto [writeError, written] = co_await asio::async_write(socket_, asio::buffer(bytes), kAwait);
      if (writeError) {
        close("write: " + writeError.message());
        co_return;
      }
    }
  }

  asio::awaitable<void> readLoop() {
    ipc::FrameDecoder decoder(ipc::kMaxBrokerFrameBytes);
    std::vector<std::byte> chunk(kIpcReadChunkBytes);
    for (;;) {
      auto [error, got] = co_await socket_.async_read_some(asio::buffer(chunk), kAwait);
      if (error) {
        close(error == asio::error::eof ? "broker closed the channel" : "read: " + error.message());
        co_return;
      }
      if (auto fed = decoder.feed(std::span(chunk.data(), got)); !fed) {
        close("frame refused: " + fed.error().context);
        co_return;
      }
      for (;;) {
        auto next = decoder.next();
        if (!next) {
          close("frame refused: " + next.error().context);
          co_return;
        }
        if (!*next) break;
        if (auto routed = co_await route(std::move(**next)); !routed.empty()) {
          close(routed);
          co_return;
        }
      }
    }
  }

  /// Hands one frame to the call it belongs to. Returns a reason when the frame breaks the
  /// protocol (the channel is then closed).
  asio::awaitable<std::string> route(kj::Array<capnp::word>&& words) {
    std::shared_ptr<const BrokerFrame> frame;
    std::optional<std::uint64_t> id;
    bool final = false;
    try {
      frame = std::make_shared<const BrokerFrame>(std::move(words));
      // The response's result tag is checked by the call's renderer: a tag it does not
      // expect becomes a 500 for that request only.
      id = requestIdOf(frame->root());
      final = frame->root().which() == BrokerMessage::RESPONSE;
    } catch (const kj::Exception& e) {
      co_return std::string("malformed frame: ") + e.getDescription().cStr();
    }
    if (!id) co_return "unknown broker message";
    auto found = pending_.find(*id);
    if (found == pending_.end()) {
      // A cancelled stream: the broker may still be sending; its final response ends it.
      if (auto draining = draining_.find(*id); draining != draining_.end()) {
        if (final) draining_.erase(draining);
        co_return std::string();
      }
      co_return "frame for unknown request " + std::to_string(*id);
    }
    auto channel = found->second;
    // Waits while the call's queue is full: back-pressure for a client that reads slowly.
    auto [error] = co_await channel->async_send({}, std::move(frame), kAwait);
    (void)error;  // the call gave up (deadline, client gone); nothing waits for this frame
    co_return std::string();
  }

  asio::any_io_executor executor_;
  asio::local::stream_protocol::socket socket_;
  OutboxChannel outbox_;
  std::map<std::uint64_t, std::shared_ptr<FrameChannel>> pending_;
  std::set<std::uint64_t> draining_;
  std::uint64_t nextId_ = 1;
  std::string failed_;
  bool closing_ = false;
  std::string closeReason_ = "closed";
};

StreamCall::StreamCall(std::weak_ptr<IpcChannel> channel, std::uint64_t id)
    : channel_(std::move(channel)), id_(id) {}

StreamCall::~StreamCall() {
  if (finished_) return;
  cancel();
}

asio::awaitable<Result<BrokerReply>> StreamCall::next(
    std::optional<std::chrono::steady_clock::duration> timeout) {
  auto channel = channel_.lock();
  if (!channel || finished_ || cancelled_) co_return unavailable("stream ended");
  auto reply = co_await channel->receive(id_, timeout);
  if (reply && reply->isFinal()) {
    finished_ = true;
    channel->forget(id_);
  }
  co_return reply;
}

asio::awaitable<bool> StreamCall::sendInput(std::span<const char> data, bool end) {
  auto channel = channel_.lock();
  if (!channel || finished_ || cancelled_) co_return false;
  co_return co_await channel->sendInput(id_, data, end);
}

void StreamCall::cancel() {
  if (finished_ || cancelled_) return;
  cancelled_ = true;
  if (auto channel = channel_.lock()) channel->cancel(id_);
}

IpcClient::IpcClient(asio::any_io_executor executor, UniqueFd channel)
    : impl_(std::make_shared<IpcChannel>(std::move(executor), std::move(channel))) {}
IpcClient::~IpcClient() = default;

asio::awaitable<void> IpcClient::run() { return impl_->run(); }

asio::awaitable<Result<BrokerReply>> IpcClient::call(capnp::MallocMessageBuilder& message,
                                                     std::chrono::steady_clock::duration timeout) {
  auto id = co_await impl_->send(message);
  if (!id) co_return id.error();
  auto reply = co_await impl_->receive(*id, timeout);
  impl_->forget(*id);
  if (reply && !reply->isFinal()) {
    // Stream frames for a plain call: the broker and this worker disagree on the protocol.
    impl_->close("stream frame for a plain call");
    co_return unavailable("stream frame for a plain call");
  }
  co_return reply;
}

asio::awaitable<Result<std::unique_ptr<StreamCall>>> IpcClient::openStream(
    capnp::MallocMessageBuilder& message) {
  auto id = co_await impl_->send(message);
  if (!id) co_return id.error();
  co_return std::make_unique<StreamCall>(impl_, *id);
}

void IpcClient::close(const std::string& why) { impl_->close(why); }
void IpcClient::closeAfterPending(const std::string& why) { impl_->closeAfterPending(why); }
bool IpcClient::alive() const { return impl_->alive(); }

}  // namespace dockerbox::frontend
