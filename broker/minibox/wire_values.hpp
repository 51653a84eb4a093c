// Runs as root, in the broker. Conversions of miniboxd's scalar wire formats: exit codes,
// RFC 3339 timestamps and base64 (protocol sections 3, 8.4, 8.9). Pure functions, no I/O.
#pragma once

#include "common/result.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dockerbox::broker::minibox {

/// Docker's exit code for a minibox exit code. miniboxd reports a signal death as minus the
/// signal number (Run: -9) where Docker reports 128+N (137). -1 is special: miniboxd uses it for
/// "waiting failed" (Run) and "killed by some signal" (Exec), so no signal number is known and
/// we report 255, Docker's value for an unknown status, rather than pretend it was SIGHUP.
[[nodiscard]] int dockerExitCode(std::int32_t miniboxExitCode);

/// Parses `created_at` (RFC 3339: `YYYY-MM-DDTHH:MM:SS[.fraction]` with `Z` or `±HH:MM`, 0-9
/// fraction digits) into nanoseconds since the Unix epoch. Dates that int64 nanoseconds cannot
/// hold (before 1678 or after 2262) are an Error.
[[nodiscard]] Result<std::int64_t> parseRfc3339Nanos(std::string_view text);

/// Standard base64 (RFC 4648 alphabet `+/`) with padding, as miniboxd writes and expects.
[[nodiscard]] std::string base64Encode(std::span<const std::uint8_t> bytes);
/// Strict: length a multiple of 4, padding only at the end, no whitespace.
[[nodiscard]] Result<std::vector<std::uint8_t>> base64Decode(std::string_view text);

}  // namespace dockerbox::broker::minibox
