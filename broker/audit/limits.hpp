// Runs as root (broker) and as the admin's audit-verify. Input: none; named bounds of the
// audit log writer, its tail recovery and its verifier (style.md §6).
#pragma once

#include <cstddef>
#include <cstdint>

namespace dockerbox::broker::audit {

/// Longest string field the writer stores (operation, names, rule, reason, messages). Longer
/// values are cut at a UTF-8 boundary and marked, so one record can never outgrow
/// kMaxLineBytes even when every byte needs a 6-byte \u escape.
inline constexpr std::size_t kMaxFieldBytes = 1024;

/// Objects named by one request record; more are counted in `objects_omitted`. A Docker
/// operation names one or two objects (container + image, network + container).
inline constexpr std::size_t kMaxObjects = 16;

/// Longest line the verifier and the tail recovery accept. The worst case the writer can
/// produce is about 16 objects x 3 fields x 6 KiB plus 65536 supplementary groups (the
/// kernel's NGROUPS_MAX) of 11 bytes each, i.e. about 1 MiB.
inline constexpr std::size_t kMaxLineBytes = 4 * 1024 * 1024;

/// How much of an existing log's end is read at start-up to recover the chain head: two
/// maximal lines, so the last complete record is found even after a torn final write.
inline constexpr std::size_t kRecoveryWindowBytes = 2 * kMaxLineBytes;

/// Default size at which the writer rotates (before a record would cross it).
inline constexpr std::uint64_t kDefaultMaxBytes = 64ull * 1024 * 1024;

/// Default number of rotated files kept (path.1 .. path.5); older ones are overwritten.
inline constexpr unsigned kDefaultKeep = 5;

/// Rotated siblings that audit-verify picks up for a single FILE argument.
inline constexpr unsigned kMaxSiblings = 1000;

/// Requests without an outcome that a VerifyReport lists by seq (the count is always exact).
inline constexpr std::size_t kMaxListedOpenRequests = 20;

}  // namespace dockerbox::broker::audit
