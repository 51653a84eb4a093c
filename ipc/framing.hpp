// Framing of Cap'n Proto messages on a Unix stream channel: the standard segment-table
// serialization, with a size cap enforced from the prefix before anything is allocated.
// No decisions about content are made here.
#pragma once

#include "common/result.hpp"

#include <capnp/message.h>
#include <kj/array.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace dockerbox::ipc {

/// Serializes a built message into one frame (segment table + segments).
[[nodiscard]] std::vector<std::byte> encodeFrame(capnp::MessageBuilder& message);

/// Reassembles frames from a byte stream. Refuses (and stays failed) on a frame whose
/// announced size exceeds `maxFrameBytes` or whose segment table is absurd.
class FrameDecoder {
 public:
  explicit FrameDecoder(std::size_t maxFrameBytes) : maxFrameBytes_(maxFrameBytes) {}

  /// Appends bytes read from the channel. Fails when the buffered, still incomplete frame
  /// has already announced more than the cap.
  [[nodiscard]] Result<void> feed(std::span<const std::byte> bytes);

  /// Takes the next complete frame, if one is buffered. The words are aligned for
  /// capnp::FlatArrayMessageReader.
  [[nodiscard]] Result<std::optional<kj::Array<capnp::word>>> next();

  /// Bytes buffered but not yet taken (a non-zero value at EOF means a truncated frame).
  [[nodiscard]] std::size_t pending() const { return buffer_.size(); }

 private:
  [[nodiscard]] Result<std::size_t> announcedBytes() const;  // 0: prefix incomplete

  std::size_t maxFrameBytes_;
  std::vector<std::byte> buffer_;
  bool failed_ = false;
};

/// Options for opening a frame: explicit traversal and nesting limits (always set).
[[nodiscard]] capnp::ReaderOptions readerOptions(std::uint64_t traversalLimitWords);

}  // namespace dockerbox::ipc
