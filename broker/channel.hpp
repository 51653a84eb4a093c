// Runs as root. Input: untrusted frames from one frontend worker.
//
// One channel per admitted client connection, bound at accept time to the identity the
// kernel reported for that client (P4). Whatever the worker sends, it can only act as
// that identity: nothing it says about identity is read.
#pragma once

#include "broker/peer.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include <cstddef>
#include <map>

namespace dockerbox::broker {

class Handlers;
class Gate;

/// Open connections per uid (P8). A slot is held for as long as the worker's channel is open.
class ConnectionCounter {
 public:
  explicit ConnectionCounter(std::size_t maxPerUid) : maxPerUid_(maxPerUid) {}

  [[nodiscard]] bool tryAcquire(uid_t uid);
  void release(uid_t uid);
  [[nodiscard]] std::size_t count(uid_t uid) const;

 private:
  std::size_t maxPerUid_;
  std::map<uid_t, std::size_t> open_;
};

/// Serves one worker until it closes its channel or breaks the protocol (then the channel
/// is closed; the worker's client sees its connection end). Never throws.
boost::asio::awaitable<void> serveWorker(Handlers& handlers, Gate& gate, ConnectionCounter& counter,
                                         boost::asio::local::stream_protocol::socket channel, Identity who);

}  // namespace dockerbox::broker
