// Runs as root, in the monitor. Input: see volumes.hpp.
#include "broker/monitor/volumes.hpp"

#include "broker/containers/run_spec.hpp"
#include "broker/state/names.hpp"
#include "common/unique_fd.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>

namespace dockerbox::broker::monitor {

namespace {

constexpr const char* kOwnerFile = "owner";
constexpr const char* kDataDir = "_data";
constexpr std::size_t kMaxOwnerBytes = 64;
/// How deep a container may nest directories in a volume before removal gives up on it.
constexpr int kMaxRemoveDepth = 256;

Error internal(const std::string& what) {
  return fail(ErrorKind::Internal, "internal error", "volumes: " + what + ": " + std::strerror(errno));
}

/// Acts on the file system as the owner of directory `dir` (setfsuid, this thread only) and
/// makes sure the owner may change it. dockerboxd runs without CAP_DAC_OVERRIDE and
/// CAP_FOWNER (deploy/dockerbox.service), and a container may have left directories of other
/// uids, of any mode, in a volume: their owner may always chmod and then empty them.
bool becomeOwnerOf(int dir) {
  struct stat st {};
  if (::fstat(dir, &st) != 0) return false;
  (void)::setfsuid(st.st_uid);
  if ((st.st_mode & S_IRWXU) != S_IRWXU && ::fchmod(dir, (st.st_mode & 07777) | S_IRWXU) != 0) return false;
  return true;
}

/// Deletes everything inside directory `dir` (which it closes), never following a symlink:
/// every step is relative to a descriptor opened with O_NOFOLLOW.
bool emptyDirectory(int dir, int depth) {
  UniqueFd owned(dir);
  if (depth > kMaxRemoveDepth) return false;
  if (!becomeOwnerOf(dir)) return false;
  int again = ::dup(dir);
  if (again < 0) return false;
  DIR* listing = ::fdopendir(again);
  if (listing == nullptr) {
    ::close(again);
    return false;
  }
  bool ok = true;
  std::vector<std::string> names;
  while (dirent* entry = ::readdir(listing)) {
    std::string_view n = entry->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  ::closedir(listing);
  for (const auto& n : names) {
    if (::unlinkat(dir, n.c_str(), 0) == 0 || errno == ENOENT) continue;
    if (errno != EISDIR && errno != EPERM) {
      ok = false;
      continue;
    }
    (void)::setfsuid(0);  // root again to open what the owner may not read
    int child = ::openat(dir, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    const bool emptied = child >= 0 && emptyDirectory(child, depth + 1);
    if (!emptied || !becomeOwnerOf(dir) || ::unlinkat(dir, n.c_str(), AT_REMOVEDIR) != 0) ok = false;
  }
  return ok;
}

/// Removes entry `name` of `root` and everything below it; root's file system uid again at
/// the end, whatever happened.
bool removeTree(int root, const char* name) {
  int dir = ::openat(root, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dir < 0) return errno == ENOENT || ::unlinkat(root, name, 0) == 0;
  const bool emptied = emptyDirectory(dir, 0);
  (void)::setfsuid(0);
  return emptied && ::unlinkat(root, name, AT_REMOVEDIR) == 0;
}

Result<std::string> scratchName(const char* prefix) {
  auto suffix = state::randomHex(8);
  if (!suffix) return suffix.error();
  return std::string(prefix) + *suffix;
}

}  // namespace

Result<int> VolumeStore::openRoot() const {
  if (dir_.empty()) return fail(ErrorKind::NotImplemented, "dockerbox has no volume directory configured");
  if (::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) return internal("mkdir " + dir_);
  int fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return internal("open " + dir_);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || st.st_uid != 0 || (st.st_mode & 077) != 0) {
    ::close(fd);
    return fail(ErrorKind::Internal, "internal error", "volumes: " + dir_ + " must be root's and mode 0700");
  }
  return fd;
}

Result<bool> VolumeStore::create(const std::string& name, VolumeOwner owner) {
  if (auto valid = containers::checkVolumeName(name); !valid) return valid.error();
  auto opened = openRoot();
  if (!opened) return opened.error();
  UniqueFd root(*opened);
  if (::faccessat(root.get(), name.c_str(), F_OK, AT_SYMLINK_NOFOLLOW) == 0) return false;
  auto scratch = scratchName(".new-");
  if (!scratch) return scratch.error();
  if (::mkdirat(root.get(), scratch->c_str(), 0700) != 0) return internal("mkdir " + *scratch);
  auto made = [&]() -> Result<void> {
    UniqueFd dir(::openat(root.get(), scratch->c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir) return internal("open " + *scratch);
    if (::mkdirat(dir.get(), kDataDir, 0755) != 0 || ::fchmodat(dir.get(), kDataDir, 0755, 0) != 0) {
      return internal("mkdir _data");
    }
    UniqueFd file(::openat(dir.get(), kOwnerFile, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!file) return internal("create owner");
    const std::string text = std::to_string(owner.uid) + " " + std::to_string(owner.gid) + "\n";
    if (::write(file.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()) || ::fsync(file.get()) != 0) {
      return internal("write owner");
    }
    return {};
  }();
  if (made && ::renameat2(root.get(), scratch->c_str(), root.get(), name.c_str(), RENAME_NOREPLACE) == 0) {
    (void)::fsync(root.get());
    return true;
  }
  const int renameErrno = errno;
  (void)removeTree(root.get(), scratch->c_str());
  if (!made) return made.error();
  if (renameErrno == EEXIST) return false;  // made meanwhile by another act
  errno = renameErrno;
  return internal("rename " + name);
}

Result<std::optional<VolumeOwner>> VolumeStore::owner(const std::string& name) const {
  if (auto valid = containers::checkVolumeName(name); !valid) return valid.error();
  auto opened = openRoot();
  if (!opened) return opened.error();
  UniqueFd root(*opened);
  UniqueFd dir(::openat(root.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir) {
    if (errno == ENOENT) return std::optional<VolumeOwner>();
    return internal("open " + name);
  }
  UniqueFd file(::openat(dir.get(), kOwnerFile, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!file) return internal("open " + name + "/owner");
  char buffer[kMaxOwnerBytes] = {};
  const ssize_t n = ::read(file.get(), buffer, sizeof buffer - 1);
  if (n <= 0) return internal("read " + name + "/owner");
  VolumeOwner o;
  const char* end = buffer + n;
  auto [afterUid, uidError] = std::from_chars(buffer, end, o.uid);
  if (uidError != std::errc() || afterUid == end || *afterUid != ' ') {
    return fail(ErrorKind::Internal, "internal error", "volumes: " + name + "/owner is damaged");
  }
  auto [afterGid, gidError] = std::from_chars(afterUid + 1, end, o.gid);
  if (gidError != std::errc() || afterGid == end || *afterGid != '\n') {
    return fail(ErrorKind::Internal, "internal error", "volumes: " + name + "/owner is damaged");
  }
  return std::optional<VolumeOwner>(o);
}

std::string VolumeStore::dataPath(const std::string& name) const { return dir_ + "/" + name + "/" + kDataDir; }

Result<void> VolumeStore::remove(const std::string& name) {
  if (auto valid = containers::checkVolumeName(name); !valid) return valid.error();
  auto opened = openRoot();
  if (!opened) return opened.error();
  UniqueFd root(*opened);
  auto scratch = scratchName(".gone-");
  if (!scratch) return scratch.error();
  if (::renameat2(root.get(), name.c_str(), root.get(), scratch->c_str(), RENAME_NOREPLACE) != 0) {
    if (errno == ENOENT) return fail(ErrorKind::NotFound, "get " + name + ": no such volume");
    return internal("rename " + name);
  }
  (void)::fsync(root.get());
  // Gone for every later act; a tree that cannot be deleted now is retried at start-up.
  if (!removeTree(root.get(), scratch->c_str())) {
    spdlog::warn("event=volume_remove_incomplete name={} left={}/{}", name, dir_, *scratch);
  }
  return {};
}

Result<std::vector<std::string>> VolumeStore::names() const {
  auto opened = openRoot();
  if (!opened) return opened.error();
  DIR* listing = ::fdopendir(*opened);
  if (listing == nullptr) {
    ::close(*opened);
    return internal("list " + dir_);
  }
  std::vector<std::string> out;
  while (dirent* entry = ::readdir(listing)) {
    std::string n = entry->d_name;
    if (containers::checkVolumeName(n)) out.push_back(std::move(n));
  }
  ::closedir(listing);
  return out;
}

void VolumeStore::clearLeftovers() {
  auto opened = openRoot();
  if (!opened) return;
  UniqueFd root(*opened);
  int again = ::dup(root.get());
  DIR* listing = again < 0 ? nullptr : ::fdopendir(again);
  if (listing == nullptr) {
    if (again >= 0) ::close(again);
    return;
  }
  std::vector<std::string> leftovers;
  while (dirent* entry = ::readdir(listing)) {
    std::string_view n = entry->d_name;
    if (n.starts_with(".new-") || n.starts_with(".gone-")) leftovers.emplace_back(n);
  }
  ::closedir(listing);
  for (const auto& n : leftovers) {
    if (!removeTree(root.get(), n.c_str())) spdlog::warn("event=volume_leftover_kept path={}/{}", dir_, n);
  }
}

}  // namespace dockerbox::broker::monitor
