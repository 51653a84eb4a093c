// Runs in the container, as its pid 1, root with miniboxd's capabilities, after the mounts
// are confined (setUpMounts) and before anything of the user's runs. Input: the image's files
// at a volume's path (the image author's: any names, modes, owners and symlinks).
//
// Docker fills an empty volume with what the image has at the path it is mounted on
// (moby's copyExistingContents). That content lies under the volume's mount, so the init
// reads it from a clone of the root mount alone (open_tree without AT_RECURSIVE), which has
// no mount on top of it, and copies it through descriptors: nothing is looked up by a path
// the image could redirect (symlinks are copied as symlinks, never followed; the path itself
// is resolved inside the image's root, RESOLVE_IN_ROOT). Regular files, directories and
// symlinks are copied with their owners, modes and times; set-id bits are not (Docker keeps
// them; dockerbox's volumes are mounted nosuid anyway); other files are left out.
#pragma once

#include "common/result.hpp"

#include <string>

namespace dockerbox::init {

/// Fills the volume mounted at `path` (absolute) from the image's directory there, when the
/// volume is empty and the image has a directory at `path`; otherwise does nothing.
[[nodiscard]] Result<void> fillEmptyVolume(const std::string& path);

}  // namespace dockerbox::init
