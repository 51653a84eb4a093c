// Runs as root. Input: untrusted frames from one frontend worker.
//
// One reader loop per channel: it decodes every frame through the one door, starts at most
// one request at a time, feeds that request the client's stdin chunks (with backpressure:
// the reader waits while the request's inbox is full) and cancels it when the worker says
// the client went away or the channel closes. Every frame to the worker goes through one
// outbox drained by one writer, so stream chunks and responses never interleave.
#include "broker/channel.hpp"
#include "common/task.hpp"

#include "broker/decoder.hpp"
#include "broker/dispatch.hpp"
#include "broker/gate.hpp"
#include "broker/handlers.hpp"
#include "broker/stream.hpp"
#include "ipc/framing.hpp"
#include "ipc/limits.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <capnp/message.h>
#include <spdlog/spdlog.h>

#include <array>
#include <cstring>
#include <memory>

namespace dockerbox::broker {
namespace {

namespace asio = boost::asio;
namespace wire = ipc::wire;
using Frame = std::vector<std::byte>;
using Outbox = asio::experimental::channel<void(boost::system::error_code, Frame)>;
using Inbox = asio::experimental::channel<void(boost::system::error_code, StreamInput)>;

// Bytes read from the channel per read call; frames may span several reads.
constexpr std::size_t kReadChunk = 64 * 1024;
// Frames waiting for the writer. A handler that produces faster than the worker reads
// waits here, which slows miniboxd down in turn (its queues are bounded too).
constexpr std::size_t kOutboxFrames = 64;
// Stdin chunks waiting for the handler; the reader stops reading the channel when full.
constexpr std::size_t kInboxChunks = 16;

struct SlotGuard {
  ConnectionCounter& counter;
  uid_t uid;
  ~SlotGuard() { counter.release(uid); }
};

/// What one channel shares between its reader, its writer and its running request.
struct ChannelState final : ChannelSet::Member {
  ChannelState(asio::local::stream_protocol::socket s, Identity w, std::shared_ptr<ChannelSet> set)
      : socket(std::move(s)), who(std::move(w)), outbox(socket.get_executor(), kOutboxFrames), channels(std::move(set)) {}

  void endStreams() override {
    if (!active || !streaming) return;
    endedByDrain = true;
    if (cancel) cancel->emit(asio::cancellation_type::terminal);
    if (inbox) inbox->close();
  }
  // A stream the shutdown ended is done when its worker closes the channel: the worker may
  // still be writing the end of the stream to its client, and it dies with the broker.
  [[nodiscard]] bool idle() const override { return !active && !writing && !outbox.ready() && !drainedStream; }

  asio::local::stream_protocol::socket socket;
  Identity who;
  Outbox outbox;
  std::shared_ptr<ChannelSet> channels;
  bool writing = false;  // the writer has a frame on its way
  // The request in flight, if any.
  bool active = false;
  bool streaming = false;     // it has begun a stream (the worker sent the head)
  bool endedByDrain = false;  // the shutdown ended its stream
  bool drainedStream = false; // a stream of this channel was ended by the shutdown
  std::uint64_t activeId = 0;
  // One signal per request, kept alive by the request's completion handler: Asio clears the
  // coroutine's slot after the frame is gone, and a signal reused by the next request (or
  // freed with the channel) would be written after its handler was destroyed.
  std::shared_ptr<asio::cancellation_signal> cancel;
  std::unique_ptr<Inbox> inbox;
};

/// Streams a shutdown ends with a clean end of stream rather than an error.
bool endsAsStream(const Operation& op) {
  return std::holds_alternative<ContainerLogsOp>(op) || std::holds_alternative<AttachContainerOp>(op) ||
         std::holds_alternative<EventsOp>(op) || std::holds_alternative<StartExecOp>(op);
}

class ChannelSink final : public StreamSink {
 public:
  ChannelSink(std::shared_ptr<ChannelState> state, std::uint64_t id) : state_(std::move(state)), id_(id) {}

  asio::awaitable<bool> accepted() override {
    state_->streaming = true;
    capnp::MallocMessageBuilder message;
    message.initRoot<wire::BrokerMessage>().setAccepted(id_);
    const bool pushed = co_await push(message);
    if (pushed && state_->channels->draining()) {
      state_->endedByDrain = true;  // begun during the shutdown: ends at once, cleanly
      co_return false;
    }
    co_return pushed;
  }

  asio::awaitable<bool> output(OutputKind kind, std::span<const std::byte> data, std::int64_t timeNanos) override {
    do {
      auto part = data.first(std::min(data.size(), ipc::kMaxChunkBytes));
      data = data.subspan(part.size());
      capnp::MallocMessageBuilder message;
      auto chunk = message.initRoot<wire::BrokerMessage>().initStreamOutput();
      chunk.setRequestId(id_);
      chunk.setKind(kind == OutputKind::Stdout ? wire::StreamKind::STDOUT : wire::StreamKind::STDERR);
      chunk.setData(kj::arrayPtr(reinterpret_cast<const kj::byte*>(part.data()), part.size()));
      chunk.setTimeNanos(timeNanos);
      if (!co_await push(message)) co_return false;
    } while (!data.empty());
    co_return true;
  }

  asio::awaitable<bool> event(const EventRecord& e) override {
    capnp::MallocMessageBuilder message;
    auto out = message.initRoot<wire::BrokerMessage>().initEvent();
    out.setRequestId(id_);
    toWire(e, out);
    co_return co_await push(message);
  }

  asio::awaitable<std::optional<StreamInput>> input() override {
    if (!state_->inbox || !state_->inbox->is_open()) co_return std::nullopt;
    boost::system::error_code ec;
    StreamInput in = co_await state_->inbox->async_receive(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return std::nullopt;
    co_return in;
  }

 private:
  asio::awaitable<bool> push(capnp::MessageBuilder& message) {
    boost::system::error_code ec;
    co_await state_->outbox.async_send(boost::system::error_code{}, ipc::encodeFrame(message),
                                       asio::redirect_error(asio::use_awaitable, ec));
    co_return !ec;
  }

  std::shared_ptr<ChannelState> state_;
  std::uint64_t id_;
};

asio::awaitable<void> writer(std::shared_ptr<ChannelState> state) {
  for (;;) {
    boost::system::error_code ec;
    Frame frame = co_await state->outbox.async_receive(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    state->writing = true;
    co_await asio::async_write(state->socket, asio::buffer(frame), asio::redirect_error(asio::use_awaitable, ec));
    state->writing = false;
    state->channels->check();
    if (ec) {
      state->outbox.close();
      boost::system::error_code ignored;
      state->socket.shutdown(asio::socket_base::shutdown_both, ignored);
      co_return;
    }
  }
}

asio::awaitable<void> runRequest(Handlers& handlers, Gate& gate, std::shared_ptr<ChannelState> state,
                                 ValidatedRequest request, kj::Array<capnp::word> frame) {
  ChannelSink sink(state, request.id);
  capnp::MallocMessageBuilder reply;
  auto message = reply.initRoot<wire::BrokerMessage>();
  co_await dispatch(handlers, gate, state->who, request, std::span<const capnp::word>(frame.begin(), frame.size()),
                    message, sink);
  // A cancelled coroutine throws from its next co_await: the response must still go out
  // (the shutdown ended the stream; a client that left is simply not there to read it).
  co_await asio::this_coro::reset_cancellation_state();
  auto response = message.getResponse();
  state->drainedStream = state->endedByDrain;
  if (state->endedByDrain && response.getResult().isError()) {
    // Not the client's doing: a stream ends as it would at its natural end, anything else
    // says why it stopped.
    if (endsAsStream(request.op)) {
      response.initResult().setStreamEnded();
    } else {
      renderError(fail(ErrorKind::Unavailable, "dockerbox is shutting down"), response.initResult());
    }
  }
  boost::system::error_code ec;
  co_await state->outbox.async_send(boost::system::error_code{}, ipc::encodeFrame(reply),
                                    asio::redirect_error(asio::use_awaitable, ec));
  state->active = false;
  state->streaming = false;
  state->endedByDrain = false;
  if (state->inbox) state->inbox->close();
  state->inbox.reset();
  state->channels->check();
}

void reject(Gate& gate, const std::shared_ptr<ChannelState>& state, const RejectedRequest& rejected) {
  gate.recordRejected(state->who, rejected.operation, rejected.error);
  spdlog::info("event=request op={} uid={} outcome=rejected error=\"{}\"", rejected.operation, state->who.uid,
               rejected.error.message);
  capnp::MallocMessageBuilder reply;
  auto response = reply.initRoot<wire::BrokerMessage>().initResponse();
  response.setId(rejected.id);
  renderError(rejected.error, response.initResult());
  // try_send: the outbox only fills while a stream is active, and then this is a violation.
  state->outbox.try_send(boost::system::error_code{}, ipc::encodeFrame(reply));
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

void ChannelSet::drain(std::function<void()> whenIdle) {
  draining_ = true;
  whenIdle_ = std::move(whenIdle);
  // endStreams() may end a request synchronously: iterate over a copy.
  const auto members = members_;
  for (auto* m : members) m->endStreams();
  check();
}

void ChannelSet::remove(Member* member) {
  members_.erase(member);
  check();
}

void ChannelSet::check() {
  if (!draining_ || !whenIdle_) return;
  for (const auto* m : members_) {
    if (!m->idle()) return;
  }
  auto done = std::move(whenIdle_);
  whenIdle_ = nullptr;
  done();
}

asio::awaitable<void> serveWorker(Handlers& handlers, Gate& gate, ConnectionCounter& counter,
                                  std::shared_ptr<ChannelSet> channels, asio::local::stream_protocol::socket channel,
                                  Identity who) {
  SlotGuard slot{counter, who.uid};
  auto executor = channel.get_executor();
  auto state = std::make_shared<ChannelState>(std::move(channel), std::move(who), channels);
  struct Membership {
    ChannelSet& set;
    ChannelState* member;
    ~Membership() { set.remove(member); }
  } membership{*channels, state.get()};
  channels->add(state.get());
  asio::co_spawn(executor, writer(state), logFailure("worker writer"));
  auto violation = [&](const std::string& what) {
    spdlog::warn("event=worker_protocol_violation {} error=\"{}\"", describe(state->who), what);
  };

  ipc::FrameDecoder decoder(ipc::kMaxWorkerFrameBytes);
  std::array<std::byte, kReadChunk> buffer{};
  for (bool open = true; open;) {
    boost::system::error_code ec;
    std::size_t n = co_await state->socket.async_read_some(asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (decoder.pending() != 0) violation("truncated frame at end of channel");
      break;  // EOF or error: the worker (and its client) is gone
    }
    if (auto fed = decoder.feed(std::span(buffer.data(), n)); !fed) {
      violation(fed.error().context);
      break;  // closing the channel is the answer to a hostile worker
    }
    for (;;) {
      auto frame = decoder.next();
      if (!frame) {
        violation(frame.error().context);
        open = false;
        break;
      }
      if (!*frame) break;
      auto message = decodeWorkerMessage(frame->value().asPtr());
      if (!message) {
        violation(message.error().context);
        open = false;
        break;
      }
      if (auto* request = std::get_if<ValidatedRequest>(&*message)) {
        if (state->active) {
          violation("a second request while one is in flight");
          open = false;
          break;
        }
        if (channels->draining()) {
          reject(gate, state, RejectedRequest{request->id, operationName(request->op),
                                              fail(ErrorKind::Unavailable, "dockerbox is shutting down")});
          continue;
        }
        state->active = true;
        state->activeId = request->id;
        state->inbox = std::make_unique<Inbox>(executor, kInboxChunks);
        state->cancel = std::make_shared<asio::cancellation_signal>();
        asio::co_spawn(executor, runRequest(handlers, gate, state, std::move(*request), std::move(frame->value())),
                       asio::bind_cancellation_slot(state->cancel->slot(),
                                                    [keep = state->cancel](const std::exception_ptr& thrown) {
                                                      reportTaskException("request", thrown);
                                                    }));
      } else if (auto* rejected = std::get_if<RejectedRequest>(&*message)) {
        if (state->active) {
          violation("a second request while one is in flight");
          open = false;
          break;
        }
        reject(gate, state, *rejected);
      } else if (auto* input = std::get_if<StreamInput>(&*message)) {
        if (!state->active || input->requestId != state->activeId || !state->inbox) continue;  // stale
        // The handler sees `end` (the client half-closed) as an ordinary chunk.
        co_await state->inbox->async_send(boost::system::error_code{}, std::move(*input),
                                          asio::redirect_error(asio::use_awaitable, ec));
      } else if (auto* cancel = std::get_if<CancelRequest>(&*message)) {
        if (state->active && cancel->requestId == state->activeId) {
          state->cancel->emit(asio::cancellation_type::terminal);
          if (state->inbox) state->inbox->close();
        }
      }
    }
  }
  // The worker is gone or refused: stop what runs for it, and let the writer finish.
  if (state->active && state->cancel) state->cancel->emit(asio::cancellation_type::terminal);
  if (state->inbox) state->inbox->close();
  state->outbox.close();
  boost::system::error_code ignored;
  state->socket.close(ignored);
}

}  // namespace dockerbox::broker
