// Docker's rules for container names and ids, and their error texts. Runs in the engine, and
// in the monitor (id checks, nonces). Input: names and id references as the client sent
// them (untrusted text that the decoder has only length-checked).
#pragma once

#include "common/result.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace dockerbox::broker::state {

/// Docker's own cap on a container name.
inline constexpr std::size_t kMaxNameLength = 255;

/// Source of fresh 64-hex ids. Production uses randomDockerId(); tests inject their own to
/// control id prefixes.
using IdGenerator = std::function<Result<std::string>()>;

/// `n` bytes from the kernel CSPRNG (getrandom), as lowercase hex.
[[nodiscard]] Result<std::string> randomHex(std::size_t bytes);

/// A Docker-style id: 32 random bytes as 64 lowercase hex. Like Docker, an id whose 12-char
/// short form is all decimal digits is drawn again, so the short id never parses as a
/// number in scripts that treat it as one.
[[nodiscard]] Result<std::string> randomDockerId();

/// true for exactly 64 lowercase hex digits.
[[nodiscard]] bool isFullId(std::string_view text);
/// true for 1..64 lowercase hex digits (a candidate id prefix).
[[nodiscard]] bool isIdPrefix(std::string_view text);

/// Checks a container name against Docker's `^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$` (at least two
/// characters) and kMaxNameLength, and returns it without the leading '/'.
/// Error: BadRequest with Docker's text `Invalid container name (<name>), only
/// [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed` (the name as given, slash included).
[[nodiscard]] Result<std::string> normaliseContainerName(std::string_view untrustedName);

/// Docker's 409 text for a name held by `holderId` (`name` without the leading '/').
[[nodiscard]] Error nameConflict(std::string_view name, std::string_view holderId);

/// `No such container: <ref>` (NotFound), Docker's text.
[[nodiscard]] Error noSuchContainer(std::string_view ref);

/// A Docker-style `adjective_surname` name chosen with `pick(n)` returning 0..n-1. With
/// `attempt` > 0 a suffix is appended (Docker appends a digit; we append the attempt number
/// so that a full namespace of the ~1000 plain combinations still terminates).
[[nodiscard]] std::string dockerStyleName(const std::function<std::uint32_t(std::uint32_t)>& pick,
                                          int attempt);

/// Uniform pick in 0..n-1 from getrandom; 0 if the kernel refuses (names need no secrecy).
[[nodiscard]] std::uint32_t randomBelow(std::uint32_t n);

}  // namespace dockerbox::broker::state
