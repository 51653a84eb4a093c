// Runs in the container, as its pid 1, root with miniboxd's capabilities, while it sets up
// the mounts (setUpMounts). Input: the broker's tmpfs records (checked by the parser).
//
// `--tmpfs PATH:OPTIONS` and `--mount type=tmpfs`: a tmpfs made with the new mount API
// (fsopen, fsconfig, fsmount) nosuid,nodev (noexec unless asked, read-only where asked) and
// attached to the target by descriptor. The target is resolved inside the container's root
// (RESOLVE_IN_ROOT: an image's symlink cannot send it outside) and each missing directory
// on the way is made, as runc makes mount points.
#pragma once

#include "common/result.hpp"
#include "init/config.hpp"

namespace dockerbox::init {

[[nodiscard]] Result<void> mountTmpfs(const Tmpfs& tmpfs);

}  // namespace dockerbox::init
