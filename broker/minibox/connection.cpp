// Runs as root, in the broker. Input: bytes from miniboxd's socket (trusted peer, still
// bounded: every line is capped and every wait has a deadline).
#include "broker/minibox/connection.hpp"

#include "broker/minibox/limits.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace dockerbox::broker::minibox {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using boost::system::error_code;
using Local = asio::local::stream_protocol;

/// Runs `operation` against `timer`: whichever finishes first cancels the other. Returns the
/// operation's completion arguments, with timed_out when the deadline won.
template <class Operation>
auto raceDeadline(asio::steady_timer& timer, Duration timeout, Operation operation) {
  timer.expires_after(timeout);
  return asio::experimental::make_parallel_group(std::move(operation),
                                                 timer.async_wait(asio::deferred))
      .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
}

error_code timedOutIfFirst(const std::array<std::size_t, 2>& order, error_code ec) {
  return order[0] == 1 ? error_code(asio::error::timed_out) : ec;
}

}  // namespace

Connection::Connection(Local::socket socket)
    : socket_(std::move(socket)), timer_(socket_.get_executor()) {}

awaitable<IoResult<std::unique_ptr<Connection>>> Connection::open(asio::any_io_executor executor,
                                                                  std::string path,
                                                                  Duration timeout) {
  Local::endpoint endpoint;
  try {
    endpoint = Local::endpoint(path);  // throws name_too_long beyond sun_path's 108 bytes
  } catch (const boost::system::system_error& e) {
    co_return e.code();
  }
  auto connection = std::make_unique<Connection>(Local::socket(executor));
  auto [order, connectEc, timerEc] = co_await raceDeadline(
      connection->timer_, timeout, connection->socket_.async_connect(endpoint, asio::deferred));
  if (error_code ec = timedOutIfFirst(order, connectEc)) co_return ec;
  co_return connection;
}

awaitable<IoResult<void>> Connection::write(std::string_view line, Duration timeout) {
  auto [order, writeEc, written, timerEc] = co_await raceDeadline(
      timer_, timeout, asio::async_write(socket_, asio::buffer(line), asio::deferred));
  if (error_code ec = timedOutIfFirst(order, writeEc)) co_return ec;
  co_return IoResult<void>();
}

awaitable<IoResult<std::string>> Connection::readLine(Duration timeout) {
  // The cap counts the newline; a longer line fails with message_size (asio says not_found).
  auto buffer = asio::dynamic_buffer(buffer_, kMaxReplyLineBytes + 1);
  const std::size_t before = buffer_.size();
  auto [order, readEc, length, timerEc] = co_await raceDeadline(
      timer_, timeout, asio::async_read_until(socket_, buffer, '\n', asio::deferred));
  bytesReceived_ += buffer_.size() - before;
  if (readEc == asio::error::not_found) co_return error_code(asio::error::message_size);
  if (error_code ec = timedOutIfFirst(order, readEc)) co_return ec;
  std::string line = buffer_.substr(0, length - 1);
  buffer_.erase(0, length);
  co_return line;
}

bool Connection::idleAndOpen() {
  if (!buffer_.empty() || !socket_.is_open()) return false;
  error_code ec;
  socket_.non_blocking(true, ec);
  if (ec) return false;
  char byte = 0;
  socket_.receive(asio::buffer(&byte, 1), Local::socket::message_peek, ec);
  // would_block: open and quiet. eof: the daemon closed (restart). Any byte: unsolicited data,
  // which miniboxd never sends, so the stream can no longer be trusted to be in step.
  return ec == asio::error::would_block;
}

}  // namespace dockerbox::broker::minibox
