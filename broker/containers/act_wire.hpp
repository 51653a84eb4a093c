// The acts channel between the container service and the monitor (ipc/acts.capnp): frames
// on a Unix stream socket, and the conversions between the port's plain values and the
// schema. Input (both directions): frames from the other side, size-capped before anything
// is allocated and opened under reader limits; every enum is range-checked on the way in.
#pragma once

#include "broker/containers/monitor_port.hpp"
#include "common/result.hpp"
#include "ipc/acts.capnp.h"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <capnp/message.h>
#include <kj/array.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

namespace dockerbox::broker::containers {

/// Interim replies of one act the monitor may have sent and the engine not yet consumed.
inline constexpr std::size_t kActWindow = 8;
/// Largest stdin chunk of one `input` act (the worker's stream chunks are at most this).
inline constexpr std::size_t kMaxInputChunk = 64 * 1024;
/// Largest acts frame either side accepts (a container list of a few thousand entries).
inline constexpr std::size_t kMaxActFrameBytes = 16 * 1024 * 1024;

/// One side of the acts channel: a reader that hands every complete frame to `onFrame` (in
/// order, on the socket's executor) and a writer that sends queued frames in order. Ends
/// (and calls `onClosed` once) at EOF, on an error, on an oversized frame, or on close().
class ActLink : public std::enable_shared_from_this<ActLink> {
 public:
  using OnFrame = std::function<void(kj::Array<capnp::word> frame)>;
  static std::shared_ptr<ActLink> start(boost::asio::local::stream_protocol::socket socket, OnFrame onFrame,
                                        std::function<void()> onClosed);
  ~ActLink();

  /// Queues a frame; false once the link is closed.
  bool send(capnp::MessageBuilder& message);
  void close();
  [[nodiscard]] bool open() const { return !closed_; }

  struct State;

 private:
  explicit ActLink(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
  bool closed_ = false;
};

// Conversions. The *Of readers validate what the schema cannot (enum ranges).
void toWire(const SealedRecord& record, ipc::acts::SealedRecord::Builder out);
[[nodiscard]] SealedRecord sealedRecordOf(ipc::acts::SealedRecord::Reader in);
void toWire(const Error& error, ipc::acts::ActError::Builder out);
[[nodiscard]] Error errorOf(ipc::acts::ActError::Reader in);
void toWire(const minibox::ContainerInfo& info, ipc::acts::ContainerInfo::Builder out);
[[nodiscard]] Result<minibox::ContainerInfo> containerInfoOf(ipc::acts::ContainerInfo::Reader in);
void toWire(const minibox::ContainerEvent& event, ipc::acts::ContainerEvent::Builder out);
[[nodiscard]] Result<minibox::ContainerEvent> containerEventOf(ipc::acts::ContainerEvent::Reader in);
void toWire(const ImageDefaults& image, ipc::acts::ImageDefaults::Builder out);
[[nodiscard]] Result<ImageDefaults> imageDefaultsOf(ipc::acts::ImageDefaults::Reader in);
void toWire(const BoundPort& port, ipc::wire::BoundPort::Builder out);
[[nodiscard]] BoundPort boundPortOf(ipc::wire::BoundPort::Reader in);
[[nodiscard]] ipc::acts::Protocol toWire(minibox::Protocol protocol);
[[nodiscard]] Result<minibox::Protocol> protocolOf(ipc::acts::Protocol protocol);

/// Opens a frame under the acts reader limits.
[[nodiscard]] capnp::ReaderOptions actReaderOptions();

}  // namespace dockerbox::broker::containers
