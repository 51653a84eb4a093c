// Docker-shaped identifiers for objects miniboxd names differently (container ids are
// dockerbox's own, kept in its state). Runs as root.
#pragma once

#include <string>
#include <string_view>

namespace dockerbox::broker {

/// "sha256:<64 hex>" derived from an image store name. miniboxd reports no image ids, so
/// this is stable per name and only ever used as an opaque handle.
[[nodiscard]] std::string imageIdFromStoreName(std::string_view storeName);

/// Lowercase hex SHA-256 of `bytes`.
[[nodiscard]] std::string sha256Hex(std::string_view bytes);

}  // namespace dockerbox::broker
