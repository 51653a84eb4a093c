// Runs in the container as its pid 1, before the user's program. Input: see tmpfs.hpp.
#include "init/tmpfs.hpp"

#include "common/unique_fd.hpp"
#include "init/sys_error.hpp"

#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace dockerbox::init {

namespace {

/// `path` (absolute) inside the container's root, as an O_PATH descriptor, each missing
/// directory on the way made 0755.
Result<UniqueFd> openOrMakeDirectory(const std::string& path) {
  UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return sysError("tmpfs: open /", errno);
  struct open_how how {};
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  std::string prefix;
  UniqueFd at(::fcntl(root.get(), F_DUPFD_CLOEXEC, 0));
  if (!at) return sysError("tmpfs: dup /", errno);
  for (std::size_t start = 1; start <= path.size();) {
    const auto slash = path.find('/', start);
    const std::string part = path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    prefix += "/" + part;
    int next = static_cast<int>(::syscall(SYS_openat2, root.get(), prefix.c_str() + 1, &how, sizeof how));
    if (next < 0 && errno == ENOENT) {
      if (::mkdirat(at.get(), part.c_str(), 0755) != 0 && errno != EEXIST) {
        return sysError("tmpfs: mkdir " + prefix, errno);
      }
      next = static_cast<int>(::syscall(SYS_openat2, root.get(), prefix.c_str() + 1, &how, sizeof how));
    }
    if (next < 0) return sysError("tmpfs: open " + prefix, errno);
    at.reset(next);
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return at;
}

Result<void> setOption(int fs, const char* key, const std::string& value, const std::string& path) {
  if (value.empty()) return {};
  return sysCheck(::syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, key, value.c_str(), 0),
                  "tmpfs: " + std::string(key) + "=" + value + " for " + path);
}

}  // namespace

Result<void> mountTmpfs(const Tmpfs& t) {
  UniqueFd target;
  DOCKERBOX_TRY_ASSIGN(target, openOrMakeDirectory(t.path));
  UniqueFd fs(static_cast<int>(::syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC)));
  if (!fs) return sysError("tmpfs: fsopen for " + t.path, errno);
  for (const auto& [key, value] : {std::pair<const char*, const std::string*>{"size", &t.size},
                                   {"mode", &t.mode}, {"uid", &t.uid}, {"gid", &t.gid}, {"nr_inodes", &t.nrInodes}}) {
    if (auto ok = setOption(fs.get(), key, *value, t.path); !ok) return ok;
  }
  if (auto ok = sysCheck(::syscall(SYS_fsconfig, fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0),
                         "tmpfs: create for " + t.path);
      !ok) {
    return ok;
  }
  unsigned attributes = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
  if (!t.exec) attributes |= MOUNT_ATTR_NOEXEC;
  if (t.readOnly) attributes |= MOUNT_ATTR_RDONLY;
  UniqueFd mount(static_cast<int>(::syscall(SYS_fsmount, fs.get(), FSMOUNT_CLOEXEC, attributes)));
  if (!mount) return sysError("tmpfs: fsmount for " + t.path, errno);
  return sysCheck(::syscall(SYS_move_mount, mount.get(), "", target.get(), "",
                            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH),
                  "tmpfs: attach at " + t.path);
}

}  // namespace dockerbox::init
