// Runs as root. Input: untrusted frames from a frontend worker.
//
// The one door (style.md §4.1): every byte a worker sends enters the broker through
// decodeRequest. It opens the frame with explicit traversal and nesting limits, checks
// every union tag, enum and bound, and copies the request into owned values. After it
// returns, no broker code holds a reader or a raw string from the frontend.
#pragma once

#include "broker/request.hpp"
#include "common/result.hpp"

#include <capnp/common.h>
#include <kj/array.h>

#include <cstdint>
#include <cstddef>
#include <variant>
#include <vector>

namespace dockerbox::broker {

/// Client bytes for a running stream (stdin of attach/exec).
struct StreamInput {
  std::uint64_t requestId = 0;
  std::vector<std::byte> data;  // at most ipc::kMaxChunkBytes
  bool end = false;            // the client half-closed
};
struct CancelRequest {
  std::uint64_t requestId = 0;
};

/// A well-formed request whose fields a Docker client got wrong (a name too long, an empty
/// exec command): answered with the error, unlike a malformed frame, which closes the channel.
struct RejectedRequest {
  std::uint64_t id = 0;
  std::string_view operation;  // audit name, from kOperations
  Error error;
};

using WorkerMessage = std::variant<ValidatedRequest, StreamInput, CancelRequest, RejectedRequest>;

/// Decodes one complete frame (as produced by ipc::FrameDecoder with the worker cap).
/// Never throws: every Cap'n Proto exception becomes an error, and any error returned
/// means the frame is malformed and the channel must be closed.
[[nodiscard]] Result<WorkerMessage> decodeWorkerMessage(kj::ArrayPtr<const capnp::word> frame);

}  // namespace dockerbox::broker
