// Runs as host root with every capability, as pid 1 of a new container, before any user
// code. Input: the broker's config (trusted) and the container's root filesystem (image
// content: every path below is resolved inside the container root).
#include "init/mounts.hpp"

#include "common/unique_fd.hpp"
#include "init/mount_check.hpp"
#include "init/read_file.hpp"
#include "init/sys_error.hpp"
#include "init/tmpfs.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <array>
#include <string>
#include <vector>

namespace dockerbox::init {
namespace {

constexpr std::size_t kMaxMountInfoSize = 4 * 1024 * 1024;  // thousands of mounts

struct NodeNumber {
  unsigned major;
  unsigned minor;
};
// The Linux-assigned numbers of kDeviceNodeNames, in the same order (devices.txt).
constexpr std::array<NodeNumber, 6> kDeviceNumbers = {{{1, 3}, {1, 5}, {1, 7}, {1, 8}, {1, 9},
                                                       {5, 0}}};

Result<void> setAttr(const std::string& path, unsigned flags, std::uint64_t set,
                     std::uint64_t clear = 0) {
  mount_attr attr{};
  attr.attr_set = set;
  attr.attr_clr = clear;
  return sysCheck(::mount_setattr(AT_FDCWD, path.c_str(), flags, &attr, sizeof(attr)),
                  "mount_setattr " + path);
}

Result<void> mountFs(const char* type, const std::string& target, unsigned long flags,
                     const char* options) {
  return sysCheck(::mount(type, target.c_str(), type, flags, options),
                  std::string("mount ") + type + " on " + target);
}

bool isMountRoot(const char* path) {
  struct statx st {};
  if (::statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &st) != 0) return false;
  return (st.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) != 0 &&
         (st.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
}

/// Detached clones of the host's null, zero, ... taken before the host /dev goes away.
/// Each must be the character device it is named after: the host's /dev is trusted, but
/// a wrong node here would be a host device in every container.
Result<std::vector<UniqueFd>> cloneDeviceNodes() {
  std::vector<UniqueFd> nodes;
  for (std::size_t i = 0; i < kDeviceNumbers.size(); ++i) {
    std::string path = "/dev/" + std::string(kDeviceNodeNames[i]);
    UniqueFd fd(::open_tree(AT_FDCWD, path.c_str(),
                            OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW));
    if (!fd) return sysError("open_tree " + path, errno);
    struct stat st {};
    if (auto ok = sysCheck(::fstat(fd.get(), &st), "fstat " + path); !ok) return ok.error();
    if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != kDeviceNumbers[i].major ||
        minor(st.st_rdev) != kDeviceNumbers[i].minor) {
      return fail(ErrorKind::Internal, "clone " + path + ": not the expected device node");
    }
    nodes.push_back(std::move(fd));
  }
  return nodes;
}

/// Unmounts (detaches) every mount stacked on /dev: the host's devtmpfs must be gone from
/// the namespace, not merely covered, or a later umount would uncover it.
Result<void> detachHostDev() {
  for (int i = 0; i < 16 && isMountRoot("/dev"); ++i) {
    if (auto ok = sysCheck(::umount2("/dev", MNT_DETACH), "umount /dev"); !ok) return ok;
  }
  if (isMountRoot("/dev")) return fail(ErrorKind::Internal, "umount /dev: still mounted");
  return {};
}

Result<void> attachDeviceNode(UniqueFd&& node, const std::string& path) {
  UniqueFd file(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0666));
  if (!file) return sysError("create " + path, errno);
  auto ok = sysCheck(::move_mount(node.get(), "", AT_FDCWD, path.c_str(), MOVE_MOUNT_F_EMPTY_PATH),
                     "move_mount " + path);
  if (!ok) return ok;
  // Read-only: a chmod or chown here would change the host's own node.
  return setAttr(path, 0, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC,
                 MOUNT_ATTR_NODEV);
}

Result<void> makeDevSymlinks() {
  constexpr std::array<std::pair<const char*, const char*>, 5> kLinks = {{
      {"pts/ptmx", "/dev/ptmx"},
      {"/proc/self/fd", "/dev/fd"},
      {"/proc/self/fd/0", "/dev/stdin"},
      {"/proc/self/fd/1", "/dev/stdout"},
      {"/proc/self/fd/2", "/dev/stderr"},
  }};
  for (const auto& [target, link] : kLinks) {
    auto ok = sysCheck(::symlink(target, link), std::string("symlink ") + link);
    if (!ok) return ok;
  }
  return {};
}

Result<void> makeDir(const char* path, mode_t mode) {
  return sysCheck(::mkdir(path, mode), std::string("mkdir ") + path);
}

/// A new /dev as runc makes it, except that the nodes are the host's (cloned mounts,
/// read-only) rather than made with mknod, and the tmpfs is nodev.
Result<void> buildDev(std::vector<UniqueFd>&& nodes) {
  constexpr unsigned long kInert = MS_NOSUID | MS_NODEV | MS_NOEXEC;
  if (auto ok = mountFs("tmpfs", "/dev", kInert, "mode=755,size=65536k"); !ok) return ok;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    auto ok = attachDeviceNode(std::move(nodes[i]), "/dev/" + std::string(kDeviceNodeNames[i]));
    if (!ok) return ok;
  }
  if (auto ok = makeDir("/dev/pts", 0755); !ok) return ok;
  auto pts = mountFs("devpts", "/dev/pts", MS_NOSUID | MS_NOEXEC,
                     "newinstance,ptmxmode=0666,mode=0620,gid=5");
  if (!pts) return pts;
  if (auto ok = makeDir("/dev/shm", 01777); !ok) return ok;
  if (auto ok = mountFs("tmpfs", "/dev/shm", kInert, "mode=1777,size=65536k"); !ok) return ok;
  if (auto ok = makeDir("/dev/mqueue", 0755); !ok) return ok;
  if (auto ok = mountFs("mqueue", "/dev/mqueue", kInert, nullptr); !ok) return ok;
  return makeDevSymlinks();
}

Result<void> maskPath(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return {};
    return sysError("stat " + path, errno);
  }
  if (S_ISDIR(st.st_mode)) {
    return mountFs("tmpfs", path, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0");
  }
  auto bound = sysCheck(::mount("/dev/null", path.c_str(), nullptr, MS_BIND, nullptr),
                        "bind /dev/null on " + path);
  if (!bound) return bound;
  return setAttr(path, 0, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
}

Result<void> makeReadOnly(const std::string& path) {
  if (::access(path.c_str(), F_OK) != 0) return {};
  auto bound = sysCheck(::mount(path.c_str(), path.c_str(), nullptr, MS_BIND | MS_REC, nullptr),
                        "bind " + path);
  if (!bound) return bound;
  return setAttr(path, AT_RECURSIVE,
                 MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
}

/// /proc and /sys as Docker leaves them: /proc nosuid,nodev,noexec with its masked and
/// read-only paths; /sys read-only (with everything below it) before its paths are masked.
Result<void> confineProcAndSys() {
  constexpr std::uint64_t kInert = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
  if (auto ok = setAttr("/proc", 0, kInert); !ok) return ok;
  if (auto ok = setAttr("/sys", AT_RECURSIVE, kInert | MOUNT_ATTR_RDONLY); !ok) return ok;
  for (auto path : kMaskedPaths) {
    if (auto ok = maskPath(std::string(path)); !ok) return ok;
  }
  for (auto path : kReadOnlyPaths) {
    if (auto ok = makeReadOnly(std::string(path)); !ok) return ok;
  }
  return {};
}

std::uint64_t bindAttributes(BindAccess access) {
  std::uint64_t set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
  return access == BindAccess::ReadOnly ? set | MOUNT_ATTR_RDONLY : set;
}

/// The binds miniboxd made (MS_BIND|MS_REC, no nosuid/nodev), the init's own file, and
/// the root. mount_setattr needs each path to be a mount's root, so a bind that is not
/// where the config says fails here rather than being skipped.
Result<void> confineBindsAndRoot(const InitConfig& config) {
  for (const auto& bind : config.binds) {
    auto ok = setAttr(bind.containerPath, AT_RECURSIVE, bindAttributes(bind.access));
    if (!ok) return ok;
  }
  std::string initPath(kInitPathInContainer);
  if (isMountRoot(initPath.c_str())) {
    auto ok = setAttr(initPath, 0, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
    if (!ok) return ok;
  }
  std::uint64_t root = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
  if (config.rootfs == RootFs::ReadOnly) root |= MOUNT_ATTR_RDONLY;
  return setAttr("/", 0, root);
}

Result<std::string> readMountInfo() {
  constexpr std::string_view what = "read /proc/self/mountinfo";
  UniqueFd fd(::open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC));
  if (!fd) return sysError(what, errno);
  return readToEnd(fd.get(), kMaxMountInfoSize, what);
}

Result<void> expectFlags(const std::string& path, unsigned long flags) {
  struct statvfs st {};
  if (auto ok = sysCheck(::statvfs(path.c_str(), &st), "statvfs " + path); !ok) return ok;
  if ((st.f_flag & flags) != flags) {
    return fail(ErrorKind::Internal, "mount check: " + path + " lacks a flag it was given");
  }
  return {};
}

Result<void> verifyMounts(const InitConfig& config) {
  std::string text;
  DOCKERBOX_TRY_ASSIGN(text, readMountInfo());
  std::vector<MountEntry> mounts;
  DOCKERBOX_TRY_ASSIGN(mounts, parseMountInfo(text));
  if (auto ok = checkMountTable(mounts); !ok) return ok;
  for (const auto& bind : config.binds) {
    unsigned long flags = ST_NOSUID | ST_NODEV;
    if (bind.access == BindAccess::ReadOnly) flags |= ST_RDONLY;
    if (auto ok = expectFlags(bind.containerPath, flags); !ok) return ok;
  }
  unsigned long root = ST_NOSUID | ST_NODEV;
  if (config.rootfs == RootFs::ReadOnly) root |= ST_RDONLY;
  if (auto ok = expectFlags("/", root); !ok) return ok;
  for (auto path : kReadOnlyPaths) {
    std::string p(path);
    if (::access(p.c_str(), F_OK) != 0) continue;
    if (auto ok = expectFlags(p, ST_RDONLY | ST_NOSUID | ST_NODEV | ST_NOEXEC); !ok) return ok;
  }
  return {};
}

}  // namespace

// The order, and why:
//  1. everything private, so no mount below propagates back to miniboxd's namespace;
//  2. clone the six host nodes while the host's /dev is still reachable;
//  3. detach the host's /dev (and whatever was mounted under it);
//  4. nosuid,nodev on every mount that is left (root, binds, /proc, /sys, miniboxd's own
//     extras), recursively, so nothing miniboxd mounted can hold a usable device node;
//  5. the new /dev; 6. /proc and /sys, then the tmpfs mounts (their mount points are made
//     while the root is still writable); 7. binds and root (ro where asked);
//  8. read the whole table back.
Result<void> setUpMounts(const InitConfig& config) {
  auto privateRoot = sysCheck(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr),
                              "make / private");
  if (!privateRoot) return privateRoot;
  std::vector<UniqueFd> nodes;
  DOCKERBOX_TRY_ASSIGN(nodes, cloneDeviceNodes());
  if (auto ok = detachHostDev(); !ok) return ok;
  if (auto ok = setAttr("/", AT_RECURSIVE, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV); !ok) return ok;
  if (auto ok = buildDev(std::move(nodes)); !ok) return ok;
  if (auto ok = confineProcAndSys(); !ok) return ok;
  // Before the root may become read-only: a tmpfs's missing mount point is made first.
  for (const auto& t : config.tmpfs) {
    if (auto ok = mountTmpfs(t); !ok) return ok;
  }
  if (auto ok = confineBindsAndRoot(config); !ok) return ok;
  return verifyMounts(config);
}

// After setUpMounts, so the mount is private (its detach cannot propagate to miniboxd's
// namespace) and nosuid,nodev like every other until it goes. UMOUNT_NOFOLLOW: the last
// component is never a symlink of the image's.
Result<void> detachMount(const std::string& path) {
  // The first detach must succeed (nothing mounted there: the broker's FIFOs were not
  // where it said); then whatever else was stacked on the same point goes too.
  int detached = 0;
  do {
    auto ok = sysCheck(::umount2(path.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW), "umount " + path);
    if (!ok) return ok;
  } while (++detached < 16 && isMountRoot(path.c_str()));
  if (isMountRoot(path.c_str())) {
    return fail(ErrorKind::Internal, "umount " + path + ": still mounted");
  }
  (void)::rmdir(path.c_str());  // best effort: EROFS with rootfs=ro leaves an empty directory
  return {};
}

}  // namespace dockerbox::init
