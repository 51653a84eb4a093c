// Runs as host root with every capability, in pid 1 before the fork and in its child
// before the drop; see container_io.hpp. Input: the broker's paths (trusted), the files
// found at them (checked).
#include "init/container_io.hpp"

#include "init/mounts.hpp"
#include "init/sys_error.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
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

/// Opens the FIFO at `path` for reading without blocking (a FIFO without a writer would
/// block pid 1 for good) and without following a symlink on the way: the broker's path
/// has none, so one would be the image's. It runs after setUpMounts, when every mount is
/// nodev, so even a wrong path cannot open a host device; a non-FIFO is refused after.
Result<UniqueFd> openFifo(const std::string& path, std::string_view what, int access = O_RDONLY) {
  open_how how{};
  how.flags = static_cast<unsigned>(access) | O_NONBLOCK | O_CLOEXEC | O_NOCTTY;
  how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  std::string step = "open " + std::string(what) + " " + path;
  long fd = 0;
  DOCKERBOX_TRY_ASSIGN(fd, sysRetry(step, [&] {
                         return ::syscall(SYS_openat2, AT_FDCWD, path.c_str(), &how, sizeof(how));
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

}  // namespace

// The order, and why: the FIFOs are opened while their mount is there, and the mount
// goes before anything of the user's can run (the fork comes later), so the program
// never sees the broker's FIFOs; the pty comes last, when the window size can be read.
Result<ContainerIo> openContainerIo(const InitConfig& config) {
  ContainerIo io;
  if (!config.stdinPath.empty()) {
    DOCKERBOX_TRY_ASSIGN(io.stdinFifo, openFifo(config.stdinPath, "stdin"));
  }
  if (!config.controlPath.empty()) {
    DOCKERBOX_TRY_ASSIGN(io.controlFifo, openFifo(config.controlPath, "control"));
  }
  // The broker holds these FIFOs open for reading and writing, so the opens find a reader
  // (without one O_WRONLY|O_NONBLOCK fails with ENXIO: fail closed).
  if (!config.stdoutPath.empty()) {
    DOCKERBOX_TRY_ASSIGN(io.stdoutFifo, openFifo(config.stdoutPath, "stdout", O_WRONLY));
  }
  if (!config.stderrPath.empty()) {
    DOCKERBOX_TRY_ASSIGN(io.stderrFifo, openFifo(config.stderrPath, "stderr", O_WRONLY));
  }
  if (!config.unmountPath.empty()) {
    if (auto ok = detachMount(config.unmountPath); !ok) return ok.error();
  }
  if (config.tty == Tty::Yes) {
    if (auto ok = openPty(io); !ok) return ok.error();
    // The size the client sent with the start: set before the program runs, so that its
    // first look at the terminal already sees it.
    bool ended = io.controlFifo && applyWindowSizes(io.controlFifo.get(), io.ptyMaster.get(),
                                                    io.windowSizes) == ControlFifo::Ended;
    if (ended) io.controlFifo.reset();
  }
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
