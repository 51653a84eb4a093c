// One client connection's HTTP/1.1 session (Boost.Beast, C++20 coroutines). Runs in: a
// frontend worker. Input: untrusted bytes from the Docker client.
//
// The session reads as a loop (style.md §7): set the deadline, read the head, read the
// body, hand the parsed request to the router, call the broker if needed, write, repeat
// while the client keeps the connection alive.
#pragma once

#include "common/unique_fd.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>

namespace dockerbox::frontend {

class IpcClient;

/// The wall clock, injected so tests can fix "now" (unix seconds).
using Clock = std::function<std::int64_t()>;

struct SessionOptions {
  Clock clock;
};

/// Serves HTTP on `client` (a connected AF_UNIX stream socket) until the client closes,
/// a deadline passes, a request is refused, or the broker channel dies (after answering
/// 503). Never throws.
boost::asio::awaitable<void> runSession(UniqueFd client, IpcClient& ipc, SessionOptions options);

}  // namespace dockerbox::frontend
