// libFuzzer target: /proc/self/mountinfo as dockerbox-init reads it back. The kernel writes
// it, but mount points carry names the image and the client chose (bind targets, image
// directories), escaped as \ooo. No input may crash or hang the parser or the checker, and
// a table the checker accepts must really have every mount nodev but the allowed ones.
#include "init/mount_check.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {
void check(bool condition) {
  if (!condition) std::abort();
}
bool has(const dockerbox::init::MountEntry& m, std::string_view option) {
  return std::find(m.options.begin(), m.options.end(), option) != m.options.end();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto mounts = dockerbox::init::parseMountInfo(text);
  if (!mounts) return 0;
  if (!dockerbox::init::checkMountTable(*mounts)) return 0;
  for (const auto& m : *mounts) {
    check(has(m, "nosuid"));
    // Only a single cloned device node (read-only, noexec) or the devpts instance may let
    // device files be opened.
    bool nodeMount = (m.fsType == "devtmpfs" || m.fsType == "tmpfs") && has(m, "ro") && has(m, "noexec");
    check(has(m, "nodev") || nodeMount || m.fsType == "devpts");
    if (m.fsType == "devtmpfs") check(has(m, "ro"));
  }
  return 0;
}
