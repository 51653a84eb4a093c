// The bytes of a stored record (a config as Cap'n Proto words, a seal's subject): shared by
// the engine's state, which keeps them, and the monitor, which seals and reads them. No
// SQLite here: the monitor must not link it.
#pragma once

#include <cstdint>
#include <vector>

namespace dockerbox::broker::state {

using Blob = std::vector<std::uint8_t>;

}  // namespace dockerbox::broker::state
