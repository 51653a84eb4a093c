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

using WorkerMessage = std::variant<ValidatedRequest, StreamInput, CancelRequest>;

/// Decodes one complete frame (as produced by ipc::FrameDecoder with the worker cap).
/// Never throws: every Cap'n Proto exception becomes a BadRequest error.
[[nodiscard]] Result<WorkerMessage> decodeWorkerMessage(kj::ArrayPtr<const capnp::word> frame);

}  // namespace dockerbox::broker
