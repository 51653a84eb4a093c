// Bounds of dockerbox's durable state. Runs in the engine (dockerbox-engine, unprivileged);
// no input of its own, every number here caps something a client can make the broker store
// (style.md §6).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace dockerbox::broker::state {

/// Events kept for `/events?since=` replay. Docker keeps 256 in memory and loses them at a
/// restart; we keep more because they survive restarts and each row is small (~200 bytes,
/// so ~2 MB). The oldest are deleted in the same transaction that appends a new one.
inline constexpr std::int64_t kEventRetention = 10000;

/// How long a statement waits for a lock held by another connection. The engine is the
/// only writer, so this only covers an operator running `sqlite3 state.db` by hand.
inline constexpr std::chrono::milliseconds kBusyTimeout{5000};

/// Finished execs kept per container. Docker forgets exec records of a container only when
/// it is removed; `docker exec` in a loop against a long-lived container would otherwise
/// grow the database without bound. Running execs are never pruned.
inline constexpr std::int64_t kMaxFinishedExecsPerContainer = 256;

/// A log file is rotated to `-json.log.1` when the next write would take it past this size,
/// so a container keeps at most about twice this much output (Docker's json-file default
/// is unbounded; `--log-opt max-size=10m` is the common setting and the one we copy).
inline constexpr std::uint64_t kMaxLogFileBytes = 10 * 1024 * 1024;

/// Longest payload of one log record. Docker's copier also cuts lines at 16 KiB and marks
/// the pieces as partial; a reader never has to hold a longer JSON line than this (after
/// escaping, at most 6x) plus the other fields.
inline constexpr std::size_t kMaxLogRecordBytes = 16 * 1024;

/// A log line in the file longer than this is treated as malformed without being parsed
/// (6x for `\u00XX` escapes of the payload, plus room for the other fields).
inline constexpr std::size_t kMaxLogLineBytes = 6 * kMaxLogRecordBytes + 256;

}  // namespace dockerbox::broker::state
