// minibox-sim: starting container and exec processes. Runs in the simulator (root).
// Host model (default): a container is a host process group of its own that drops to an
// unprivileged user before exec; there is no image filesystem, namespace set or cgroup.
// miniboxd model (--process-model miniboxd): Run clones into namespaces exactly as upstream
// (container_process.hpp) and Exec runs the host nsenter as root (nsenter.hpp).
#pragma once

#include "common/result.hpp"
#include "common/unique_fd.hpp"

#include <sys/types.h>

#include <optional>
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
  /// miniboxd model Exec: argv is the host `nsenter ...` command line, run as root with all
  /// capabilities, no chdir, and the environment replaced by `env` before execvp, as Rust's
  /// Command does after env_clear() (§11): a request PATH chooses which `nsenter` runs.
  /// An exec failure is a spawn failure (reported on the status pipe), as in Rust.
  Nsenter,
};

/// One Run `mounts` entry (miniboxd model; the host model accepts and ignores them).
struct BindMount {
  std::string hostPath;
  std::string containerPath;
  bool readOnly = false;
};

/// What Run's clone child needs in the miniboxd model, beyond the SpawnSpec basics.
struct MiniboxdSetup {
  std::string rootfs;  // canonical path of the container's mounted overlay (merged dir)
  std::vector<BindMount> mounts;
  bool newNetwork = true;  // CLONE_NEWNET, except for "network":"Host"
  bool privileged = false;  // capset as upstream's apply_privileged_capabilities
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
  /// Set: Run in the miniboxd model (clone into namespaces, pivot_root, stay root).
  std::optional<MiniboxdSetup> miniboxd;
};

/// A forked child and the read end of its CLOEXEC status pipe.
struct Forked {
  pid_t pid = -1;
  UniqueFd status;
};

/// Size of the record a child writes on its status pipe when its setup fails.
inline constexpr std::size_t kChildFailureBytes = 2 * sizeof(int);

/// Which step of a child's setup failed (the first int of a failure record).
enum class ChildStep : int {
  Setsid, Tiocsctty, Dup2, Setgroups, SetIds, Chdir,
  Exec,            // Nsenter: the execvp of `nsenter` itself failed
  ContainerSetup,  // miniboxd Run: mounts/pivot_root/capset failed; details went to fd 2
};

/// Forks; the child becomes a session and process-group leader (so the pid is also the
/// group to signal), drops to spec.runAs and execs. Returns at once: EOF on `status` means
/// the exec happened; a kChildFailureBytes record means setup failed (the child then exits
/// 127). A failed exec itself is an exit status, as upstream.
[[nodiscard]] Result<Forked> forkProcess(const SpawnSpec& spec);
/// The Error for a failure record read from a status pipe. For ChildStep::Exec the message
/// is Rust's io::Error text alone ("No such file or directory (os error 2)").
[[nodiscard]] Error childFailure(const char* record);
/// The step of a failure record.
[[nodiscard]] ChildStep childFailureStep(const char* record);

/// Run/ContainerStopped rule: exit status, or minus the signal number (§7.1).
int containerExitCode(int waitStatus);
/// Exec rule: exit status, or -1 when killed by a signal (§7.8).
int execExitCode(int waitStatus);

/// Makes sure fds 0, 1 and 2 are open, so pipes never land on them (call once at start).
void ensureStdFds();

/// Helpers for code that runs between fork/clone and exec: async-signal-safe, no allocation.
namespace child {
void writeAll(int fd, const char* data, std::size_t len);
void writeText(int fd, const char* text);
/// Signal dispositions to default, then unblock (the parent forks with all signals blocked).
void resetSignals();
/// Writes a failure record on `statusFd` and exits 127.
[[noreturn]] void report(int statusFd, ChildStep step, int err);
}  // namespace child

}  // namespace dockerbox::sim
