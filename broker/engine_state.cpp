#include "broker/engine_state.hpp"

#include "common/syscall.hpp"
#include "common/unique_fd.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <vector>

namespace dockerbox::broker {
namespace {

/// What an engine in dockerboxd left at the top of the state directory.
constexpr const char* kEarlierLayout[] = {"state.db", "state.db-wal", "state.db-shm", "containers"};

/// Bounds the walk: deeper than containers/<id>/<file> is nothing dockerbox made.
constexpr int kMaxDepth = 8;

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

Result<void> ensureRootDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return fail(ErrorKind::Internal, "state directory", "mkdir " + path + ": " + errnoText(errno));
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return fail(ErrorKind::Internal, "state directory", "lstat " + path);
  if (!S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022) != 0) {
    return fail(ErrorKind::Internal, "state directory",
                path + " must be a directory owned by root and writable by nobody else");
  }
  return {};
}

/// Gives `dirFd` and what is under it to uid:gid, `depth` levels at most.
Result<void> chownTree(int dirFd, const std::string& path, uid_t uid, gid_t gid, int depth) {
  if (depth > kMaxDepth) return fail(ErrorKind::Internal, "state directory", "too deep: " + path);
  if (auto rc = DOCKERBOX_SYSCALL(::fchown(dirFd, uid, gid), "fchown " + path); !rc) return rc.error();
  int listFd = ::dup(dirFd);
  if (listFd < 0) return fail(ErrorKind::Internal, "state directory", "dup: " + errnoText(errno));
  DIR* dir = ::fdopendir(listFd);
  if (dir == nullptr) {
    ::close(listFd);
    return fail(ErrorKind::Internal, "state directory", "fdopendir " + path);
  }
  std::vector<std::string> names;
  while (dirent* entry = ::readdir(dir)) {
    if (std::strcmp(entry->d_name, ".") != 0 && std::strcmp(entry->d_name, "..") != 0) names.emplace_back(entry->d_name);
  }
  ::closedir(dir);
  for (const auto& name : names) {
    struct stat st {};
    if (::fstatat(dirFd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    const std::string child = path + "/" + name;
    if (S_ISDIR(st.st_mode)) {
      auto opened = DOCKERBOX_SYSCALL(::openat(dirFd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC),
                                      "open " + child);
      if (!opened) return opened.error();
      UniqueFd sub(*opened);
      if (auto r = chownTree(sub.get(), child, uid, gid, depth + 1); !r) return r;
    } else if (S_ISREG(st.st_mode) && st.st_nlink == 1) {
      // A hard link could be someone else's file: only files with one name change hands.
      if (auto rc = DOCKERBOX_SYSCALL(::fchownat(dirFd, name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW), "chown " + child);
          !rc) return rc.error();
    } else {
      spdlog::warn("event=state_entry_skipped path={} detail=\"not a directory or a singly-linked file\"", child);
    }
  }
  return {};
}

}  // namespace

Result<void> prepareEngineState(const std::string& stateDir, uid_t uid, gid_t gid) {
  if (uid == 0 || gid == 0) return fail(ErrorKind::Internal, "state directory", "the engine must not be root");
  if (auto r = ensureRootDir(stateDir); !r) return r;
  const std::string engineDir = stateDir + "/engine";
  if (::mkdir(engineDir.c_str(), 0700) != 0 && errno != EEXIST) {
    return fail(ErrorKind::Internal, "state directory", "mkdir " + engineDir + ": " + errnoText(errno));
  }
  bool moved = false;
  if (!exists(engineDir + "/state.db") && exists(stateDir + "/state.db")) {
    for (const char* name : kEarlierLayout) {
      const std::string from = stateDir + "/" + name;
      const std::string to = engineDir + "/" + name;
      if (::rename(from.c_str(), to.c_str()) == 0) {
        spdlog::info("event=state_moved from={} to={}", from, to);
        moved = true;
      } else if (errno != ENOENT) {
        return fail(ErrorKind::Internal, "state directory", "rename " + from + ": " + errnoText(errno));
      }
    }
  }
  auto opened = DOCKERBOX_SYSCALL(::open(engineDir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC),
                                  "open " + engineDir);
  if (!opened) return opened.error();
  UniqueFd dir(*opened);
  struct stat st {};
  if (auto rc = DOCKERBOX_SYSCALL(::fstat(dir.get(), &st), "fstat " + engineDir); !rc) return rc.error();
  // The engine keeps its own directory 0700 (state/private_fs.hpp).
  if (st.st_uid == uid && st.st_gid == gid && !moved) return {};
  spdlog::info("event=state_owner_changed path={} from_uid={} to_uid={}", engineDir, st.st_uid, uid);
  if (st.st_uid != uid || st.st_gid != gid) {
    (void)::fchmod(dir.get(), 0700);  // best effort: the engine keeps it 0700 itself
  }
  if (auto given = chownTree(dir.get(), engineDir, uid, gid, 0); !given) {
    // Under the shipped unit dockerboxd has no CAP_CHOWN: the package hands the directory over.
    return fail(ErrorKind::Internal, "state directory",
                engineDir + " must belong to the engine user (uid " + std::to_string(uid) +
                    "): run systemd-tmpfiles --create dockerbox.conf, or chown -R -P it (" + given.error().context +
                    ")");
  }
  return {};
}

}  // namespace dockerbox::broker
