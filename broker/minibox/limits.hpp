// Runs as root, in the broker. Limits and deadlines of the miniboxd client. miniboxd is a
// trusted peer, but a wedged or buggy daemon must not pin broker memory or a coroutine forever.
#pragma once

#include <chrono>
#include <cstddef>

namespace dockerbox::broker::minibox {

/// Longest reply line accepted from miniboxd, newline excluded. The biggest legitimate line is
/// a ContainerList of a busy host (about 300 bytes per container: 8 MiB is ~25,000 containers)
/// or an ImageList; an output chunk is at most 4096 raw bytes. Longer lines are refused.
inline constexpr std::size_t kMaxReplyLineBytes = 8 * 1024 * 1024;

/// miniboxd refuses request lines over 1 MiB including the newline (protocol section 2); we
/// refuse them before sending so the error names our request instead of "request too large".
inline constexpr std::size_t kMaxRequestBytes = 1024 * 1024;

/// Total log text collected by Client::logs(). miniboxd replays an ephemeral container's whole
/// stdout.log every time; the broker keeps its own copy of output (protocol 8.5), so this path
/// only needs to cover modest logs and must not let one container exhaust broker memory.
inline constexpr std::size_t kMaxCollectedLogBytes = 16 * 1024 * 1024;

/// JSON nesting accepted in a reply. The deepest reply (Event -> event -> timestamp, or a
/// ContainerList) is 4 levels; HEAD's PipelineComplete.trace is free-form, 32 is plenty.
inline constexpr std::size_t kMaxReplyJsonDepth = 32;

/// Idle connections kept for reuse. The broker serialises most work through a handful of
/// concurrent requests; more idle sockets would only hold daemon-side tasks open.
inline constexpr std::size_t kMaxIdleConnections = 4;

/// connect() to a local Unix socket completes at once or fails at once; a delay means the
/// daemon's accept backlog is full, i.e. it is wedged.
inline constexpr std::chrono::milliseconds kConnectTimeout{5'000};

/// Writing one request (at most 1 MiB) to a local socket. miniboxd reads a connection's next
/// line only between requests, but our pool never writes while a reply is pending.
inline constexpr std::chrono::milliseconds kWriteTimeout{10'000};

/// First reply to a quick request. Stop alone takes SIGTERM + 2 s + SIGKILL; Remove deletes a
/// container's files. A minute covers a loaded host without hanging a client for long.
inline constexpr std::chrono::milliseconds kReplyTimeout{60'000};

/// First reply to Pull or Run. Both may download an image and miniboxd streams no progress
/// (protocol 7.6), so the only signal is the final answer; large images on slow links take long.
inline constexpr std::chrono::milliseconds kPullTimeout{30 * 60'000};

/// Longest silence between two messages of a stream (ephemeral Run output, Exec output, event
/// subscription). A container may legitimately print nothing for hours; this only keeps a
/// wedged daemon from pinning a connection forever. Callers cancel streams much earlier.
inline constexpr std::chrono::milliseconds kStreamIdleTimeout{24 * 3600'000};

}  // namespace dockerbox::broker::minibox
