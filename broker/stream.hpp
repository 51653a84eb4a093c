// Runs as root. The broker's side of a streaming request (logs, attach, wait, exec,
// events): what a handler may send to the worker before its final response, and the
// client's stdin it may read. Implemented by the channel (channel.cpp).
#pragma once

#include "broker/decoder.hpp"
#include "ipc/dockerbox.capnp.h"

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace dockerbox::broker {

enum class OutputKind { Stdout, Stderr };

/// One event of an /events stream, in the broker's own terms.
struct EventRecord {
  std::string type;    // "container", "image"
  std::string action;  // "create", "start", "die", ...
  std::string actorId;
  std::vector<std::pair<std::string, std::string>> attributes;
  std::int64_t timeNanos = 0;
};

/// The schema's form of an event (requestId is the caller's to set).
inline void toWire(const EventRecord& e, ipc::wire::Event::Builder out) {
  out.setType(e.type);
  out.setAction(e.action);
  out.setActorId(e.actorId);
  out.setTimeNanos(e.timeNanos);
  auto attrs = out.initAttributes(static_cast<unsigned>(e.attributes.size()));
  for (unsigned i = 0; i < e.attributes.size(); ++i) {
    attrs[i].setKey(e.attributes[i].first);
    attrs[i].setValue(e.attributes[i].second);
  }
}

class StreamSink {
 public:
  virtual ~StreamSink() = default;
  /// The request is valid and has begun: the worker may send its response head now.
  /// Returns false when the worker is gone (the handler should stop).
  virtual boost::asio::awaitable<bool> accepted() = 0;
  /// Output for the client (at most ipc::kMaxChunkBytes per call; longer data is split).
  virtual boost::asio::awaitable<bool> output(OutputKind kind, std::span<const std::byte> data,
                                              std::int64_t timeNanos) = 0;
  virtual boost::asio::awaitable<bool> event(const EventRecord& event) = 0;
  /// The client's next stdin chunk; nullopt once the client half-closed, went away or the
  /// request was cancelled.
  virtual boost::asio::awaitable<std::optional<StreamInput>> input() = 0;
};

}  // namespace dockerbox::broker
