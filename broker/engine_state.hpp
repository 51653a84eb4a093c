// The state directory's layout and ownership, made before the engine starts. Runs as root.
// Input: the administrator's paths; the tree under <state dir>/engine, written by the
// unprivileged engine, is walked without following links.
//
//   <state dir>/           root, 0700: nothing of the engine's reaches root's files
//   <state dir>/seal.key   root, 0600: the monitor's seals (monitor/seal.hpp)
//   <state dir>/engine/    the engine's user, 0700: state.db and captured output, which
//                          the engine sees as /state in its sandbox
#pragma once

#include "common/result.hpp"

#include <sys/types.h>

#include <string>

namespace dockerbox::broker {

/// Creates the state directory (root's, 0700) and the engine's directory in it, moves the
/// state of a dockerboxd that ran the engine in-process (state.db*, containers/) into the
/// engine's directory, and gives that directory to the engine's user when it is not
/// already its own (first start, an earlier layout, a changed DOCKERBOX_ENGINE_USER): only
/// directories and singly-linked regular files change owner, nothing is followed.
[[nodiscard]] Result<void> prepareEngineState(const std::string& stateDir, uid_t uid, gid_t gid);

}  // namespace dockerbox::broker
