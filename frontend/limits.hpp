// Limits of a frontend worker. Runs in: every frontend worker (sandboxed, unprivileged).
// Every read has a size cap and every wait a deadline (style.md §6); each number says why.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace dockerbox::frontend {

/// Bytes of one request head (request line plus all header fields). The docker CLI sends
/// about 300 bytes; X-Registry-Config with many stored credentials is the largest header a
/// real client sends and stays well under 16 KiB. 64 KiB leaves room without letting a
/// client park megabytes per connection.
inline constexpr std::uint32_t kMaxHeaderBytes = 64 * 1024;

/// Bytes of one request body after chunked decoding. The largest JSON bodies are container
/// create configs (a few KiB; a huge Env list stays under 100 KiB). Tar uploads (build,
/// archive PUT) will be streamed, not buffered, when they are added. Must stay below what
/// ipc::kMaxWorkerFrameBytes can carry.
inline constexpr std::uint64_t kMaxBodyBytes = 1024 * 1024;

/// Largest image config an image inspect shows (the engine sends none larger; a reply frame
/// to a worker is at most 2 MiB, ipc/limits.hpp).
inline constexpr std::size_t kMaxImageConfigBytes = 1024 * 1024;

/// How long a keep-alive connection may sit idle, or dribble its request head. The docker
/// CLI and the SDKs reconnect transparently when an idle connection is closed.
inline constexpr std::chrono::seconds kIdleTimeout{120};

/// How long the body of a request may take once its head has arrived.
inline constexpr std::chrono::seconds kRequestBodyTimeout{60};

/// How long writing one response may take (a client that stops reading is dropped).
inline constexpr std::chrono::seconds kWriteTimeout{60};

/// How long a non-streaming IPC call may wait for the broker. The broker itself bounds its
/// miniboxd calls well below this; past it the broker is considered stuck (503).
inline constexpr std::chrono::seconds kBrokerReplyTimeout{120};

/// How long a pull, or a start (which may pull the image first), may wait for the broker:
/// the broker allows miniboxd 30 minutes for the first reply to Pull and Run
/// (broker/minibox/limits.hpp); this must be longer, or the worker would give up first.
inline constexpr std::chrono::minutes kPullReplyTimeout{31};

/// Extra time a stop or restart gets on top of its `t` seconds: the grace period runs in
/// the broker before it answers.
inline constexpr std::chrono::seconds kStopReplySlack{kBrokerReplyTimeout};

/// Pause between a hijacked response head (101) and the first output bytes. docker-py reads
/// the head through a buffered reader and loses bytes that arrive in the same read
/// (client-flows.md 1.12 and 5.7, docker-py issue #3332); 20 ms lost nothing in 30 tries.
inline constexpr std::chrono::milliseconds kHijackFirstOutputDelay{20};

/// Bytes of client stdin read per read on a hijacked connection; each read becomes one
/// StreamChunk, which must stay within ipc::kMaxChunkBytes.
inline constexpr std::size_t kStdinReadChunkBytes = 32 * 1024;

/// Bytes of a pipelined next request kept while a chunked stream runs (the watch for the
/// client leaving reads them); past this the worker stops reading until the stream ends.
inline constexpr std::size_t kPipelinedBytesWhileStreaming = 64 * 1024;

/// Nesting depth of a JSON request body. Docker's deepest create body (HostConfig ->
/// Mounts -> VolumeOptions -> DriverConfig -> Options) is 6 levels.
inline constexpr std::size_t kMaxJsonDepth = 32;

/// Items in one JSON array or object of a request body. The broker accepts at most 4096
/// arguments (its kMaxArgs) and 1024 items in other lists; anything longer is refused here,
/// before a message that could outgrow an IPC frame is built.
inline constexpr std::size_t kMaxJsonItems = 4096;

/// Traversal limit (8-byte words) for reading one broker frame: the frame once, twice over.
inline constexpr std::uint64_t kBrokerTraversalLimitWords = 16 * 1024 * 1024 / 8 * 2;

/// Broker frames queued for one in-flight request before the reader waits for the session
/// (back-pressure for future stream chunks; a plain call needs one).
inline constexpr std::size_t kFramesQueuedPerRequest = 16;

/// Outgoing IPC frames queued before a sender waits.
inline constexpr std::size_t kOutgoingFramesQueued = 16;

/// How long a worker whose client left waits for its last frames (a cancel) to reach the
/// broker before it closes the channel anyway. The broker reads its channels constantly;
/// past this it is stuck, and closing cancels everything there too.
inline constexpr std::chrono::seconds kIpcDrainTimeout{5};

/// Bytes read from the IPC channel per read.
inline constexpr std::size_t kIpcReadChunkBytes = 64 * 1024;

/// Length of a `filters` query value (JSON). Real clients send a few hundred bytes.
inline constexpr std::size_t kMaxFiltersBytes = 16 * 1024;

/// Values per filter key, and bytes per value.
inline constexpr std::size_t kMaxFilterValues = 64;
inline constexpr std::size_t kMaxFilterValueBytes = 1024;

}  // namespace dockerbox::frontend
