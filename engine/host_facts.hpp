// Facts about the host shown by /version and /info, gathered by the engine before it enters
// its sandbox (where /etc and /proc are out of reach). Runs as root, at the engine's
// start-up; input: the local system only.
#pragma once

#include <cstdint>
#include <string>

namespace dockerbox::broker {

struct HostFacts {
  std::string hostname;
  std::string kernelVersion;    // uname -r
  std::string operatingSystem;  // PRETTY_NAME of /etc/os-release
  std::string architecture;     // Go naming: amd64, arm64, ...
  std::uint32_t ncpu = 0;
  std::uint64_t memTotal = 0;   // bytes
};

[[nodiscard]] HostFacts readHostFacts();

}  // namespace dockerbox::broker
