// minibox-sim: fork/exec of container and exec processes. Runs as root in the simulator.
// Between fork() and exec() the child only makes async-signal-safe calls: everything that
// allocates (argv, envp, messages) is prepared before fork().
#include "tests/minibox_sim/process.hpp"

#include "tests/minibox_sim/container_process.hpp"

#include "common/syscall.hpp"
#include "common/unique_fd.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <pwd.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <csignal>
#include <cstring>

extern char** environ;

namespace dockerbox::sim {
namespace {

/// What a child reports on its CLOEXEC status pipe when setup fails before exec.
struct ChildFailure {
  int step;
  int err;
};
static_assert(sizeof(ChildFailure) == kChildFailureBytes);

/// Indexed by ChildStep. An empty name means the error text stands alone.
constexpr std::array<const char*, 8> kStepNames = {
    "setsid", "TIOCSCTTY", "dup2", "setgroups", "setresgid/setresuid", "chdir", "",
    "container setup"};

/// Everything the child needs, built before fork() so the child never allocates.
struct Prepared {
  std::vector<char*> argv;
  std::vector<char*> envp;
  std::string chdirMessage;  // Exec only: nsenter's text for a bad working directory
  std::string execMessage;   // Exec only: nsenter's text for a failed execvp
};

void writeError(const std::string& prefix, int err) {
  child::writeAll(STDERR_FILENO, prefix.data(), prefix.size());
  const char* text = strerrordesc_np(err);
  if (text) child::writeText(STDERR_FILENO, text);
  child::writeAll(STDERR_FILENO, "\n", 1);
}

[[noreturn]] void report(int statusFd, int step) {
  child::report(statusFd, static_cast<ChildStep>(step), errno);
}

/// Marks every fd above 2 close-on-exec (the simulator's Asio sockets are not CLOEXEC, and a
/// container holding a client socket would keep that client from ever seeing EOF).
void closeInheritedOnExec() {
  if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
  long max = sysconf(_SC_OPEN_MAX);
  for (int fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); ++fd) fcntl(fd, F_SETFD, FD_CLOEXEC);
}

[[noreturn]] void childMain(const SpawnSpec& spec, const Prepared& p, int statusFd, pid_t parent) {
  // The child starts with every signal blocked (see forkProcess), so the simulator's Asio
  // signal handlers can never run in it.
  child::resetSignals();
  if (setsid() < 0) report(statusFd, 0);
  if (spec.style == ExecStyle::Container) {
    // Best effort imitation of the container's own UTS and network namespaces: without
    // CAP_SYS_ADMIN (a restricted CI container) the host's are kept, which is harmless.
    if (unshare(CLONE_NEWUTS) == 0 &&
        sethostname(spec.hostname.data(), spec.hostname.size()) != 0) {
      // the new namespace keeps the host's name: still a working container
    }
    if (spec.isolateNetwork && unshare(CLONE_NEWNET) != 0) {
      // no privilege for a network namespace: the container shares the host network
    }
  }
  if (dup2(spec.stdinFd, STDIN_FILENO) < 0 || dup2(spec.stdoutFd, STDOUT_FILENO) < 0 ||
      dup2(spec.stderrFd, STDERR_FILENO) < 0) {
    report(statusFd, 2);
  }
  if (spec.controllingTty && ioctl(STDIN_FILENO, TIOCSCTTY, 0) < 0) report(statusFd, 1);
  closeInheritedOnExec();
  if (spec.style == ExecStyle::Nsenter) {
    // Upstream's exec: Rust's Command after env_clear() swaps environ for the request env
    // and calls execvp, so `nsenter` is looked up in the request's PATH (glibc's default
    // /bin:/usr/bin when it sets none), and it runs as root with every capability.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) ::_exit(1);
    environ = const_cast<char**>(p.envp.data());
    execvp(p.argv[0], p.argv.data());
    report(statusFd, static_cast<int>(ChildStep::Exec));
  }
  // Order matters: supplementary groups and gid must go while we are still root.
  if (setgroups(0, nullptr) < 0) report(statusFd, 3);
  if (setresgid(spec.runAs.gid, spec.runAs.gid, spec.runAs.gid) < 0 ||
      setresuid(spec.runAs.uid, spec.runAs.uid, spec.runAs.uid) < 0) {
    report(statusFd, 4);
  }
  // Set after the uid change (which clears it). If the simulator already died, leave now:
  // upstream's pid namespace would have taken the container down with its daemon's state.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) ::_exit(1);

  if (spec.style == ExecStyle::Container) {
    if (chdir(spec.cwd.c_str()) < 0) report(statusFd, 5);
    execve(p.argv[0], p.argv.data(), p.envp.data());
    ::_exit(127);  // no PATH search, no message: the client sees exit code 127 (§7.1)
  }
  if (chdir(spec.cwd.c_str()) < 0) {
    writeError(p.chdirMessage, errno);
    ::_exit(1);
  }
  environ = const_cast<char**>(p.envp.data());  // execvp searches the request env's PATH
  execvp(p.argv[0], p.argv.data());
  int err = errno;
  writeError(p.execMessage, err);
  ::_exit(err == ENOENT ? 127 : 126);
}

Prepared prepare(const SpawnSpec& spec) {
  Prepared p;
  for (const auto& a : spec.argv) p.argv.push_back(const_cast<char*>(a.c_str()));
  p.argv.push_back(nullptr);
  for (const auto& e : spec.env) p.envp.push_back(const_cast<char*>(e.c_str()));
  p.envp.push_back(nullptr);
  p.chdirMessage = "nsenter: cannot change directory to " + spec.cwd + ": ";
  p.execMessage = "nsenter: failed to execute " + spec.argv.front() + ": ";
  return p;
}

}  // namespace

namespace child {

void writeAll(int fd, const char* data, std::size_t len) {
  while (len > 0) {
    ssize_t n = ::write(fd, data, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data += n;
    len -= static_cast<std::size_t>(n);
  }
}

void writeText(int fd, const char* text) { writeAll(fd, text, std::strlen(text)); }

void resetSignals() {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  // SIGPIPE is ignored in the simulator and an ignored disposition survives execve.
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, nullptr);  // EINVAL for 32/33
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

void report(int statusFd, ChildStep step, int err) {
  ChildFailure failure{static_cast<int>(step), err};
  writeAll(statusFd, reinterpret_cast<const char*>(&failure), sizeof failure);
  ::_exit(127);
}

}  // namespace child

Result<RunAs> lookupRunAs(const std::string& user) {
  std::array<char, 16384> buf{};
  passwd pw{};
  passwd* found = nullptr;
  bool numeric = !user.empty() && user.find_first_not_of("0123456789") == std::string::npos;
  int rc = numeric ? getpwuid_r(static_cast<uid_t>(std::stoul(user)), &pw, buf.data(), buf.size(),
                                &found)
                   : getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found);
  if (rc != 0 || found == nullptr) {
    if (numeric) {
      auto id = static_cast<uid_t>(std::stoul(user));
      return RunAs{user, id, static_cast<gid_t>(id)};
    }
    return fail(ErrorKind::BadRequest, "unknown --run-as user: " + user);
  }
  return RunAs{user, pw.pw_uid, pw.pw_gid};
}

Result<Forked> forkProcess(const SpawnSpec& spec) {
  if (spec.argv.empty()) return fail(ErrorKind::Internal, "empty argv");
  if (spec.miniboxd) return cloneContainerProcess(spec);
  Prepared p = prepare(spec);
  std::array<int, 2> fds{};
  auto rc = DOCKERBOX_SYSCALL(::pipe2(fds.data(), O_CLOEXEC), "pipe2 status");
  if (!rc) return fail(ErrorKind::Internal, rc.error().context);
  UniqueFd statusRead(fds[0]);
  UniqueFd statusWrite(fds[1]);
  pid_t parent = getpid();
  // Block every signal across fork(): a signal landing in the child before it has reset
  // its handlers would run the simulator's Asio handler there (and write to its pipe).
  sigset_t all;
  sigset_t previous;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, &previous);
  auto forked = DOCKERBOX_SYSCALL(::fork(), "fork");
  if (forked && *forked == 0) childMain(spec, p, statusWrite.get(), parent);
  sigprocmask(SIG_SETMASK, &previous, nullptr);
  if (!forked) return fail(ErrorKind::Internal, forked.error().context);
  return Forked{*forked, std::move(statusRead)};
}

Error childFailure(const char* record) {
  ChildFailure failure{};
  std::memcpy(&failure, record, sizeof failure);
  auto step = static_cast<std::size_t>(failure.step);
  std::string name = kStepNames[step < kStepNames.size() ? step : 0];
  // Rust's io::Error Display for an OS error, which upstream's messages embed.
  std::string text = std::string(std::strerror(failure.err)) + " (os error " +
                     std::to_string(failure.err) + ")";
  if (failure.err == 0) return fail(ErrorKind::Internal, name + ": refused");  // a check, not a call
  return fail(ErrorKind::Internal, name.empty() ? text : name + ": " + text);
}

ChildStep childFailureStep(const char* record) {
  ChildFailure failure{};
  std::memcpy(&failure, record, sizeof failure);
  return static_cast<ChildStep>(failure.step);
}

int containerExitCode(int waitStatus) {
  if (WIFEXITED(waitStatus)) return WEXITSTATUS(waitStatus);
  if (WIFSIGNALED(waitStatus)) return -WTERMSIG(waitStatus);
  return -1;
}

int execExitCode(int waitStatus) {
  if (WIFEXITED(waitStatus)) return WEXITSTATUS(waitStatus);
  return -1;
}

void ensureStdFds() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (fcntl(fd, F_GETFD) >= 0) continue;
    int opened = ::open("/dev/null", O_RDWR);  // lands on the lowest free fd, i.e. `fd`
    if (opened > 2) ::close(opened);
  }
}

}  // namespace dockerbox::sim
