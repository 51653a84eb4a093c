// The worker's side of its IPC channel to the broker. Runs in: a frontend worker.
// Input: frames from the broker (trusted, but still bounded and checked: a broken frame
// must end this connection cleanly, never crash into undefined behaviour).
//
// One reader loop takes frames off the channel and routes them by request id to the
// waiting call; one writer loop sends queued frames in order. Several requests may be in
// flight at once, and each can receive stream chunks before its final response, so
// hijacked attach/exec streams can be added without changing this design.
#pragma once

#include "common/result.hpp"
#include "common/unique_fd.hpp"

#include "ipc/dockerbox.capnp.h"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <capnp/message.h>

#include <chrono>
#include <memory>
#include <string>

namespace dockerbox::frontend {

/// One broker frame, opened with reader limits; owns its words.
class BrokerFrame;

/// The final response to one call. Keeps its frame alive while the reader is used.
class BrokerReply {
 public:
  explicit BrokerReply(std::shared_ptr<const BrokerFrame> frame) : frame_(std::move(frame)) {}
  [[nodiscard]] ipc::wire::Response::Reader response() const;

 private:
  std::shared_ptr<const BrokerFrame> frame_;
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

  /// Closes the channel (idempotent); `why` goes to the log.
  void close(const std::string& why);

  [[nodiscard]] bool alive() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dockerbox::frontend
