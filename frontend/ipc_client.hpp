// The worker's side of its IPC channel to the broker. Runs in: a frontend worker.
// Input: frames from the broker (trusted, but still bounded and checked: a broken frame
// must end this connection cleanly, never crash into undefined behaviour).
//
// One reader loop takes frames off the channel and routes them by request id to the
// waiting call; one writer loop sends queued frames in order. A plain call receives exactly
// one frame, its Response. A streaming call (logs, attach, exec, events, wait, pull)
// receives `accepted`, stream output and events in order, then its final Response; while it
// runs the worker may send the client's stdin and, when the client leaves, a cancel.
#pragma once

#include "common/result.hpp"
#include "common/unique_fd.hpp"

#include "ipc/dockerbox.capnp.h"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <capnp/message.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

namespace dockerbox::frontend {

/// One broker frame, opened with reader limits; owns its words.
class BrokerFrame;

/// One frame addressed to a call. Keeps its frame alive while the readers are used.
class BrokerReply {
 public:
  explicit BrokerReply(std::shared_ptr<const BrokerFrame> frame) : frame_(std::move(frame)) {}
  [[nodiscard]] ipc::wire::BrokerMessage::Reader message() const;
  /// The final response (only valid when isFinal()).
  [[nodiscard]] ipc::wire::Response::Reader response() const;
  [[nodiscard]] bool isFinal() const;

 private:
  std::shared_ptr<const BrokerFrame> frame_;
};

/// The channel's shared state (reader, writer, calls in flight); defined in ipc_client.cpp.
class IpcChannel;

/// A streaming call in flight. Destroying it before its final response arrived cancels the
/// request at the broker (WorkerMessage.cancel) and drops the frames still on their way.
class StreamCall {
 public:
  StreamCall(std::weak_ptr<IpcChannel> channel, std::uint64_t id);
  ~StreamCall();
  StreamCall(const StreamCall&) = delete;
  StreamCall& operator=(const StreamCall&) = delete;

  /// The next frame of this call. `timeout` bounds the wait (nullopt: none, for streams
  /// that legitimately stay silent, like `logs -f`); past it the channel is closed, since
  /// a stuck broker cannot serve this connection any more. Fails with Unavailable when the
  /// channel is gone or after the final response.
  boost::asio::awaitable<Result<BrokerReply>> next(
      std::optional<std::chrono::steady_clock::duration> timeout);

  /// Sends client stdin (at most ipc::kMaxChunkBytes); `end` says the client half-closed.
  /// Returns false when the channel is gone.
  boost::asio::awaitable<bool> sendInput(std::span<const char> data, bool end);

  /// Tells the broker the client went away. Idempotent; frames still arriving are dropped.
  void cancel();

  [[nodiscard]] bool finished() const { return finished_; }
  [[nodiscard]] std::uint64_t id() const { return id_; }

 private:
  std::weak_ptr<IpcChannel> channel_;
  std::uint64_t id_;
  bool finished_ = false;
  bool cancelled_ = false;
};

class IpcClient {
 public:
  IpcClient(boost::asio::any_io_executor executor, UniqueFd channel);
  ~IpcClient();
  IpcClient(const IpcClient&) = delete;
  IpcClient& operator=(const IpcClient&) = delete;

  /// Runs the reader and writer until the channel closes or fails. Then every pending and
  /// later call fails with Unavailable.
  boost::asio::awaitable<void> run();

  /// Sends `message` (a WorkerMessage whose request.op is set; the id is assigned here)
  /// and waits for its response. Fails with Unavailable when the channel is gone or the
  /// broker does not answer within `timeout` (the channel is then closed: a late reply
  /// could otherwise be taken for another request's).
  boost::asio::awaitable<Result<BrokerReply>> call(capnp::MallocMessageBuilder& message,
                                                   std::chrono::steady_clock::duration timeout);

  /// Sends `message` as a streaming call; its frames are read with StreamCall::next().
  boost::asio::awaitable<Result<std::unique_ptr<StreamCall>>> openStream(
      capnp::MallocMessageBuilder& message);

  /// Closes the channel (idempotent); `why` goes to the log.
  void close(const std::string& why);

  /// Closes the channel after the frames already queued are written: the cancel of a
  /// stream whose client just left must still reach the broker.
  void closeAfterPending(const std::string& why);

  [[nodiscard]] bool alive() const;

 private:
  std::shared_ptr<IpcChannel> impl_;
};

}  // namespace dockerbox::frontend
