#include "frontend/session.hpp"

#include "frontend/http_codec.hpp"
#include "frontend/ipc_client.hpp"
#include "frontend/limits.hpp"
#include "frontend/response.hpp"
#include "frontend/router.hpp"
#include "frontend/stream_session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <spdlog/spdlog.h>

#include <exception>

namespace dockerbox::frontend {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Stream = beast::basic_stream<asio::local::stream_protocol>;
constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);

/// The request-target for the log: bounded and without control bytes (log injection).
std::string loggable(std::string_view target) {
  std::string out(target.substr(0, 200));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  }
  return out;
}

/// A local answer, or a broker call's IPC round trip.
asio::awaitable<HttpResponse> respond(Action& action, IpcClient& ipc, const SessionOptions& options) {
  if (auto* local = std::get_if<HttpResponse>(&action)) co_return std::move(*local);
  auto& call = std::get<BrokerCall>(action);
  auto reply = co_await ipc.call(*call.message, call.timeout);
  if (!reply) {
    // The channel is gone: answer this request, then end the connection (and the worker).
    spdlog::warn("event=broker_call_failed operation={} context={}", call.operation,
                 reply.error().context);
    HttpResponse response = errorResponse(reply.error());
    response.closeAfter = true;
    co_return response;
  }
  co_return finishCall(call, reply->response(), RenderContext{options.clock(), call.version});
}

asio::awaitable<bool> writeResponse(Stream& stream, HttpResponse&& response, bool keepAlive,
                                    bool head) {
  BeastResponse wire = toBeast(std::move(response), keepAlive, head);
  stream.expires_after(kWriteTimeout);
  auto [error, written] = co_await http::async_write(stream, wire, kAwait);
  if (error) {
    // Clients drop connections mid-response all the time (client-flows.md §2).
    spdlog::debug("event=write_failed error={}", error.message());
    co_return false;
  }
  co_return wire.keep_alive();
}

asio::awaitable<void> serve(Stream& stream, IpcClient& ipc, const SessionOptions& options) {
  // Bounded: a pipelining client cannot make the buffer grow past one head plus one read.
  beast::flat_buffer buffer(kMaxHeaderBytes + 64 * 1024);
  for (;;) {
    RequestParser parser;  // fresh per request: no state leaks between requests
    applyLimits(parser);

    stream.expires_after(kIdleTimeout);
    auto [headError, headBytes] = co_await http::async_read_header(stream, buffer, parser, kAwait);
    if (headError == http::error::end_of_stream || headError == beast::error::timeout ||
        headError == asio::error::eof || headError == asio::error::connection_reset) {
      co_return;  // the client left or idled out between requests
    }
    if (!headError && !parser.is_done()) {
      stream.expires_after(kRequestBodyTimeout);
      auto [bodyError, bodyBytes] = co_await http::async_read(stream, buffer, parser, kAwait);
      headError = bodyError;
      if (bodyError == beast::error::timeout || bodyError == asio::error::eof) co_return;
    }
    if (headError) {
      spdlog::info("event=request_refused error={}", headError.message());
      co_await writeResponse(stream, refusalFor(headError), false, false);
      co_return;
    }

    HttpRequest request = fromBeast(parser.release());
    bool head = request.method == Method::Head;
    Action action = routeRequest(request);
    HttpResponse response;
    if (auto* streaming = std::get_if<BrokerStream>(&action)) {
      // Streams have no overall deadline: `logs -f` may run for days. Each write has one.
      stream.expires_never();
      StreamOutcome outcome =
          co_await serveStream(stream.socket(), buffer, ipc, *streaming, options, request.keepAlive);
      if (!outcome.response) {
        spdlog::info("event=request method={} target={} status={} streamed=true", methodName(request.method),
                     loggable(request.target), outcome.status);
        if (!outcome.keepOpen) co_return;
        continue;
      }
      response = std::move(*outcome.response);
    } else {
      response = co_await respond(action, ipc, options);
    }
    spdlog::info("event=request method={} target={} status={}",
                 methodName(request.method),
                 loggable(request.target), response.status);
    if (!co_await writeResponse(stream, std::move(response), request.keepAlive, head)) co_return;
  }
}

}  // namespace

asio::awaitable<void> runSession(UniqueFd client, IpcClient& ipc, SessionOptions options) {
  auto executor = co_await asio::this_coro::executor;
  Stream stream(executor);
  boost::system::error_code ec;
  stream.socket().assign(asio::local::stream_protocol(), client.get(), ec);
  if (ec) {
    spdlog::error("event=session_failed error={}", ec.message());
    co_return;
  }
  (void)client.release();  // the stream owns it now
  try {
    co_await serve(stream, ipc, options);
  } catch (const std::exception& e) {
    // The one boundary for exceptions of this unit of work (style.md §5).
    spdlog::error("event=session_failed error={}", e.what());
  }
  stream.socket().shutdown(asio::socket_base::shutdown_send, ec);
  stream.close();
}

}  // namespace dockerbox::frontend
