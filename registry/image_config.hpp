// The image configuration (OCI image spec "config.md", Docker's container config subset):
// what an image's author set for the containers made from it. Runs in: dockerbox-registry
// and the engine (unprivileged). Input: a config blob whose digest the caller verified,
// still untrusted content.
#pragma once

#include "common/result.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dockerbox::registry {

struct HealthConfig {
  std::vector<std::string> test;  // ["NONE"], ["CMD", …], ["CMD-SHELL", "…"]
  std::int64_t interval = 0, timeout = 0, startPeriod = 0, startInterval = 0;  // nanoseconds
  std::int64_t retries = 0;
};

struct ImageConfig {
  std::string architecture, os, variant;
  std::string created;  // RFC 3339, as written; may be empty
  std::string author;
  // config
  std::optional<std::vector<std::string>> entrypoint;
  std::optional<std::vector<std::string>> cmd;
  std::vector<std::string> env;
  std::string workingDir, user, stopSignal;
  std::vector<std::pair<std::string, std::string>> labels;  // sorted by key
  std::vector<std::string> exposedPorts;                    // "80/tcp", sorted
  std::vector<std::string> volumes;                         // sorted
  std::optional<HealthConfig> healthcheck;
  std::vector<std::string> onBuild;
  std::optional<std::vector<std::string>> shell;
  // rootfs
  std::vector<std::string> diffIds;  // sha256:…, one per layer
};

/// Caps: 4,096 entries in any list or map, 64 KiB per string.
[[nodiscard]] Result<ImageConfig> parseImageConfig(std::string_view body);

}  // namespace dockerbox::registry
