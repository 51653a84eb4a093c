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

Response::Reader BrokerReply::response() const { return frame_->root().getResponse(); }

namespace {

constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);
using FrameChannel =
    asio::experimental::channel<void(boost::system::error_code, std::shared_ptr<const BrokerFrame>)>;
using OutboxChannel =
    asio::experimental::channel<void(boost::system::error_code, std::vector<std::byte>)>;

Error unavailable(std::string context) {
  return fail(ErrorKind::Unavailable, "dockerbox: the broker is not reachable", std::move(context));
}

}  // namespace

class IpcClient::Impl {
 public:
  Impl(asio::any_io_executor executor, UniqueFd channel)
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

  asio::awaitable<Result<BrokerReply>> call(capnp::MallocMessageBuilder& message,
                                            std::chrono::steady_clock::duration timeout) {
    if (!failed_.empty()) co_return unavailable(failed_);
    std::uint64_t id = nextId_++;
    message.getRoot<ipc::wire::WorkerMessage>().getRequest().setId(id);
    auto pending = std::make_shared<FrameChannel>(executor_, kFramesQueuedPerRequest);
    pending_[id] = pending;
    auto [sendError] = co_await outbox_.async_send({}, ipc::encodeFrame(message), kAwait);
    if (sendError) {
      pending_.erase(id);
      co_return unavailable("outbox closed");
    }
    asio::steady_timer timer(executor_, timeout);
    auto outcome = co_await (pending->async_receive(kAwait) || timer.async_wait(kAwait));
    pending_.erase(id);
    if (outcome.index() == 1) {
      close("no reply within the deadline");
      co_return unavailable("broker reply timed out");
    }
    auto [error, frame] = std::get<0>(std::move(outcome));
    if (error || !frame) co_return unavailable(failed_.empty() ? error.message() : failed_);
    co_return BrokerReply(std::move(frame));
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

  [[nodiscard]] bool alive() const { return failed_.empty(); }

 private:
  asio::awaitable<void> writeLoop() {
    for (;;) {
      auto [error, bytes] = co_await outbox_.async_receive(kAwait);
      if (error) co_return;
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
    std::uint64_t id = 0;
    try {
      frame = std::make_shared<const BrokerFrame>(std::move(words));
      auto root = frame->root();
      switch (root.which()) {
        case BrokerMessage::RESPONSE:
          // The result's union tag is checked by the call's renderer (finishCall): a
          // tag it does not expect becomes a 500 for that request only.
          id = root.getResponse().getId();
          break;
        case BrokerMessage::STREAM_OUTPUT:
          // TODO(soon): deliver chunks to streaming calls (logs, attach, exec).
          co_return "stream output for a request that cannot stream";
        default:
          co_return "unknown broker message";
      }
    } catch (const kj::Exception& e) {
      co_return std::string("malformed frame: ") + e.getDescription().cStr();
    }
    auto found = pending_.find(id);
    if (found == pending_.end()) co_return "reply for unknown request " + std::to_string(id);
    auto channel = found->second;
    auto [error] = co_await channel->async_send({}, std::move(frame), kAwait);
    (void)error;  // the call gave up (deadline); nothing waits for this reply
    co_return std::string();
  }

  asio::any_io_executor executor_;
  asio::local::stream_protocol::socket socket_;
  OutboxChannel outbox_;
  std::map<std::uint64_t, std::shared_ptr<FrameChannel>> pending_;
  std::uint64_t nextId_ = 1;
  std::string failed_;
};

IpcClient::IpcClient(asio::any_io_executor executor, UniqueFd channel)
    : impl_(std::make_unique<Impl>(std::move(executor), std::move(channel))) {}
IpcClient::~IpcClient() = default;

asio::awaitable<void> IpcClient::run() { return impl_->run(); }

asio::awaitable<Result<BrokerReply>> IpcClient::call(capnp::MallocMessageBuilder& message,
                                                     std::chrono::steady_clock::duration timeout) {
  return impl_->call(message, timeout);
}

void IpcClient::close(const std::string& why) { impl_->close(why); }
bool IpcClient::alive() const { return impl_->alive(); }

}  // namespace dockerbox::frontend
