// Runs as root, in the broker: the broker's only door to miniboxd. Single-threaded: every
// member runs on the broker's io_context, so the pool needs no lock. Callers keep the Client
// alive until every awaitable they started from it has finished.
#pragma once

#include "broker/minibox/codec.hpp"
#include "broker/minibox/connection.hpp"
#include "broker/minibox/limits.hpp"
#include "broker/minibox/types.hpp"
#include "common/result.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace dockerbox::broker::minibox {

/// Deadlines; the defaults and the reasons for them are in limits.hpp.
struct Timeouts {
  Duration connect = kConnectTimeout;
  Duration write = kWriteTimeout;
  Duration reply = kReplyTimeout;            // first reply to a quick request
  Duration pull = kPullTimeout;              // first reply to Pull and Run (they may download)
  Duration streamIdle = kStreamIdleTimeout;  // between messages of a stream
};

/// Stream handlers are awaited before the next line is read, so a slow consumer slows
/// miniboxd down (its per-request queue is bounded) instead of growing a buffer here.
using CreatedHandler = std::function<boost::asio::awaitable<void>(std::string miniboxId)>;
using OutputHandler =
    std::function<boost::asio::awaitable<void>(OutputStream stream, std::vector<std::uint8_t>)>;
using EventHandler = std::function<boost::asio::awaitable<void>(ContainerEvent event)>;

/// A client of miniboxd's JSON-lines protocol. One request at a time per connection; an
/// exchange ends on its terminal reply (or ContainerCreated for a detached Run), never on EOF.
/// Connections that ended cleanly are pooled; any other connection is closed. Every awaitable
/// honours Asio's cancellation slot (terminal cancellation): a cancelled call closes its
/// connection and returns an Error.
class Client {
 public:
  Client(boost::asio::any_io_executor executor, std::string socketPath, Timeouts timeouts = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  [[nodiscard]] const std::string& socketPath() const { return socketPath_; }
  [[nodiscard]] std::size_t idleConnections() const { return idle_.size(); }

  boost::asio::awaitable<Result<std::vector<ContainerInfo>>> list();
  /// Store names (`library/alpine:latest`). NotImplemented on v0.19.
  boost::asio::awaitable<Result<std::vector<std::string>>> listImages();
  /// Which daemon this is (protocol 8.10); cached until a connection to it fails.
  boost::asio::awaitable<Result<Protocol>> probe();
  boost::asio::awaitable<Result<void>> pull(ImageRef ref);
  /// Detached Run: returns the minibox id as soon as ContainerCreated arrives.
  boost::asio::awaitable<Result<std::string>> runDetached(RunSpec spec);
  boost::asio::awaitable<Result<void>> stop(std::string idOrName);
  boost::asio::awaitable<Result<void>> pause(std::string id);
  boost::asio::awaitable<Result<void>> resume(std::string id);
  boost::asio::awaitable<Result<void>> remove(std::string idOrName);
  boost::asio::awaitable<Result<void>> removeImage(ImageRef ref);
  /// The container's captured log (ephemeral runs only; detached ones have none), capped at
  /// kMaxCollectedLogBytes.
  boost::asio::awaitable<Result<std::vector<LogLine>>> logs(std::string idOrName);

  /// Ephemeral Run: calls onCreated with the minibox id, then onOutput per chunk, and returns
  /// the raw minibox exit code (see dockerExitCode). Cancelling it closes the connection; the
  /// container keeps running and miniboxd deletes it when it exits.
  boost::asio::awaitable<Result<std::int32_t>> runEphemeral(RunSpec spec, CreatedHandler onCreated,
                                                            OutputHandler onOutput);
  /// Exec: calls onOutput per chunk (all stdout before any stderr) and returns the raw exit
  /// code (-1 for a signal death).
  boost::asio::awaitable<Result<std::int32_t>> exec(ExecSpec spec, OutputHandler onOutput);
  /// Delivers events until cancelled or the connection fails; always returns an Error then.
  boost::asio::awaitable<Result<void>> subscribeEvents(EventHandler onEvent);

 private:
  /// Non-terminal replies a request expects; returning an Error aborts the exchange.
  using InterimHandler = std::function<boost::asio::awaitable<Result<void>>(Reply&)>;
  struct Exchange {
    EncodedRequest request;
    Duration firstReply{};      // deadline for the first reply line
    Duration nextReply{};       // deadline between later lines
    bool endOnCreated = false;  // detached Run: ContainerCreated also ends the exchange
    InterimHandler onInterim;   // empty: any non-terminal reply is a protocol error
  };
  struct Lease;
  struct Attempt;

  boost::asio::awaitable<Result<Reply>> roundTrip(Exchange exchange);
  boost::asio::awaitable<Result<Reply>> converse(Connection& connection, const Exchange& exchange,
                                                 Attempt& attempt);
  boost::asio::awaitable<Result<Lease>> acquire(RequestType type);
  void release(std::unique_ptr<Connection> connection);
  [[nodiscard]] Exchange quick(EncodedRequest request) const;
  [[nodiscard]] Exchange stream(EncodedRequest request, Duration firstReply,
                                InterimHandler onInterim) const;
  boost::asio::awaitable<Result<void>> expectSuccess(EncodedRequest request);
  [[nodiscard]] Error ioError(boost::system::error_code ec, const Connection& connection,
                              const Attempt& attempt, RequestType type) const;
  [[nodiscard]] Error connectError(boost::system::error_code ec, RequestType type) const;

  boost::asio::any_io_executor executor_;
  std::string socketPath_;
  Timeouts timeouts_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::optional<Protocol> protocol_;  // reset whenever the daemon may have been replaced
};

}  // namespace dockerbox::broker::minibox
