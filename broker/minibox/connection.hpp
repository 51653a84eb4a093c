// Runs as root, in the broker. One stream connection to miniboxd: connect, write a request
// line, read reply lines. Every wait has a deadline and every line a size cap. It knows
// nothing about request types; Client decides what the bytes mean and when an exchange ends.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace dockerbox::broker::minibox {

using Duration = std::chrono::steady_clock::duration;

/// I/O outcomes. Errors are plain error codes so the caller can tell them apart:
/// asio::error::timed_out (a deadline passed), asio::error::eof (the daemon closed),
/// asio::error::message_size (a line over kMaxReplyLineBytes), operation_aborted (cancelled).
template <class T>
using IoResult = boost::system::result<T>;

class Connection {
 public:
  /// Connects to the Unix socket at `path` within `timeout`.
  static boost::asio::awaitable<IoResult<std::unique_ptr<Connection>>> open(
      boost::asio::any_io_executor executor, std::string path, Duration timeout);

  explicit Connection(boost::asio::local::stream_protocol::socket socket);

  /// Writes the whole line within `timeout`.
  boost::asio::awaitable<IoResult<void>> write(std::string_view line, Duration timeout);
  /// Reads one line within `timeout`; returns it without its `\n`. Bytes after the newline
  /// stay buffered for the next call. Never waits for EOF.
  boost::asio::awaitable<IoResult<std::string>> readLine(Duration timeout);

  /// For a pooled, idle connection: true when the daemon has neither closed it nor sent
  /// anything unsolicited (a non-blocking peek; nothing is consumed or written).
  [[nodiscard]] bool idleAndOpen();
  /// True once any byte has arrived on this connection (tells the peer-credential gate,
  /// which closes before sending anything, from a daemon that dies mid-conversation).
  [[nodiscard]] bool hasReceived() const { return bytesReceived_ > 0; }
  /// True when bytes beyond the last line read are buffered (not a clean end of exchange).
  [[nodiscard]] bool hasBuffered() const { return !buffer_.empty(); }

 private:
  boost::asio::local::stream_protocol::socket socket_;
  boost::asio::steady_timer timer_;
  std::string buffer_;
  std::size_t bytesReceived_ = 0;
};

}  // namespace dockerbox::broker::minibox
