// Runs as root. Input: stored resolved bind sources (client-chosen paths in client-owned
// directories) and kernel identities. See bind_pin.hpp.
//
// One child per bind (child_probe.hpp). The child stays root (it must mount) and:
//   0. joins miniboxd's mount namespace (the broker's may be a systemd unit's own, where
//      /home is read-only and a mount is invisible to miniboxd): every step below sees the
//      file system as miniboxd will;
//   1. opens the stored path with no symlink and no magic link allowed on it (O_PATH);
//   2. forks a grandchild that becomes the caller and checks that the same path reaches the
//      same object and that the kernel grants the bind's mode: this is the check, and the
//      object it checked is the descriptor from step 1;
//   3. clones that object's mount tree (open_tree on the descriptor), sets nosuid,nodev (and
//      read-only) on the whole clone (mount_setattr);
//   4. attaches the clone onto <runDir>/pinned/<id>/b<N> (move_mount), after checking that
//      both directories are root's and not writable by anyone else.
// Nothing after step 1 looks the client's path up again.
#include "broker/bind_pin.hpp"

#include "broker/child_probe.hpp"
#include "common/syscall.hpp"
#include "common/unique_fd.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <csignal>
#include <filesystem>

namespace dockerbox::broker {

namespace {

using asyncsafe::finish;

constexpr char kPinned = 'A';
constexpr char kUnresolved = 'U';
constexpr char kNoAccess = 'N';
constexpr char kMountFailed = 'M';
constexpr char kUnsafeDirectory = 'D';

struct PinInput {
  const char* source;
  const char* runDir;
  const char* base;    // <runDir>/pinned
  const char* dir;     // <runDir>/pinned/<id>
  const char* target;  // <runDir>/pinned/<id>/b<N>
  CallerIds caller;
  MountAccess access;
  bool asCaller;  // false: a dockerbox volume, which the caller cannot reach by path
  int miniboxd;  // pidfd of miniboxd, whose mount namespace the child joins
};

struct UnpinInput {
  const char* dir;
  const char* const* targets;
  std::size_t count;
  int miniboxd;
};

// Async-signal-safe from here to the end of unpinChild.

/// Creates `path` as a directory if missing, then requires it to be a real directory owned by
/// root that nobody else can write (so nobody else can put a symlink where we attach).
bool rootOnlyDirectory(const char* path) {
  if (::mkdir(path, 0700) != 0 && errno != EEXIST) return false;
  struct stat st {};
  return ::lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == 0 && (st.st_mode & 022) == 0;
}

/// The grandchild's check, as the caller: exit 0 when allowed.
[[noreturn]] void checkAsCaller(const PinInput& in, const struct stat& st) {
  (void)::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (!asyncsafe::becomeCaller(in.caller)) ::_exit(1);
  if (!asyncsafe::sameObject(st, in.source, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)) ::_exit(2);
  int mode = R_OK;
  if (in.access == MountAccess::ReadWrite) mode |= W_OK;
  if (S_ISDIR(st.st_mode)) mode |= X_OK;
  ::_exit(::faccessat(AT_FDCWD, in.source, mode, 0) == 0 ? 0 : 3);
}

[[noreturn]] void pinChild(const void* raw, int out) {
  const auto& in = *static_cast<const PinInput*>(raw);
  // 0. miniboxd's view of the file system.
  if (!asyncsafe::joinMountNamespace(in.miniboxd)) finish(out, kMountFailed);
  // 1. The object, with no symlink anywhere on the stored (resolved) path.
  int fd = asyncsafe::openPath(in.source, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
  if (fd < 0) finish(out, kUnresolved);
  struct stat st {};
  if (::fstat(fd, &st) != 0) finish(out, kUnresolved);
  // 2. The caller must reach that very object in the bind's mode.
  if (in.asCaller) {
    pid_t checker = ::fork();
    if (checker == 0) checkAsCaller(in, st);
    if (checker < 0) finish(out, kMountFailed);
    int status = 0;
    while (::waitpid(checker, &status, 0) < 0) {
      if (errno != EINTR) finish(out, kNoAccess);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) finish(out, kNoAccess);
  } else if (!S_ISDIR(st.st_mode)) {
    finish(out, kUnresolved);  // a volume's _data is a directory (its owner is the container's business)
  }
  // 3. A detached clone of exactly that object's mount tree, nosuid and nodev throughout.
  int tree = static_cast<int>(::syscall(SYS_open_tree, fd, "",
                                        OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE));
  if (tree < 0) finish(out, kMountFailed);
  struct mount_attr attr {};
  attr.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
  if (in.access == MountAccess::ReadOnly) attr.attr_set |= MOUNT_ATTR_RDONLY;
  if (::syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) != 0) {
    finish(out, kMountFailed);
  }
  // 4. Attach where only root can write (the run directory may not exist yet in miniboxd's
  //    namespace when the broker's is private).
  if (::mkdir(in.runDir, 0755) != 0 && errno != EEXIST) finish(out, kUnsafeDirectory);
  if (!rootOnlyDirectory(in.base) || !rootOnlyDirectory(in.dir)) finish(out, kUnsafeDirectory);
  if (S_ISDIR(st.st_mode)) {
    if (::mkdir(in.target, 0700) != 0 && errno != EEXIST) finish(out, kMountFailed);
  } else {
    int f = ::open(in.target, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (f < 0) finish(out, kMountFailed);
    ::close(f);
  }
  if (::syscall(SYS_move_mount, tree, "", AT_FDCWD, in.target, MOVE_MOUNT_F_EMPTY_PATH) != 0) {
    finish(out, kMountFailed);
  }
  finish(out, kPinned);
}

[[noreturn]] void unpinChild(const void* raw, int out) {
  const auto& in = *static_cast<const UnpinInput*>(raw);
  if (!asyncsafe::joinMountNamespace(in.miniboxd)) finish(out, kMountFailed);
  for (std::size_t i = 0; i < in.count; ++i) {
    // A target may hold nothing (a failed pin) or be absent: both are fine.
    (void)::umount2(in.targets[i], MNT_DETACH | UMOUNT_NOFOLLOW);
    if (::rmdir(in.targets[i]) != 0) (void)::unlink(in.targets[i]);
  }
  (void)::rmdir(in.dir);
  finish(out, kPinned);
}

// End of the async-signal-safe part.

std::string pinnedBase(const std::string& runDir) { return runDir + "/pinned"; }
std::string pinnedDir(const std::string& runDir, const std::string& id) { return pinnedBase(runDir) + "/" + id; }

const char* verdictText(char verdict) {
  switch (verdict) {
    case kUnresolved: return "no longer resolves without a symlink";
    case kNoAccess: return "is not accessible to the caller";
    case kUnsafeDirectory: return "cannot be pinned: the run directory is not root's alone";
    default: return "could not be mounted";
  }
}

}  // namespace

Result<std::vector<std::string>> pinBinds(const std::string& runDir, const std::string& miniboxSocket,
                                          const std::string& containerId, const std::vector<BindToPin>& binds,
                                          const Identity& caller) {
  std::vector<std::string> pinned;
  if (binds.empty()) return pinned;
  auto ids = callerIds(caller);
  if (!ids) return fail(ErrorKind::Forbidden, "denied by policy: the caller's ids cannot be used for a bind check");
  auto miniboxd = miniboxProcess(miniboxSocket);
  if (!miniboxd) return miniboxd.error();
  unpinBinds(runDir, miniboxSocket, containerId, binds.size());  // a broker that died mid-start may have left some
  const std::string base = pinnedBase(runDir);
  const std::string dir = pinnedDir(runDir, containerId);
  for (std::size_t i = 0; i < binds.size(); ++i) {
    const std::string target = dir + "/b" + std::to_string(i);
    const PinInput input{binds[i].resolvedSource.c_str(), runDir.c_str(), base.c_str(), dir.c_str(), target.c_str(), *ids,
                         binds[i].access, !binds[i].dockerboxVolume, miniboxd->get()};
    auto report = runChildProbe(&pinChild, &input, kPinDeadline, 1, "bind_pin");
    const char verdict = report && report->size() == 1 ? report->front() : kUnresolved;
    if (verdict != kPinned) {
      spdlog::warn("event=bind_pin_failed id={} index={} source=\"{}\" verdict={}", containerId, i,
                   binds[i].resolvedSource, verdict);
      unpinBinds(runDir, miniboxSocket, containerId, binds.size());
      return fail(ErrorKind::Forbidden, "denied by policy: bind mount #" + std::to_string(i + 1) + " " +
                                            verdictText(verdict) + "; re-create the container");
    }
    pinned.push_back(target);
  }
  return pinned;
}

void unpinBinds(const std::string& runDir, const std::string& miniboxSocket, const std::string& containerId,
                std::size_t count) {
  const std::string dir = pinnedDir(runDir, containerId);
  std::vector<std::string> targets;
  for (std::size_t i = 0; i < count; ++i) targets.push_back(dir + "/b" + std::to_string(i));
  std::vector<const char*> raw;
  for (const auto& t : targets) raw.push_back(t.c_str());
  auto miniboxd = miniboxProcess(miniboxSocket);
  if (!miniboxd) {
    spdlog::warn("event=bind_unpin_failed id={} error=\"{}\"", containerId, miniboxd.error().message);
    return;
  }
  const UnpinInput input{dir.c_str(), raw.data(), raw.size(), miniboxd->get()};
  auto report = runChildProbe(&unpinChild, &input, kPinDeadline, 1, "bind_unpin");
  if (!report || *report != std::string(1, kPinned)) spdlog::warn("event=bind_unpin_failed id={}", containerId);
}

void clearPinned(const std::string& runDir, const std::string& miniboxSocket) {
  std::error_code ec;
  const std::filesystem::path base = pinnedBase(runDir);
  if (!std::filesystem::is_directory(base, ec)) return;
  for (const auto& entry : std::filesystem::directory_iterator(base, ec)) {
    std::size_t count = 0;
    for (const auto& inner : std::filesystem::directory_iterator(entry.path(), ec)) {
      (void)inner;
      ++count;
    }
    unpinBinds(runDir, miniboxSocket, entry.path().filename().string(), std::max<std::size_t>(count, 1));
  }
}

}  // namespace dockerbox::broker
