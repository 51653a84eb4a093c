// dockerbox-init from its arguments to the user's program (design.md "Confining
// containers"). Runs as host root with every capability: as pid 1 of a new container
// (Mode::Run, started by miniboxd) or inside a running one (Mode::Exec, through the host's
// nsenter). Input: the broker's records (trusted, strictly parsed) and the container's
// files (untrusted). Nothing of the init's own environment is read.
#pragma once

#include <span>
#include <string_view>

namespace dockerbox::init {

/// Everything after main(). Returns only on failure (or, in Run mode, when the program
/// has exited): the status to exit with, after printing "dockerbox-init: <what>: <why>".
[[nodiscard]] int runInit(std::span<const std::string_view> args);

}  // namespace dockerbox::init
