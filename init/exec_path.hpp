// The last step of dockerbox-init: find the user's program as execvp does, with the PATH
// of the program's own environment (never the init's), and exec it.
//
// Runs after the privilege drop, so every lookup is made with the user's rights: a
// directory the user cannot search is skipped as execvp skips it.
#pragma once

#include "common/result.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace dockerbox::init {

/// Exit codes Docker gives a command that could not be started.
inline constexpr int kExitCannotExecute = 126;  // found but not executable
inline constexpr int kExitNotFound = 127;       // not found, and every other init failure

/// The program's environment: `env` as given, plus HOME=`home` and kDefaultPathEnv when
/// `env` sets no HOME or PATH.
[[nodiscard]] std::vector<std::string> programEnvironment(const std::vector<std::string>& env,
                                                          std::string_view home);

/// The value of PATH in `env` (the last definition wins, as getenv after putenv would
/// see it), or "" when there is none.
[[nodiscard]] std::string_view pathValue(const std::vector<std::string>& env);

/// execvp's search: a name with '/' is returned as is; otherwise each PATH entry in turn
/// ("" is the current directory). An entry that exists but may not be executed is
/// skipped and remembered: then the error is Forbidden (exit 126), else NotFound (127),
/// with Docker's text `exec: "<name>": executable file not found in $PATH`.
[[nodiscard]] Result<std::string> findExecutable(std::string_view name, std::string_view path);

/// execve(path, argv, env). Returns only on failure: NotFound for ENOENT or ENOTDIR,
/// Forbidden for anything else (found but not executable).
[[nodiscard]] Error execProgram(const std::string& path, const std::vector<std::string>& argv,
                                const std::vector<std::string>& env);

/// The exit status for a failure: 126 for Forbidden, 127 otherwise.
[[nodiscard]] int exitCodeFor(const Error& error);

}  // namespace dockerbox::init
