// Times as Docker clients expect them. Runs in: a frontend worker. Pure functions; UTC
// only (no time-zone file is reachable in the sandbox).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dockerbox::frontend {

/// Go's time.RFC3339Nano: trailing zeros of the fraction dropped ("2024-05-01T10:00:00Z",
/// "2024-05-01T10:00:00.5Z"). Docker prints Created, StartedAt and FinishedAt this way.
[[nodiscard]] std::string rfc3339Nano(std::int64_t unixNanos);

/// Go's zero time, which Docker shows for "never" (StartedAt of a created container).
inline constexpr std::string_view kZeroTime = "0001-01-01T00:00:00Z";

/// Docker's RFC3339NanoFixed: always nine digits ("2024-05-01T10:00:00.000000000Z"), used
/// for log timestamps so that they line up.
[[nodiscard]] std::string rfc3339NanoFixed(std::int64_t unixNanos);

/// A `since`/`until` query value as dockerd reads it (api/types/time.GetTimestamp with
/// unix seconds, possibly fractional: "1700000000", "1700000000.5"): unix nanoseconds.
/// nullopt for anything else (RFC 3339 text and durations are resolved by the CLI).
[[nodiscard]] std::optional<std::int64_t> parseUnixTimestamp(std::string_view text);

}  // namespace dockerbox::frontend
