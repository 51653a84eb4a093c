// Docker-shaped identifiers for objects miniboxd names differently. Runs as root.
#pragma once

#include <string>
#include <string_view>

namespace dockerbox::broker {

/// A 64-hex Docker id for a 16-hex minibox id: the minibox id right-padded with zeros, so
/// that the first 16 digits (and any prefix of them) still name the same container.
/// TODO(soon): the containers issue replaces this with ids kept in dockerbox's own state,
/// so that a restart keeps the Docker id while miniboxd hands out a new one.
[[nodiscard]] std::string dockerIdFromMinibox(std::string_view miniboxId);

/// "sha256:<64 hex>" derived from an image store name. miniboxd reports no image ids, so
/// this is stable per name and only ever used as an opaque handle.
[[nodiscard]] std::string imageIdFromStoreName(std::string_view storeName);

/// Lowercase hex SHA-256 of `bytes`.
[[nodiscard]] std::string sha256Hex(std::string_view bytes);

}  // namespace dockerbox::broker
