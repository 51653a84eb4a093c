// RFC 3339 times with nanoseconds, as Docker writes them in json-file logs and in `docker
// logs -t`. Runs in the engine (dockerbox-engine, unprivileged). Input: the "time" field of
// the broker's own log files (the engine's own, but possibly torn by a crash), so parsing
// never trusts it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dockerbox::broker::state {

/// `2026-11-28T23:47:59.055536000Z`: UTC, always nine fraction digits (Docker's
/// RFC3339NanoFixed, the form `docker logs -t` prints).
[[nodiscard]] std::string formatRfc3339Nano(std::int64_t unixNanos);

/// Parses `YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+HH:MM|-HH:MM)` into unix nanoseconds. Anything
/// else, an impossible date, or a time outside the int64 nanosecond range gives nullopt.
[[nodiscard]] std::optional<std::int64_t> parseRfc3339Nano(std::string_view text);

}  // namespace dockerbox::broker::state
