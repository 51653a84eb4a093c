// minibox-sim: starting container and exec processes as real host processes. Runs in the
// simulator (root); the child drops to an unprivileged user before exec. There is no image
// filesystem, namespace set or cgroup: a "container" is a process group of its own.
#pragma once

#include "common/result.hpp"
#include "common/unique_fd.hpp"

#include <sys/types.h>

#include <string>
#include <vector>

namespace dockerbox::sim {

/// The unprivileged account every container and exec process runs as (`--run-as`).
struct RunAs {
  std::string user;
  uid_t uid = 0;
  gid_t gid = 0;
};

/// Resolves a user name (or a numeric uid) with getpwnam_r/getpwuid_r.
[[nodiscard]] Result<RunAs> lookupRunAs(const std::string& user);

/// How the command is executed, which decides what a failed exec looks like to the client.
enum class ExecStyle {
  /// Run: plain execve of command[0], no PATH search; failure exits 127 silently (§7.1).
  Container,
  /// Exec: as upstream's `nsenter -- cmd`: execvp with the request env's PATH (glibc's
  /// default when unset), nsenter's messages on stderr, 127/126 on failure, exit 1 when
  /// the working directory cannot be entered (§7.8).
  Exec,
};

struct SpawnSpec {
  std::vector<std::string> argv;  // non-empty
  std::vector<std::string> env;   // the complete environment
  std::string cwd = "/";
  int stdinFd = -1;   // borrowed; dup2'ed onto 0/1/2 in the child
  int stdoutFd = -1;
  int stderrFd = -1;
  bool controllingTty = false;  // stdin is a pty slave that becomes the controlling tty
  ExecStyle style = ExecStyle::Container;
  RunAs runAs;
  /// Container only: best effort new UTS (hostname) and, unless empty, network namespace,
  /// mimicking `minibox-<id8>` and NetworkMode None. Failure is ignored (no privileges).
  std::string hostname;
  bool isolateNetwork = false;
};

/// A forked child and the read end of its CLOEXEC status pipe.
struct Forked {
  pid_t pid = -1;
  UniqueFd status;
};

/// Size of the record a child writes on its status pipe when its setup fails.
inline constexpr std::size_t kChildFailureBytes = 2 * sizeof(int);

/// Forks; the child becomes a session and process-group leader (so the pid is also the
/// group to signal), drops to spec.runAs and execs. Returns at once: EOF on `status` means
/// the exec happened; a kChildFailureBytes record means setup failed (the child then exits
/// 127). A failed exec itself is an exit status, as upstream.
[[nodiscard]] Result<Forked> forkProcess(const SpawnSpec& spec);
/// The Error for a failure record read from a status pipe.
[[nodiscard]] Error childFailure(const char* record);

/// Run/ContainerStopped rule: exit status, or minus the signal number (§7.1).
int containerExitCode(int waitStatus);
/// Exec rule: exit status, or -1 when killed by a signal (§7.8).
int execExitCode(int waitStatus);

/// Makes sure fds 0, 1 and 2 are open, so pipes never land on them (call once at start).
void ensureStdFds();

}  // namespace dockerbox::sim
