// Runs in the container as its pid 1, before the user's program. Input: see volume_fill.hpp.
#include "init/volume_fill.hpp"

#include "common/unique_fd.hpp"
#include "init/sys_error.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <climits>
#include <vector>

namespace dockerbox::init {

namespace {

/// How deep the image's tree may go below a volume's path.
constexpr int kMaxDepth = 256;
/// The permission bits copied: set-id bits are dropped (see the header).
constexpr mode_t kCopiedModeBits = 01777;

/// The names in directory `dir` (not "." and ".."), read through a duplicate descriptor.
Result<std::vector<std::string>> namesIn(int dir, const std::string& where) {
  int again = ::fcntl(dir, F_DUPFD_CLOEXEC, 0);
  if (again < 0) return sysError("fill volume: dup " + where, errno);
  DIR* listing = ::fdopendir(again);
  if (listing == nullptr) {
    ::close(again);
    return sysError("fill volume: list " + where, errno);
  }
  ::rewinddir(listing);
  std::vector<std::string> names;
  errno = 0;
  while (dirent* entry = ::readdir(listing)) {
    std::string_view n = entry->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  const int err = errno;
  ::closedir(listing);
  if (err != 0) return sysError("fill volume: list " + where, err);
  return names;
}

/// Owner, permission bits and times of `st` onto `fd`.
Result<void> copyAttributes(int fd, const struct stat& st, const std::string& where) {
  if (auto ok = sysCheck(::fchown(fd, st.st_uid, st.st_gid), "fill volume: chown " + where); !ok) return ok;
  if (auto ok = sysCheck(::fchmod(fd, st.st_mode & kCopiedModeBits), "fill volume: chmod " + where); !ok) return ok;
  const std::array<timespec, 2> times{st.st_atim, st.st_mtim};
  return sysCheck(::futimens(fd, times.data()), "fill volume: times " + where);
}

Result<void> copyFile(int from, int to, const std::string& where) {
  std::array<char, 64 * 1024> buffer{};
  for (;;) {
    auto got = sysRetry("fill volume: read " + where, [&] { return ::read(from, buffer.data(), buffer.size()); });
    if (!got) return got.error();
    if (*got == 0) return {};
    for (long done = 0; done < *got;) {
      auto put = sysRetry("fill volume: write " + where,
                          [&] { return ::write(to, buffer.data() + done, static_cast<std::size_t>(*got - done)); });
      if (!put) return put.error();
      done += *put;
    }
  }
}

Result<void> copyTree(int from, int to, const std::string& where, int depth) {
  if (depth > kMaxDepth) return fail(ErrorKind::Internal, "fill volume: " + where + " is nested too deep");
  std::vector<std::string> names;
  DOCKERBOX_TRY_ASSIGN(names, namesIn(from, where));
  for (const auto& name : names) {
    const std::string path = where + "/" + name;
    struct stat st {};
    if (auto ok = sysCheck(::fstatat(from, name.c_str(), &st, AT_SYMLINK_NOFOLLOW), "fill volume: stat " + path); !ok) {
      return ok;
    }
    if (S_ISDIR(st.st_mode)) {
      if (auto ok = sysCheck(::mkdirat(to, name.c_str(), 0700), "fill volume: mkdir " + path); !ok) return ok;
      UniqueFd source(::openat(from, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!source) return sysError("fill volume: open " + path, errno);
      UniqueFd target(::openat(to, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!target) return sysError("fill volume: open " + path, errno);
      if (auto ok = copyTree(source.get(), target.get(), path, depth + 1); !ok) return ok;
      if (auto ok = copyAttributes(target.get(), st, path); !ok) return ok;
    } else if (S_ISREG(st.st_mode)) {
      UniqueFd source(::openat(from, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC));
      if (!source) return sysError("fill volume: open " + path, errno);
      UniqueFd target(::openat(to, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
      if (!target) return sysError("fill volume: create " + path, errno);
      if (auto ok = copyFile(source.get(), target.get(), path); !ok) return ok;
      if (auto ok = copyAttributes(target.get(), st, path); !ok) return ok;
    } else if (S_ISLNK(st.st_mode)) {
      std::array<char, PATH_MAX> link{};
      const ssize_t n = ::readlinkat(from, name.c_str(), link.data(), link.size() - 1);
      if (n < 0) return sysError("fill volume: readlink " + path, errno);
      const std::string target(link.data(), static_cast<std::size_t>(n));
      if (auto ok = sysCheck(::symlinkat(target.c_str(), to, name.c_str()), "fill volume: symlink " + path); !ok) {
        return ok;
      }
      auto owned = sysCheck(::fchownat(to, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW),
                            "fill volume: chown " + path);
      if (!owned) return owned;
    }
    // Device nodes, FIFOs and sockets are left out: the volume is nodev, and the others
    // are made by programs at run time.
  }
  return {};
}

}  // namespace

Result<void> fillEmptyVolume(const std::string& path) {
  UniqueFd volume(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!volume) return sysError("fill volume: open " + path, errno);
  std::vector<std::string> present;
  DOCKERBOX_TRY_ASSIGN(present, namesIn(volume.get(), path));
  if (!present.empty()) return {};
  // The root mount alone: what the image has at `path`, under the volume's mount.
  UniqueFd root(static_cast<int>(::syscall(SYS_open_tree, AT_FDCWD, "/", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)));
  if (!root) return sysError("fill volume: clone the root mount", errno);
  struct open_how how {};
  how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  const auto start = path.find_first_not_of('/');
  if (start == std::string::npos) return fail(ErrorKind::Internal, "fill volume: the root cannot be a volume");
  const std::string relative = path.substr(start);
  UniqueFd image(static_cast<int>(::syscall(SYS_openat2, root.get(), relative.c_str(), &how, sizeof how)));
  if (!image) {
    // Nothing there (or not a directory) in the image: the volume starts empty.
    if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP || errno == EXDEV) return {};
    return sysError("fill volume: open the image's " + path, errno);
  }
  if (auto ok = copyTree(image.get(), volume.get(), path, 0); !ok) return ok;
  struct stat st {};
  if (auto ok = sysCheck(::fstat(image.get(), &st), "fill volume: stat the image's " + path); !ok) return ok;
  return copyAttributes(volume.get(), st, path);
}

}  // namespace dockerbox::init
