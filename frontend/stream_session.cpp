#include "frontend/stream_session.hpp"

#include "frontend/ipc_client.hpp"
#include "frontend/limits.hpp"
#include "frontend/response.hpp"
#include "frontend/stream_framing.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <kj/exception.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cerrno>
#include <exception>

namespace dockerbox::frontend {
namespace {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using Socket = asio::local::stream_protocol::socket;
using ipc::wire::BrokerMessage;
constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);

/// Writes all of `bytes`, or gives up after kWriteTimeout (a client that stopped reading).
asio::awaitable<bool> writeAll(Socket& socket, std::string_view bytes) {
  asio::steady_timer timer(co_await asio::this_coro::executor, kWriteTimeout);
  auto result = co_await (asio::async_write(socket, asio::buffer(bytes.data(), bytes.size()), kAwait) ||
                          timer.async_wait(kAwait));
  if (result.index() == 1) co_return false;
  auto [error, written] = std::get<0>(result);
  if (error) spdlog::debug("event=stream_write_failed error={}", error.message());
  co_return !error;
}

unsigned statusOfHead(std::string_view head) {
  // "HTTP/1.1 200 OK": the head was built by stream_framing.cpp, three digits at 9.
  if (head.size() < 12) return 0;
  return static_cast<unsigned>((head[9] - '0') * 100 + (head[10] - '0') * 10 + (head[11] - '0'));
}

HttpResponse brokerGone(const Error& error) {
  spdlog::warn("event=broker_call_failed context={}", error.context);
  HttpResponse response = errorResponse(error);
  response.closeAfter = true;
  return response;
}

/// Frames after the head: output and events become body pieces, the final response the
/// last piece. `chunked` wraps each piece as an HTTP chunk and ends the body.
asio::awaitable<bool> pump(Socket& socket, StreamCall& call, StreamRenderer& renderer, bool chunked,
                           std::chrono::steady_clock::time_point firstOutputAt) {
  bool written = false;
  // (GCC 12 miscompiles co_await inside ?:, && and ||: every awaited value is named.)
  for (;;) {
    const std::optional<std::chrono::steady_clock::duration> noDeadline;
    auto frame = co_await call.next(noDeadline);
    if (!frame) co_return false;  // the broker is gone: nothing sensible can follow
    auto message = frame->message();
    std::string bytes;
    bool last = false;
    switch (message.which()) {
      case BrokerMessage::STREAM_OUTPUT: bytes = renderer.output(message.getStreamOutput()); break;
      case BrokerMessage::EVENT: bytes = renderer.event(message.getEvent()); break;
      case BrokerMessage::RESPONSE:
        bytes = renderer.end(message.getResponse());
        last = true;
        break;
      default: break;  // a second `accepted`: nothing to do
    }
    if (!bytes.empty()) {  // an empty HTTP chunk would end the body
      if (!written && !chunked && std::chrono::steady_clock::now() < firstOutputAt) {
        asio::steady_timer pause(socket.get_executor(), firstOutputAt);
        co_await pause.async_wait(kAwait);
      }
      written = true;
      if (chunked) bytes = httpChunk(bytes);
      bool ok = co_await writeAll(socket, bytes);
      if (!ok) co_return false;
    }
    if (last) {
      if (!chunked) co_return true;
      bool ok = co_await writeAll(socket, kLastChunk);
      co_return ok;
    }
  }
}

/// A chunked stream's client only ever leaves: EOF or an error means gone. Bytes it sends
/// meanwhile are a pipelined next request, kept in `buffer` (bounded) for the session.
asio::awaitable<void> watchChunkedClient(Socket& socket, boost::beast::flat_buffer& buffer) {
  for (;;) {
    std::size_t room = std::min(buffer.max_size() - buffer.size(), kPipelinedBytesWhileStreaming);
    if (room == 0) {
      // Full: stop reading (back-pressure) until the stream ends and cancels this wait.
      asio::steady_timer park(socket.get_executor(), asio::steady_timer::time_point::max());
      co_await park.async_wait(kAwait);
      co_return;
    }
    auto [error, got] = co_await socket.async_read_some(buffer.prepare(room), kAwait);
    if (error) co_return;
    buffer.commit(got);
  }
}

/// A hijacked stream's client: its bytes are stdin for the broker; EOF is a half-close
/// (stdin ended, output still wanted); only a full hang-up or a read error ends it.
asio::awaitable<void> relayStdin(Socket& socket, boost::beast::flat_buffer& buffer, StreamCall& call) {
  // Bytes that came with the request (docker run -i sends stdin right after the 101).
  while (buffer.size() > 0) {
    std::size_t take = std::min(buffer.size(), kStdinReadChunkBytes);
    auto data = static_cast<const char*>(buffer.data().data());
    bool sent = co_await call.sendInput(std::span(data, take), false);
    if (!sent) co_return;
    buffer.consume(take);
  }
  std::vector<char> chunk(kStdinReadChunkBytes);
  for (;;) {
    auto [error, got] = co_await socket.async_read_some(asio::buffer(chunk), kAwait);
    if (error == asio::error::eof) break;
    if (error) co_return;  // reset: the client is gone
    bool sent = co_await call.sendInput(std::span<const char>(chunk.data(), got), false);
    if (!sent) co_return;
  }
  bool ended = co_await call.sendInput({}, true);
  if (!ended) co_return;
  for (;;) {
    if (peerHungUp(socket.native_handle())) co_return;
    // EPOLLHUP (or an error) wakes this; the probe above tells a hang-up from noise.
    auto [error] = co_await socket.async_wait(asio::socket_base::wait_error, kAwait);
    if (error) co_return;  // cancelled (the stream ended) or the socket is unusable
  }
}

}  // namespace

bool peerHungUp(int fd) {
  msghdr empty{};
  for (;;) {
    ssize_t rc = ::sendmsg(fd, &empty, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (rc >= 0) return false;
    if (errno == EINTR) continue;
    return errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN;
  }
}

asio::awaitable<StreamOutcome> serveStream(Socket& socket, boost::beast::flat_buffer& buffer, IpcClient& ipc,
                                           BrokerStream& stream, const SessionOptions& options,
                                           bool keepAlive) {
  StreamRenderer& renderer = *stream.renderer;
  const RenderContext context{options.clock(), stream.version};
  bool headWritten = false;
  try {
    if (stream.prelude) {
      auto reply = co_await ipc.call(*stream.prelude, kBrokerReplyTimeout);
      if (!reply) co_return StreamOutcome{brokerGone(reply.error())};
      if (auto refused = renderer.afterPrelude(reply->response())) co_return StreamOutcome{std::move(*refused)};
    }
    auto opened = co_await ipc.openStream(*stream.message);
    if (!opened) co_return StreamOutcome{brokerGone(opened.error())};
    StreamCall& call = **opened;

    // Until the head is out: the broker accepts (send the head), or answers at once.
    std::optional<std::string> head;
    bool accepted = false;
    while (!head) {
      std::optional<std::chrono::steady_clock::duration> deadline;
      if (!accepted) deadline = stream.firstFrameTimeout;
      auto frame = co_await call.next(deadline);
      if (!frame) co_return StreamOutcome{brokerGone(frame.error())};
      auto message = frame->message();
      if (message.which() == BrokerMessage::RESPONSE) {
        co_return StreamOutcome{renderer.finish(message.getResponse(), context)};
      }
      if (message.which() == BrokerMessage::ACCEPTED) {
        accepted = true;
        head = renderer.head();  // nullopt: held back until the end (wait below API 1.30)
      }
    }
    StreamOutcome outcome{std::nullopt, false, statusOfHead(*head)};
    headWritten = true;
    bool headOut = co_await writeAll(socket, *head);
    if (!headOut) co_return outcome;
    const bool chunked = stream.framing == StreamFraming::Chunked;
    const auto firstOutputAt = std::chrono::steady_clock::now() + kHijackFirstOutputDelay;
    if (chunked) {
      auto ended = co_await (pump(socket, call, renderer, true, firstOutputAt) || watchChunkedClient(socket, buffer));
      bool complete = ended.index() == 0 && std::get<0>(ended);
      outcome.keepOpen = complete && keepAlive;
    } else {
      // The connection belongs to the stream now and is closed when it ends.
      co_await (pump(socket, call, renderer, false, firstOutputAt) || relayStdin(socket, buffer, call));
    }
    // If the client left first, destroying `call` cancels the request at the broker.
    co_return outcome;
  } catch (const kj::Exception& e) {
    spdlog::error("event=bad_broker_reply operation={} error={}", stream.operation, e.getDescription().cStr());
  } catch (const std::exception& e) {
    spdlog::error("event=stream_failed operation={} error={}", stream.operation, e.what());
  }
  if (headWritten) co_return StreamOutcome{std::nullopt, false, 500};
  HttpResponse response = errorResponse(500, "dockerbox: malformed reply from the broker");
  response.closeAfter = true;
  co_return StreamOutcome{std::move(response)};
}

}  // namespace dockerbox::frontend
