// Limits of the IPC channel between a worker and the broker. Each number says why.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dockerbox::ipc {

/// Largest frame a worker may send. The biggest legitimate request is a container create
/// with its config (the HTTP body limit is 1 MiB) plus framing; stdin chunks are 64 KiB.
inline constexpr std::size_t kMaxWorkerFrameBytes = 2 * 1024 * 1024;

/// Largest frame the broker sends. Container and image lists for a busy host fit easily;
/// the frontend still refuses anything larger rather than allocating without bound.
inline constexpr std::size_t kMaxBrokerFrameBytes = 16 * 1024 * 1024;

/// Cap'n Proto traversal limit, in 8-byte words, for a worker frame: the whole frame may be
/// read once (plus a little) but an amplification attack through shared pointers may not.
inline constexpr std::uint64_t kWorkerTraversalLimitWords = kMaxWorkerFrameBytes / 8 * 2;

/// Nesting limit: our schema is at most 5 levels deep; 16 leaves room and stops recursion bombs.
inline constexpr int kNestingLimit = 16;

/// Maximum segments per frame (capnp's own segment table allows 2^32; we never need many).
inline constexpr std::uint32_t kMaxSegments = 64;

/// Bytes of a stream chunk's data.
inline constexpr std::size_t kMaxChunkBytes = 64 * 1024;

}  // namespace dockerbox::ipc
