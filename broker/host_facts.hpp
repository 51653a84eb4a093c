// Facts about the host shown by /version and /info, gathered by the broker (the sandboxed
// frontend cannot read /etc or /proc). Runs as root; input: the local system only.
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
