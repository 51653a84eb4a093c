// The credentials the kernel reports for this process in /proc/self/status, read back
// after each privilege drop so that a step that silently did nothing is caught
// (style.md §4.7: read the ids and capability sets back and abort if they are wrong).
#pragma once

#include "common/result.hpp"

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

namespace dockerbox::init {

struct ProcessState {
  std::array<uid_t, 4> uids{};  // real, effective, saved, filesystem
  std::array<gid_t, 4> gids{};
  std::vector<gid_t> groups;    // supplementary, sorted
  std::uint64_t capInheritable = 0;
  std::uint64_t capPermitted = 0;
  std::uint64_t capEffective = 0;
  std::uint64_t capBounding = 0;
  std::uint64_t capAmbient = 0;
  int noNewPrivs = -1;
  int seccompMode = -1;  // 0 none, 1 strict, 2 filter
};

/// Parses the text of /proc/<pid>/status. Every field above must be present.
[[nodiscard]] Result<ProcessState> parseProcStatus(std::string_view text);

/// parseProcStatus of /proc/self/status.
[[nodiscard]] Result<ProcessState> readProcessState();

}  // namespace dockerbox::init
