// The broker's accept loop: identity from the kernel, admission before one byte is read,
// per-uid connection caps, and the hand-over of each admitted connection to the frontend
// together with a fresh IPC channel bound to that identity. Runs as root.
#pragma once

#include "broker/channel.hpp"
#include "broker/config.hpp"
#include "broker/frontend_launcher.hpp"
#include "common/unique_fd.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include <functional>
#include <memory>
#include <optional>

namespace dockerbox::broker {

class Handlers;
class Gate;

class Server {
 public:
  /// `counter` must outlive `io`: coroutine frames destroyed with the io_context release
  /// their connection slots.
  Server(boost::asio::io_context& io, const Config& config, Handlers& handlers, Gate& gate,
         FrontendLauncher& launcher, ConnectionCounter& counter);

  /// Accepts connections on `listener` until the io_context stops.
  boost::asio::awaitable<void> acceptLoop(UniqueFd listener);

  /// SIGTERM: stops accepting, ends the streams in flight cleanly, lets other requests
  /// finish and refuses new ones; `whenIdle` runs once nothing is in flight.
  void drain(std::function<void()> whenIdle);

 private:
  void admitOne(UniqueFd client);

  boost::asio::io_context& io_;
  const Config& config_;
  Handlers& handlers_;
  Gate& gate_;
  FrontendLauncher& launcher_;
  ConnectionCounter& counter_;
  std::shared_ptr<ChannelSet> channels_ = std::make_shared<ChannelSet>();
  std::optional<boost::asio::local::stream_protocol::acceptor> acceptor_;
};

}  // namespace dockerbox::broker
