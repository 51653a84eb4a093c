// Parsing registry JSON with bounds. Runs in: dockerbox-registry and the engine.
#pragma once

#include "common/result.hpp"

#include <boost/json/value.hpp>

#include <string_view>

namespace dockerbox::registry {

/// Parses `text` as one JSON value, nesting at most 32 deep (Boost.JSON's default), no
/// comments or trailing commas. The caller caps the size.
[[nodiscard]] Result<boost::json::value> parseLimitedJson(std::string_view text);

}  // namespace dockerbox::registry
