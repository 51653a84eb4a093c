// Runs as host root with every capability, in pid 1 before the fork and in its child
// before the drop; see container_io.hpp. Input: the broker's paths (trusted), the files
// found at them (checked).
#include "init/container_io.hpp"

#include "init/mounts.hpp"
#include "init/port_channel.hpp"
#include "init/sys_error.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/ioctl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <array>
#include <string>
#include <string_view>
#include <utility>

namespace dockerbox::init {
namespace {

// devices.txt: /dev/ptmx is 5:2; UNIX98 pty slaves use the 8 majors from 136.
constexpr unsigned kPtmxMajor = 5;
constexpr unsigned kPtmxMinor = 2;
constexpr unsigned kPtySlaveFirstMajor = 136;
constexpr unsigned kPtySlaveMajors = 8;
constexpr gid_t kTtyGroup = 5;
constexpr mode_t kTerminalMode = 0620;

/// Opens the FIFO at `path` (beneath `dir` when it is not AT_FDCWD) for reading without
/// blocking (a FIFO without a writer would block pid 1 for good) and without following a
/// symlink on the way: the broker's path has none, so one would be the image's. A Run's
/// opens come after setUpMounts, when every mount is nodev, so even a wrong path cannot
/// open a host device; a non-FIFO is refused after.
Result<UniqueFd> openFifo(int dir, const std::string& path, std::string_view what, int access = O_RDONLY) {
  open_how how{};
  how.flags = static_cast<unsigned>(access) | O_NONBLOCK | O_CLOEXEC | O_NOCTTY;
  how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | (dir == AT_FDCWD ? 0 : RESOLVE_BENEATH | RESOLVE_NO_XDEV);
  std::string step = "open " + std::string(what) + " " + path;
  long fd = 0;
  DOCKERBOX_TRY_ASSIGN(fd, sysRetry(step, [&] {
                         return ::syscall(SYS_openat2, dir, path.c_str(), &how, sizeof(how));
                       }));
  UniqueFd fifo(static_cast<int>(fd));
  struct stat st {};
  if (auto ok = sysCheck(::fstat(fifo.get(), &st), "fstat " + path); !ok) return ok.error();
  if (!S_ISFIFO(st.st_mode)) {
    return fail(ErrorKind::Internal, std::string(what) + " " + path + ": not a FIFO");
  }
  return fifo;
}

/// A new pty of the container's own devpts instance (mounts.cpp mounts it with
/// newinstance,ptmxmode=0666), through that instance's ptmx node rather than the
/// /dev/ptmx symlink. The slave is opened with TIOCGPTPEER, from the master itself, so no
/// path lookup can hand back another terminal.
Result<void> openPty(ContainerIo& io) {
  UniqueFd master(::open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW));
  if (!master) return sysError("open /dev/pts/ptmx", errno);
  struct stat st {};
  if (auto ok = sysCheck(::fstat(master.get(), &st), "fstat /dev/pts/ptmx"); !ok) return ok;
  if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != kPtmxMajor || minor(st.st_rdev) != kPtmxMinor) {
    return fail(ErrorKind::Internal, "open /dev/pts/ptmx: not the ptmx device");
  }
  int unlock = 0;
  auto unlocked = sysCheck(::ioctl(master.get(), TIOCSPTLCK, &unlock), "unlock the pty");
  if (!unlocked) return unlocked;
  UniqueFd slave(::ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!slave) return sysError("open the pty's slave (TIOCGPTPEER)", errno);
  io.ptyMaster = std::move(master);
  io.ptySlave = std::move(slave);
  return {};
}

bool isPtySlave(const struct stat& st) {
  return S_ISCHR(st.st_mode) && major(st.st_rdev) >= kPtySlaveFirstMajor &&
         major(st.st_rdev) < kPtySlaveFirstMajor + kPtySlaveMajors;
}

Result<void> dupOnto(int fd, int target) {
  return sysCheck(::dup2(fd, target), "dup2 onto fd " + std::to_string(target));
}

/// The FIFOs `config` names, beneath `dir` (AT_FDCWD: at their absolute paths).
Result<void> openFifos(int dir, const InitConfig& config, ContainerIo& io) {
  if (!config.stdinPath.empty()) {
    DOCKERBOX_TRY_ASSIGN(io.stdinFifo, openFifo(dir, config.stdinPath, "stdin"));
  }
  if (!config.controlPath.empty()) {
    DOCKERBOX_TRY_ASSIGN(io.controlFifo, openFifo(dir, config.controlPath, "control"));
  }
  // The broker holds these FIFOs open for reading and writing, so the opens find a reader
  // (without one O_WRONLY|O_NONBLOCK fails with ENXIO: fail closed).
  if (!config.stdoutPath.empty()) {
    DOCKERBOX_TRY_ASSIGN(io.stdoutFifo, openFifo(dir, config.stdoutPath, "stdout", O_WRONLY));
  }
  if (!config.stderrPath.empty()) {
    DOCKERBOX_TRY_ASSIGN(io.stderrFifo, openFifo(dir, config.stderrPath, "stderr", O_WRONLY));
  }
  return {};
}

/// With tty=yes: the pty, given the size the client sent with the start before the
/// program runs, so that its first look at the terminal already sees it.
Result<void> openTerminal(const InitConfig& config, ContainerIo& io) {
  if (config.tty != Tty::Yes) return {};
  if (auto ok = openPty(io); !ok) return ok;
  bool ended = io.controlFifo && applyWindowSizes(io.controlFifo.get(), io.ptyMaster.get(),
                                                  io.windowSizes) == ControlFifo::Ended;
  if (ended) io.controlFifo.reset();
  return {};
}

/// Pid 1's copy of the FIFOs' directory, kept for the execs (kHeldIoDirFd), taken before
/// its mount is detached.
Result<UniqueFd> holdIoDir(const std::string& path) {
  UniqueFd dir(::open(path.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir) return sysError("open " + path, errno);
  UniqueFd held(::fcntl(dir.get(), F_DUPFD_CLOEXEC, kHeldIoDirFd));
  if (!held) return sysError("keep " + path + " open", errno);
  if (held.get() != kHeldIoDirFd) return fail(ErrorKind::Internal, "keep " + path + " open: fd in use");
  return held;
}

/// The run's directory pid 1 holds, as an exec's init finds it: a root-owned directory
/// only root can enter. /proc is checked to be a procfs, so that what is opened is pid 1's
/// descriptor and not something the image put at that path.
Result<UniqueFd> openHeldIoDir() {
  UniqueFd proc(::open("/proc/1", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!proc) return sysError("open /proc/1", errno);
  struct statfs fs {};
  if (auto ok = sysCheck(::fstatfs(proc.get(), &fs), "statfs /proc/1"); !ok) return ok.error();
  if (fs.f_type != PROC_SUPER_MAGIC) return fail(ErrorKind::Internal, "/proc/1 is not a procfs");
  const std::string link = "fd/" + std::to_string(kHeldIoDirFd);
  UniqueFd dir(::openat(proc.get(), link.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return sysError("open the run's FIFO directory held by pid 1 (/proc/1/" + link + ")", errno);
  struct stat st {};
  if (auto ok = sysCheck(::fstat(dir.get(), &st), "fstat the run's FIFO directory"); !ok) return ok.error();
  if (!S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & 077) != 0) {
    return fail(ErrorKind::Internal, "the run's FIFO directory held by pid 1 is not root's own");
  }
  return dir;
}

}  // namespace

// The order, and why: the FIFOs and the port channel's listener are reached while their
// mount is there, and the mount goes before anything of the user's can run (the fork
// comes later), so the program never sees the broker's FIFOs or its listener; the pty
// comes last, when the window size can be read.
Result<ContainerIo> openContainerIo(const InitConfig& config) {
  ContainerIo io;
  if (auto ok = openFifos(AT_FDCWD, config, io); !ok) return ok.error();
  if (!config.portsPath.empty()) {
    DOCKERBOX_TRY_ASSIGN(io.portChannel, connectPortChannel(config.portsPath));
  }
  if (!config.unmountPath.empty()) {
    DOCKERBOX_TRY_ASSIGN(io.heldIoDir, holdIoDir(config.unmountPath));
    if (auto ok = detachMount(config.unmountPath); !ok) return ok.error();
  }
  if (auto ok = openTerminal(config, io); !ok) return ok.error();
  return io;
}

Result<ContainerIo> openExecIo(const InitConfig& config) {
  ContainerIo io;
  bool anyFifo = !config.stdinPath.empty() || !config.controlPath.empty() || !config.stdoutPath.empty() ||
                 !config.stderrPath.empty();
  if (anyFifo) {
    UniqueFd dir;
    DOCKERBOX_TRY_ASSIGN(dir, openHeldIoDir());
    if (auto ok = openFifos(dir.get(), config, io); !ok) return ok.error();
  }
  if (auto ok = openTerminal(config, io); !ok) return ok.error();
  return io;
}

void closeProgramEnds(ContainerIo& io) {
  io.ptySlave.reset();
  io.stdoutFifo.reset();
  io.stderrFifo.reset();
  if (!io.ptyMaster) io.stdinFifo.reset();
}

Result<void> attachProgramIo(ContainerIo&& io) {
  ContainerIo owned = std::move(io);  // closes every fd of it on return
  if (owned.ptySlave) {
    int slave = owned.ptySlave.get();
    // setsid came first: a session leader without a terminal may acquire this one.
    auto ctty = sysCheck(::ioctl(slave, TIOCSCTTY, 0), "make the pty the controlling terminal");
    if (!ctty) return ctty;
    for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; ++fd) {
      if (auto ok = dupOnto(slave, fd); !ok) return ok;
    }
    return {};
  }
  // Pid 1 never uses these without a tty (it closes its copies after the fork), so the
  // open file descriptions are the program's, and a program expects blocking stdio: most
  // would take an EAGAIN for an error (a full output FIFO then waits for the broker, as a
  // full pipe to miniboxd waits for miniboxd).
  const std::array<std::pair<const UniqueFd*, int>, 3> stdio = {
      {{&owned.stdinFifo, STDIN_FILENO}, {&owned.stdoutFifo, STDOUT_FILENO}, {&owned.stderrFifo, STDERR_FILENO}}};
  for (const auto& [fifo, target] : stdio) {
    if (!*fifo) continue;
    int flags = ::fcntl(fifo->get(), F_GETFL);
    auto blocking = sysCheck(flags < 0 ? flags : ::fcntl(fifo->get(), F_SETFL, flags & ~O_NONBLOCK),
                             "make fd " + std::to_string(target) + " blocking");
    if (!blocking) return blocking;
    if (auto ok = dupOnto(fifo->get(), target); !ok) return ok;
  }
  return {};
}

Result<void> giveTerminalTo(uid_t uid) {
  struct stat st {};
  if (auto ok = sysCheck(::fstat(STDIN_FILENO, &st), "fstat the terminal"); !ok) return ok;
  if (!isPtySlave(st)) return fail(ErrorKind::Internal, "chown the terminal: fd 0 is not a pty");
  auto owned = sysCheck(::fchown(STDIN_FILENO, uid, kTtyGroup), "chown the terminal");
  if (!owned) return owned;
  return sysCheck(::fchmod(STDIN_FILENO, kTerminalMode), "chmod the terminal");
}

}  // namespace dockerbox::init
