// Streaming and hijacked operations as values: what the session sends to the broker, and
// how each broker frame becomes bytes for the client. Runs in: a frontend worker. No
// sockets here (style.md §7): the session in stream_session.cpp moves the bytes, the
// renderers below only compute them, so tests and fuzzing need no network.
#pragma once

#include "frontend/http_types.hpp"
#include "frontend/limits.hpp"
#include "frontend/request_target.hpp"

#include "ipc/dockerbox.capnp.h"

#include <capnp/message.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace dockerbox::frontend {

/// What renderers may know besides the reply. The clock is injected (tests fix it).
struct RenderContext {
  std::int64_t nowUnixSeconds = 0;
  ApiVersion version;
};

/// Turns the frames of one streaming call into bytes for the client.
class StreamRenderer {
 public:
  virtual ~StreamRenderer() = default;

  /// The reply to the prelude call (see BrokerStream::prelude). A response ends the
  /// request here (an error, say); nullopt goes on with the stream.
  [[nodiscard]] virtual std::optional<HttpResponse> afterPrelude(ipc::wire::Response::Reader reply);

  /// The exact bytes of the response head, sent when the broker accepts the request.
  /// nullopt holds the head back; finish() then renders the whole response at the end.
  [[nodiscard]] virtual std::optional<std::string> head() = 0;

  /// Body bytes for one chunk of output / one event (empty: nothing to send).
  [[nodiscard]] virtual std::string output(ipc::wire::StreamChunk::Reader chunk);
  [[nodiscard]] virtual std::string event(ipc::wire::Event::Reader event);

  /// Body bytes that end the stream, after the head was sent.
  [[nodiscard]] virtual std::string end(ipc::wire::Response::Reader reply) = 0;

  /// The whole response when the final reply came before any head was sent.
  [[nodiscard]] virtual HttpResponse finish(ipc::wire::Response::Reader reply,
                                            const RenderContext& context) = 0;
};

/// How the body is framed once the head is out.
enum class StreamFraming {
  Chunked,   // Transfer-Encoding: chunked; the connection may serve more requests after
  Hijacked,  // raw bytes both ways (client stdin goes to the broker); closed at the end
};

/// A streaming operation: an optional prelude call (an inspect that tells whether the
/// container or exec has a TTY, which decides the framing), then the streaming request.
struct BrokerStream {
  std::string operation;  // for logs, e.g. "containerLogs"
  std::unique_ptr<capnp::MallocMessageBuilder> prelude;  // may be null
  std::unique_ptr<capnp::MallocMessageBuilder> message;
  std::unique_ptr<StreamRenderer> renderer;
  StreamFraming framing = StreamFraming::Chunked;
  ApiVersion version;  // the client's API version (set by routeRequest)
  /// How long the broker may take to accept (or answer) the request. After `accepted`,
  /// streams have no deadline: `logs -f` and `events` may stay silent for days.
  std::chrono::steady_clock::duration firstFrameTimeout = kBrokerReplyTimeout;
};

/// The Docker response for an error reply, or nullopt when `reply` is not an error.
/// Unknown error kinds (capnp does not range-check enums) become 500.
[[nodiscard]] std::optional<HttpResponse> errorReplyResponse(ipc::wire::Response::Reader reply);

}  // namespace dockerbox::frontend
