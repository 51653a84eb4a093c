// dockerboxctl status: a summary of the running dockerboxd (status.cpp).
#pragma once

#include "broker/status_file.hpp"
#include "common/result.hpp"

#include <string>

namespace dockerbox::ctl {

/// Reads <run dir>/status. Refuses a file that is not a regular file owned by root and
/// writable by root alone: whoever could write it could make the status say anything.
[[nodiscard]] Result<broker::DaemonStatus> readStatusFile(const std::string& path);

// Exit statuses, as LSB init scripts use them for "status".
inline constexpr int kStatusProblem = 1;     // running, but something is wrong (listed)
inline constexpr int kStatusUsage = 2;
inline constexpr int kStatusNotRunning = 3;  // no dockerboxd (no status file, or its pid is gone)

/// argv[0] is "status". Prints the summary on stdout; 0 when all is well.
int runStatus(int argc, char** argv);

}  // namespace dockerbox::ctl
