// The daemon's account of itself for `dockerboxctl status`: written by dockerboxd (root) to
// <run dir>/status when it is ready and after every reload, removed when it exits; read by
// dockerboxctl. Plain `key=value` lines, one value per line (control characters replaced),
// written atomically (a temporary file renamed over the old one). The reader is in ctl/.
#pragma once

#include "common/result.hpp"

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace dockerbox::broker {

struct DaemonStatus {
  pid_t pid = 0;
  std::string version;
  std::int64_t startedAt = 0;  // unix seconds
  std::string socketPath;
  bool socketActivated = false;
  std::string miniboxSocket;
  std::string initPath;  // empty: containers cannot be confined (only privileged rules run them)
  std::string policyPath;
  bool policyValid = false;                // false: no policy is in force, everything is denied
  std::vector<std::string> policyRules;    // the rule names in force, in file order
  std::int64_t policyLoadedAt = 0;         // unix seconds of the load now in force
  std::string policySha256;                // of the file as read right after that load
  std::string lastReloadError;             // empty when the last load or reload succeeded
  std::string auditLogPath;
};

/// `<runDir>/status`.
[[nodiscard]] std::string statusFilePath(const std::string& runDir);

/// Writes the file (mode 0644: nothing in it is secret; the run directory is root's).
[[nodiscard]] Result<void> writeStatusFile(const std::string& path, const DaemonStatus& status);

}  // namespace dockerbox::broker
