// Test double: a scripted miniboxd on a Unix socket, running on the test's io_context.
// Like the real daemon it NEVER closes a connection after replying (protocol section 10.3),
// so a client that reads to EOF hangs and the test's deadline catches it.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace dockerbox::broker::minibox::testing {

/// A fresh directory from mkdtemp under /tmp (short, so socket paths fit in 108 bytes).
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// What the fake does with one request line.
struct Response {
  std::vector<std::string> lines;  // written in order, a '\n' appended to each
  bool closeAfter = false;         // then close the connection (a daemon dying mid-request)
};
/// Called with the connection's index (0 = first accepted) and the request line.
/// An empty Response is silence: no reply, the connection stays open.
using Script = std::function<Response(std::size_t connection, const std::string& request)>;

enum class FakeMode {
  Serve,  // answer by the script
  Gate,   // accept, then close at once with no bytes (the peer-credential gate, 1.3)
};

class FakeMiniboxd {
 public:
  FakeMiniboxd(boost::asio::io_context& io, std::string path, Script script,
               FakeMode mode = FakeMode::Serve);
  ~FakeMiniboxd();

  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] std::size_t accepted() const { return state_->accepted; }
  /// Connections on which the fake read EOF: the client closed them.
  [[nodiscard]] std::size_t closedByClient() const { return state_->closedByClient; }
  [[nodiscard]] const std::vector<std::string>& requests() const { return state_->requests; }
  /// Closes every server-side socket now, as a daemon restart would.
  void closeAll();

  struct State {
    std::size_t accepted = 0;
    std::size_t closedByClient = 0;
    std::vector<std::string> requests;
    std::vector<std::shared_ptr<boost::asio::local::stream_protocol::socket>> sockets;
  };

 private:
  std::string path_;
  std::shared_ptr<State> state_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
};

/// The `type` of a request line (`{"type":"List"}` -> `List`), or "" if it has none.
std::string requestType(const std::string& line);

/// Answers each request by its type; a type missing from `replies` gets silence.
Script replyByType(std::vector<std::pair<std::string, std::vector<std::string>>> replies);

/// Runs the io_context until `done()` or the deadline; returns done().
bool runUntil(boost::asio::io_context& io, const std::function<bool()>& done,
              std::chrono::milliseconds limit = std::chrono::milliseconds(5000));

/// Runs `task` on `io` until it finishes or the deadline passes (then nullopt: the client hung).
/// The fake never closes connections, so a client that waits for EOF ends up here as nullopt.
template <class T>
std::optional<T> runTask(boost::asio::io_context& io, boost::asio::awaitable<T> task,
                         std::chrono::milliseconds limit = std::chrono::milliseconds(5000),
                         boost::asio::cancellation_slot slot = {}) {
  struct Outcome {
    bool finished = false;
    std::exception_ptr error;
    std::optional<T> value;
  };
  auto outcome = std::make_shared<Outcome>();  // outlives this frame if the task hangs
  boost::asio::co_spawn(
      io, std::move(task),
      boost::asio::bind_cancellation_slot(slot, [outcome](std::exception_ptr error, T value) {
        outcome->finished = true;
        outcome->error = error;
        if (!error) outcome->value = std::move(value);
      }));
  runUntil(
      io, [&] { return outcome->finished; }, limit);
  if (outcome->error) std::rethrow_exception(outcome->error);
  return std::move(outcome->value);
}

}  // namespace dockerbox::broker::minibox::testing
