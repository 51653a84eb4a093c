// Runs as root, in the monitor. Input: volume names from acts (checked here) and from sealed
// container configs; the owner is always the caller the monitor registered for the request
// or a sealed record's owner, never a word of the engine's.
//
// Named and anonymous volumes (issue 11, item 3): directories dockerbox owns, in a tree only
// root can enter, so that nothing a container writes into one (a set-id file of host root's,
// a device node) is reachable from the host (P10); containers get them nosuid,nodev through
// the same pinned mounts as binds (bind_pin.hpp).
//
//   <volumes dir>/               0700 root
//     <name>/                    0700 root: one volume
//       owner                    "<uid> <gid>\n": who created it (root's own record, P9)
//       _data/                   0755 root: what containers see
//
// A volume appears whole or not at all: it is built under ".new-<random>" and renamed into
// place (RENAME_NOREPLACE); removal renames it to ".gone-<random>" first, then deletes the
// tree through descriptors, following no symlink a container left in it. Names are
// Docker's ("[a-zA-Z0-9][a-zA-Z0-9_.-]+"), so they never start with ".".
#pragma once

#include "common/result.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dockerbox::broker::monitor {

struct VolumeOwner {
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
};

class VolumeStore {
 public:
  /// `dir` empty: no volumes (every act on one is refused).
  explicit VolumeStore(std::string dir) : dir_(std::move(dir)) {}

  /// Makes volume `name` owned by `owner`. true: made now; false: it existed already (its
  /// owner is then whoever made it: see owner()).
  [[nodiscard]] Result<bool> create(const std::string& name, VolumeOwner owner);
  /// Who made volume `name`; nullopt when there is none.
  [[nodiscard]] Result<std::optional<VolumeOwner>> owner(const std::string& name) const;
  /// The host path of what containers see of volume `name` (it need not exist).
  [[nodiscard]] std::string dataPath(const std::string& name) const;
  /// Removes volume `name` and everything in it. NotFound when there is none.
  [[nodiscard]] Result<void> remove(const std::string& name);
  /// Every volume's name (the ones being made or removed left out).
  [[nodiscard]] Result<std::vector<std::string>> names() const;
  /// At start-up: removes what a monitor that died mid-create or mid-remove left behind.
  void clearLeftovers();

 private:
  [[nodiscard]] Result<int> openRoot() const;  // a descriptor the caller owns

  std::string dir_;
};

}  // namespace dockerbox::broker::monitor
