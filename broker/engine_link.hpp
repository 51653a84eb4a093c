// Runs as root. Input: the engine's replies on the engine channel (ipc/engine.capnp), opened
// under reader limits; the engine is not trusted about anyone's identity and is never asked.
//
// The monitor's side of the engine channel: each judged request goes to the engine with the
// caller the monitor built from the kernel's word, and what the engine answers is relayed
// to the client's worker through the request's StreamSink. The monitor reads only the
// outcome (error kind and message) for the audit record; output bytes are copied, never
// interpreted.
#pragma once

#include "broker/caller.hpp"
#include "broker/containers/act_wire.hpp"
#include "broker/containers/notifier.hpp"
#include "broker/stream.hpp"
#include "common/result.hpp"
#include "ipc/dockerbox.capnp.h"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace dockerbox::broker {

class RemoteEngine {
 public:
  RemoteEngine(boost::asio::any_io_executor executor, boost::asio::local::stream_protocol::socket socket);
  ~RemoteEngine();
  RemoteEngine(const RemoteEngine&) = delete;
  RemoteEngine& operator=(const RemoteEngine&) = delete;

  struct Outcome {
    Result<void> result;    // for the audit: the engine's error kind and message, or ours
    bool answered = false;  // the engine's response is in `message` (else render `result`)
  };

  /// Serves one judged request through the engine. `who.requestId` names it (the callers
  /// registry holds it meanwhile); `frame` is the worker's frame of the request;
  /// `judgedConfig` replaces a create's config. Interim replies go to `sink`; the engine's
  /// response is copied into `message` (its id is the caller's to set). What the request
  /// resolved to is noted on `who`. Cancelling the calling coroutine cancels the request at
  /// the engine, which still answers.
  boost::asio::awaitable<Outcome> run(const Caller& who, std::span<const capnp::word> frame,
                                           const std::optional<std::vector<std::uint8_t>>& judgedConfig,
                                           StreamSink& sink, ipc::wire::BrokerMessage::Builder message);

  /// False once the channel is closed (the engine is gone).
  [[nodiscard]] bool open() const { return link_->open(); }

  struct InputWait;  // engine_link.cpp

 private:
  using Frame = kj::Array<capnp::word>;
  struct Pending {
    explicit Pending(boost::asio::any_io_executor executor) : changed(std::move(executor)) {}
    std::deque<Frame> replies;
    containers::Notifier changed;
    bool closed = false;
  };
  using PendingMap = std::map<std::uint64_t, std::shared_ptr<Pending>>;

  boost::asio::awaitable<Outcome> serve(const Caller& who, std::span<const capnp::word> frame,
                                        const std::optional<std::vector<std::uint8_t>>& judgedConfig,
                                        StreamSink& sink, ipc::wire::BrokerMessage::Builder message,
                                        std::shared_ptr<InputWait> input);
  void onFrame(Frame frame);
  void onClosed();
  void closeLink();  // a protocol violation: ends the channel and every request on it

  boost::asio::any_io_executor executor_;
  std::shared_ptr<PendingMap> pending_ = std::make_shared<PendingMap>();
  std::shared_ptr<containers::ActLink> link_;
};

}  // namespace dockerbox::broker
