// The streaming part of a client session: one BrokerStream (logs, events, wait, pull, the
// hijacked attach and exec) from the broker's `accepted` to its final response. Runs in: a
// frontend worker. Input: untrusted bytes from the Docker client (stdin of a hijacked
// stream, or a pipelined next request), frames from the broker.
//
// What the bytes are is decided by the StreamRenderer (streaming.hpp); this file only moves
// them, flushing each piece as it comes, and notices when the client goes away:
// - a chunked stream ends for the client when it closes the connection (EOF on read);
// - a hijacked stream's EOF is only a half-close (the CLI calls CloseWrite right after the
//   101 when it has no stdin): output keeps flowing, and the client counts as gone only
//   once it hangs up completely (EPOLLHUP, as dockerd decides) or a write fails.
// Then the broker gets a cancel for the request.
#pragma once

#include "frontend/http_types.hpp"
#include "frontend/session.hpp"
#include "frontend/streaming.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include <optional>

namespace dockerbox::frontend {

class IpcClient;

struct StreamOutcome {
  /// Nothing was written: the session sends this response (an error before the stream
  /// began, or a stream that ended before the broker accepted it).
  std::optional<HttpResponse> response;
  /// After a stream was written: whether the connection may serve another request.
  bool keepOpen = false;
  unsigned status = 0;  // for the log
};

/// Runs `stream` on `socket`. `buffer` holds bytes the client sent after the request: stdin
/// for a hijacked stream, a pipelined request for a chunked one (kept for the next read).
/// Never throws.
boost::asio::awaitable<StreamOutcome> serveStream(boost::asio::local::stream_protocol::socket& socket,
                                                  boost::beast::flat_buffer& buffer, IpcClient& ipc,
                                                  BrokerStream& stream, const SessionOptions& options,
                                                  bool keepAlive);

/// Whether the peer of a connected stream socket has closed both directions: a zero-length
/// send fails with EPIPE then, but not after a mere half-close (shutdown(SHUT_WR)).
[[nodiscard]] bool peerHungUp(int fd);

}  // namespace dockerbox::frontend
