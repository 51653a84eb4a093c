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
#include <functional>
#include <map>
#include <memory>
#include <set>

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

/// The channels being served, for a shutdown that lets what is in flight end (SIGTERM).
class ChannelSet {
 public:
  /// One channel, as the set sees it (channel.cpp).
  class Member {
   public:
    virtual ~Member() = default;
    /// Ends the request in flight if it is streaming (logs -f, attach, events, exec, wait, pull):
    /// its client gets a clean end of stream. Requests that have not begun a stream finish.
    virtual void endStreams() = 0;
    /// No request in flight and every frame for the worker written.
    [[nodiscard]] virtual bool idle() const = 0;
  };

  /// Begins the drain: channels start no new request (they are refused with a 503-style
  /// error), streams end; `whenIdle` runs once, when every channel is idle.
  void drain(std::function<void()> whenIdle);
  [[nodiscard]] bool draining() const { return draining_; }

  void add(Member* member) { members_.insert(member); }
  void remove(Member* member);
  /// Called by a member that may have become idle.
  void check();

 private:
  std::set<Member*> members_;
  bool draining_ = false;
  std::function<void()> whenIdle_;
};

/// Serves one worker until it closes its channel or breaks the protocol (then the channel
/// is closed; the worker's client sees its connection end). Never throws.
/// `channels` is shared so that frames destroyed with the io_context can still leave it.
boost::asio::awaitable<void> serveWorker(Handlers& handlers, Gate& gate, ConnectionCounter& counter,
                                         std::shared_ptr<ChannelSet> channels,
                                         boost::asio::local::stream_protocol::socket channel, Identity who);

}  // namespace dockerbox::broker
