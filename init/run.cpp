// Runs as host root with every capability until privileges.cpp drops it; see run.hpp.
#include "init/run.hpp"

#include "init/config.hpp"
#include "init/container_io.hpp"
#include "init/exec_path.hpp"
#include "init/loopback.hpp"
#include "init/mounts.hpp"
#include "init/passwd.hpp"
#include "init/port_channel.hpp"
#include "init/privileges.hpp"
#include "init/reaper.hpp"
#include "init/sys_error.hpp"
#include "init/tty_relay.hpp"
#include "init/volume_fill.hpp"

#include "common/unique_fd.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <exception>
#include <string>

namespace dockerbox::init {
namespace {

int report(const Error& error) {
  std::string line = "dockerbox-init: " + error.message;
  if (!error.context.empty()) line += " (" + error.context + ")";
  std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
  return exitCodeFor(error);
}

/// Before the arguments are even read: no inherited descriptor (miniboxd closes them, the
/// host's nsenter may not) can reach the user's program, fds 0-2 exist so nothing opened
/// later lands on them, nobody in the container can ptrace or read /proc of this root
/// process (dumpable 0, reset by the final execve), and files get Docker's umask.
Result<void> prepareProcess() {
  if (auto ok = sysCheck(::close_range(3, ~0U, 0), "close inherited fds"); !ok) return ok;
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) >= 0) continue;
    int opened = ::open("/dev/null", O_RDWR);  // lands on `fd`, the lowest free number
    if (opened != fd) return fail(ErrorKind::Internal, "open /dev/null for a closed stdio fd");
  }
  ::umask(022);
  return sysCheck(::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "set non-dumpable");
}

Error chdirError(const std::string& dir, int err) {
  return sysError("chdir to cwd (\"" + dir + "\") failed", err);
}

/// mkdir -p as root, inside the container root (Run mode, as Docker creates a missing
/// working directory). Owned by root, mode 0755; nothing is chowned.
Result<void> makeDirectories(const std::string& dir) {
  for (std::size_t slash = dir.find('/', 1);; slash = dir.find('/', slash + 1)) {
    std::string prefix = dir.substr(0, slash);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      return sysError("mkdir " + prefix, errno);
    }
    if (slash == std::string::npos) return {};
  }
}

/// From root to the user's program. Returns only on failure. The passwd files are read
/// and the directory entered as root (as runc does: a directory only root can reach is
/// entered before the drop and again after it when root was refused); the PATH search
/// runs after the drop, with the user's rights.
Error execProgramAsUser(const InitConfig& config) {
  std::string passwd;
  std::string group;
  ExecUser user;
  DOCKERBOX_TRY_ASSIGN(passwd, readAccountFile("/etc/passwd"));
  DOCKERBOX_TRY_ASSIGN(group, readAccountFile("/etc/group"));
  DOCKERBOX_TRY_ASSIGN(user, resolveUser(config.user, passwd, group));
  if (auto ok = checkUserAllowed(config, user); !ok) return ok.error();
  if (config.tty == Tty::Yes) {
    if (auto ok = giveTerminalTo(user.uid); !ok) return ok.error();
  }
  std::string dir = config.workingDir.empty() ? "/" : config.workingDir;
  if (config.mode == Mode::Run) {
    if (auto ok = makeDirectories(dir); !ok) return ok.error();
  }
  bool retryChdir = ::chdir(dir.c_str()) != 0;
  if (retryChdir && errno != EACCES) return chdirError(dir, errno);
  if (auto ok = dropPrivileges(config, user); !ok) return ok.error();
  if (retryChdir && ::chdir(dir.c_str()) != 0) return chdirError(dir, errno);
  auto env = programEnvironment(config.env, user.home);
  auto path = findExecutable(config.argv.front(), pathValue(env));
  if (!path) return path.error();
  return execProgram(*path, config.argv, env);
}

/// The forked child of pid 1: a new session, no blocked signals, its stdio (the pty or
/// the stdin FIFO), then the drop and the exec. A failure goes to the status pipe for
/// pid 1 to print; the child never returns.
[[noreturn]] void runChild(const InitConfig& config, ContainerIo&& io, UniqueFd&& statusPipe) {
  int code = kExitNotFound;
  std::string message;
  try {
    sigset_t none;
    sigemptyset(&none);
    Error error;
    if (::sigprocmask(SIG_SETMASK, &none, nullptr) != 0 || ::setsid() < 0) {
      error = sysError("start the program's session", errno);
    } else if (auto attached = attachProgramIo(std::move(io)); !attached) {
      error = attached.error();
    } else {
      error = execProgramAsUser(config);
    }
    code = exitCodeFor(error);
    message = "dockerbox-init: " + error.message + "\n";
  } catch (const std::exception& e) {
    message = std::string("dockerbox-init: ") + e.what() + "\n";
  }
  std::string record(1, static_cast<char>(code));
  record += message;
  // A short or failed write still ends in _exit(code), which pid 1 reports.
  if (::write(statusPipe.get(), record.data(), record.size()) < 0) ::_exit(code);
  ::_exit(code);
}

/// A signalfd for the tty relay, which waits on it and on the terminal at once; the
/// plain reaper takes signals with sigwaitinfo and needs none.
Result<UniqueFd> relaySignals(const InitConfig& config, const sigset_t& signals) {
  if (config.tty != Tty::Yes) return UniqueFd();
  UniqueFd fd(::signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!fd) return sysError("signalfd", errno);
  return fd;
}

/// The program forked onto `io`, with this process staying as its reaper (and, with a
/// pty, its relay): pid 1 of a Run, or an exec's init with tty=yes.
int forkProgram(const InitConfig& config, ContainerIo&& io, RelayEnd end) {
  // A timeout is for an exec without a pty (config.cpp), so it is the plain reaper's.
  // Signals are blocked before the fork so that none sent in between is lost: this
  // process collects them (sigwaitinfo, or the relay's signalfd) and the child unblocks
  // them before its exec.
  sigset_t all;
  sigfillset(&all);
  if (auto ok = sysCheck(::sigprocmask(SIG_BLOCK, &all, nullptr), "block signals"); !ok) {
    return report(ok.error());
  }
  auto signals = relaySignals(config, all);
  if (!signals) return report(signals.error());
  int fds[2];
  if (auto ok = sysCheck(::pipe2(fds, O_CLOEXEC), "status pipe"); !ok) return report(ok.error());
  UniqueFd readEnd(fds[0]);
  UniqueFd writeEnd(fds[1]);
  const pid_t self = ::getpid();
  pid_t child = ::fork();
  if (child < 0) return report(sysError("fork", errno));
  if (child == 0) {
    readEnd.reset();
    signals->reset();
    runChild(config, std::move(io), std::move(writeEnd));
  }
  writeEnd.reset();
  closeProgramEnds(io);
  // Armed now that every signal is blocked (SIGIO's default action would end pid 1) and
  // before the drop (the reaper's filter has no fcntl). Requests that came earlier are
  // answered on the loop's first turn, once pid 1 holds nothing but CAP_KILL: the
  // sockets the proxy gets are made by the reaper, not by root with every capability.
  PortChannel ports(std::move(io.portChannel));
  ReaperFds reaperFds;
  reaperFds.portChannel = ports.fd();
  if (io.ptyMaster) reaperFds.relayedPtyMaster = io.ptyMaster.get();
  Result<void> dropped = ports.arm();
  if (dropped) dropped = dropReaperPrivileges(reaperFds);
  if (!dropped) {
    (void)::kill(child, SIGKILL);  // still root with CAP_KILL here; its failure changes nothing
    return report(dropped.error());
  }
  if (int code = awaitExec(readEnd.get(), child); code >= 0) return code;
  if (reaperFds.relayedPtyMaster) {
    return relayUntilExit(child, signals->get(), all, io, ports, RelayOwner{self, end});
  }
  return reapUntilExit(child, all, ports, config.timeoutMs);
}

int runContainer(const InitConfig& config) {
  if (::getpid() != 1) {
    return report(fail(ErrorKind::BadRequest, "mode=run: not pid 1 of a new container"));
  }
  if (auto ok = setUpMounts(config); !ok) return report(ok.error());
  for (const auto& path : config.fillPaths) {
    if (auto ok = fillEmptyVolume(path); !ok) return report(ok.error());
  }
  if (!config.hostname.empty()) {
    auto ok = sysCheck(::sethostname(config.hostname.data(), config.hostname.size()),
                       "sethostname");
    if (!ok) return report(ok.error());
  }
  // As Docker leaves it, and needed by anything that talks to 127.0.0.1 (the port proxy's
  // connections to a program listening there included).
  if (auto ok = bringLoopbackUp(); !ok) return report(ok.error());
  // After the mounts (every one nodev by then) and before the fork: the broker's FIFOs
  // are opened and their mount detached before anything of the user's runs.
  auto io = openContainerIo(config);
  if (!io) return report(io.error());
  return forkProgram(config, std::move(*io), RelayEnd::KillNamespace);
}

/// An exec: its FIFOs (if any) become the program's stdio and the init becomes the
/// program; with a terminal the init stays, as the relay of a new pty. What the exec's
/// program leaves running when it exits is the container's, as on Docker.
int runExec(const InitConfig& config) {
  auto io = openExecIo(config);
  if (!io) return report(io.error());
  // With a pty the init stays as its relay; with a timeout, as the program's reaper.
  if (config.tty == Tty::Yes || config.timeoutMs != 0) {
    return forkProgram(config, std::move(*io), RelayEnd::LeaveOthers);
  }
  if (auto ok = attachProgramIo(std::move(*io)); !ok) return report(ok.error());
  return report(execProgramAsUser(config));
}

}  // namespace

int runInit(std::span<const std::string_view> args) {
  try {
    if (auto ok = prepareProcess(); !ok) return report(ok.error());
    auto config = parseInitArgs(args);
    if (!config) return report(config.error());
    if (config->mode == Mode::Run) return runContainer(*config);
    return runExec(*config);
  } catch (const std::exception& e) {
    return report(fail(ErrorKind::Internal, e.what()));
  }
}

}  // namespace dockerbox::init
