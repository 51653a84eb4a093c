// Runs as root. Input: untrusted frames from one frontend worker.
#include "broker/channel.hpp"

#include "broker/decoder.hpp"
#include "broker/dispatch.hpp"
#include "broker/handlers.hpp"
#include "ipc/framing.hpp"
#include "ipc/limits.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <capnp/message.h>
#include <spdlog/spdlog.h>

#include <array>

namespace dockerbox::broker {
namespace {

namespace asio = boost::asio;

// Bytes read from the channel per read call; frames may span several reads.
constexpr std::size_t kReadChunk = 64 * 1024;

struct SlotGuard {
  ConnectionCounter& counter;
  uid_t uid;
  ~SlotGuard() { counter.release(uid); }
};

asio::awaitable<bool> sendFrame(asio::local::stream_protocol::socket& channel, capnp::MessageBuilder& message) {
  auto bytes = ipc::encodeFrame(message);
  boost::system::error_code ec;
  co_await asio::async_write(channel, asio::buffer(bytes), asio::redirect_error(asio::use_awaitable, ec));
  co_return !ec;
}

}  // namespace

bool ConnectionCounter::tryAcquire(uid_t uid) {
  auto& n = open_[uid];
  if (n >= maxPerUid_) return false;
  ++n;
  return true;
}

void ConnectionCounter::release(uid_t uid) {
  auto it = open_.find(uid);
  if (it == open_.end()) return;
  if (--it->second == 0) open_.erase(it);
}

std::size_t ConnectionCounter::count(uid_t uid) const {
  auto it = open_.find(uid);
  return it == open_.end() ? 0 : it->second;
}

asio::awaitable<void> serveWorker(Handlers& handlers, ConnectionCounter& counter,
                                  asio::local::stream_protocol::socket channel, Identity who) {
  SlotGuard slot{counter, who.uid};
  ipc::FrameDecoder decoder(ipc::kMaxWorkerFrameBytes);
  std::array<std::byte, kReadChunk> buffer{};
  for (;;) {
    boost::system::error_code ec;
    std::size_t n = co_await channel.async_read_some(asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (decoder.pending() != 0) {
        spdlog::warn("event=worker_truncated_frame {} pending={}", describe(who), decoder.pending());
      }
      co_return;  // EOF or error: the worker (and its client) is gone
    }
    if (auto fed = decoder.feed(std::span(buffer.data(), n)); !fed) {
      spdlog::warn("event=worker_protocol_violation {} error=\"{}\"", describe(who), fed.error().context);
      co_return;  // closing the channel is the answer to a hostile worker
    }
    for (;;) {
      auto frame = decoder.next();
      if (!frame) {
        spdlog::warn("event=worker_protocol_violation {} error=\"{}\"", describe(who), frame.error().context);
        co_return;
      }
      if (!*frame) break;
      auto message = decodeWorkerMessage(frame->value().asPtr());
      if (!message) {
        spdlog::warn("event=worker_protocol_violation {} error=\"{}\"", describe(who), message.error().context);
        co_return;
      }
      capnp::MallocMessageBuilder reply;
      auto response = reply.initRoot<ipc::wire::BrokerMessage>().initResponse();
      if (auto* request = std::get_if<ValidatedRequest>(&*message)) {
        response.setId(request->id);
        co_await dispatch(handlers, who, *request, response);
      } else if (auto* rejected = std::get_if<RejectedRequest>(&*message)) {
        response.setId(rejected->id);
        spdlog::info("event=request op={} uid={} outcome=rejected error=\"{}\"", rejected->operation, who.uid,
                     rejected->error.message);
        renderError(rejected->error, response.initResult());
      } else {
        continue;  // no stream is open: stray input and cancels are ignored
      }
      if (!co_await sendFrame(channel, reply)) co_return;
    }
  }
}

}  // namespace dockerbox::broker
