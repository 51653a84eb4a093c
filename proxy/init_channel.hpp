// The way into a container's network namespace. Runs in: dockerbox-proxy (unprivileged,
// sandboxed). Input: the container's pid 1 (dockerbox-init, init/port_channel.hpp) on the
// run's channel: untrusted, since whoever controls the container may control its pid 1.
//
// The proxy asks with one byte per socket ('t' AF_INET stream, 'u' AF_INET datagram, 'T'
// and 'U' the same for AF_INET6); pid 1 answers each request, in order, with one byte: 0
// with the new socket attached, or an errno (1..255) without one. The answers are matched
// to a FIFO of waiters; at most kMaxRequestsInFlight are unanswered at once (pid 1 drops
// the channel rather than wait for us to read). Every socket received is checked to be
// what was asked for (an unconnected, unbound socket of that family and type) before
// anyone uses it.
#pragma once

#include "common/result.hpp"
#include "common/unique_fd.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace dockerbox::proxy {

/// What to ask the init for: the request byte of the channel protocol.
enum class ContainerSocket : char {
  Tcp4 = 't',
  Udp4 = 'u',
  Tcp6 = 'T',
  Udp6 = 'U',
};

class InitChannel : public std::enable_shared_from_this<InitChannel> {
 public:
  /// At most `maxWaitingForInit` requests wait for the init to connect; `run` names the
  /// run in the log.
  InitChannel(boost::asio::any_io_executor executor, std::string run, std::size_t maxWaitingForInit);
  ~InitChannel();
  InitChannel(const InitChannel&) = delete;
  InitChannel& operator=(const InitChannel&) = delete;

  /// The init connected: the requests that waited go out, answers are read from now on.
  /// `onEnd` runs once if the channel ends by itself (the init closed it, which means the
  /// container's pid 1 is gone, or it broke the protocol), never after close().
  void attach(boost::asio::local::stream_protocol::socket channel, std::function<void()> onEnd);

  /// A fresh, unconnected socket of the container's network namespace, or an error: the
  /// init refused (its errno), the channel ended or was closed, too many wait for the init,
  /// or no answer came within `timeout` (a late answer is then closed unused).
  boost::asio::awaitable<Result<UniqueFd>> request(ContainerSocket kind,
                                                   std::chrono::steady_clock::duration timeout);

  /// Closes the channel; every request still waiting fails. Idempotent.
  void close();

  [[nodiscard]] bool attached() const { return channel_.has_value(); }

  struct Waiter;

 private:
  void flush();
  // Static, with the channel as a named argument: the coroutine frame keeps it alive.
  static boost::asio::awaitable<void> writeWhenReady(std::shared_ptr<InitChannel> self);
  static boost::asio::awaitable<void> readAnswers(std::shared_ptr<InitChannel> self);
  void answer(std::byte value, std::vector<UniqueFd> fds, bool truncated);
  void end(const char* why);
  void failAll(const char* why);

  boost::asio::any_io_executor executor_;
  std::string run_;
  std::size_t maxWaitingForInit_;
  std::optional<boost::asio::local::stream_protocol::socket> channel_;
  std::function<void()> onEnd_;
  std::deque<std::shared_ptr<Waiter>> unsent_;    // asked, request byte not written yet
  std::deque<std::shared_ptr<Waiter>> answering_;  // written, answer not read yet (in order)
  bool writing_ = false;                           // writeWhenReady is waiting for room
  bool closed_ = false;
};

}  // namespace dockerbox::proxy
