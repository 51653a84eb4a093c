// The read-back of the container's mount table after dockerbox-init built it: the rules
// are checked on /proc/self/mountinfo as the kernel reports it, not on what the setup
// code believes it did.
#pragma once

#include "common/result.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace dockerbox::init {

/// One line of /proc/self/mountinfo (paths with their \ooo escapes decoded).
struct MountEntry {
  std::string root;        // the path inside the mounted filesystem ("/null" for a node)
  std::string mountPoint;
  std::vector<std::string> options;  // per-mount: rw/ro, nosuid, nodev, noexec, ...
  std::string fsType;
};

/// The host device nodes the container's /dev gets, by name, and so the roots ("/null")
/// of the only mounts that may let device files be opened.
inline constexpr std::string_view kDeviceNodeNames[] = {"null",   "zero",    "full",
                                                        "random", "urandom", "tty"};

[[nodiscard]] Result<std::vector<MountEntry>> parseMountInfo(std::string_view text);

/// The rules, for every mount of the namespace:
///  - no devtmpfs mount but single host nodes (root "/null", ...), and those, wherever
///    they are mounted (/dev/null, or over a masked /proc file), are ro,nosuid,noexec;
///  - the devpts instance at /dev/pts is nosuid,noexec (its pty nodes must open);
///  - every other mount is nosuid,nodev, so a node made later with mknod is inert.
[[nodiscard]] Result<void> checkMountTable(const std::vector<MountEntry>& mounts);

}  // namespace dockerbox::init
