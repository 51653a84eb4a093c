// Private directories and files under the state directory. Runs in the engine
// (dockerbox-engine, unprivileged). Input: paths built from the configured state directory
// and checked 64-hex ids.
#include "engine/state/private_fs.hpp"

#include "common/syscall.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace dockerbox::broker::state {
namespace {

Error fsError(const std::string& what, int err) {
  return fail(ErrorKind::Internal, "state directory error",
              what + ": " + std::strerror(err) + " (errno " + std::to_string(err) + ")");
}

}  // namespace

Result<void> ensurePrivateDir(const std::filesystem::path& dir) {
  // Checked by hand rather than through DOCKERBOX_SYSCALL because EEXIST is expected here.
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return fsError("mkdir " + dir.string(), errno);
  }
  // O_NOFOLLOW | O_DIRECTORY: a symlink or a file planted at this path fails to open.
  auto opened = DOCKERBOX_SYSCALL(
      ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), "open " + dir.string());
  if (!opened) return opened.error();
  UniqueFd fd(*opened);
  struct stat info {};
  auto statted = DOCKERBOX_SYSCALL(::fstat(fd.get(), &info), "fstat " + dir.string());
  if (!statted) return statted.error();
  if (info.st_uid != ::geteuid()) {
    return fail(ErrorKind::Internal, "state directory error",
                dir.string() + " is owned by uid " + std::to_string(info.st_uid));
  }
  if ((info.st_mode & 07777) != 0700) {
    auto chmodded = DOCKERBOX_SYSCALL(::fchmod(fd.get(), 0700), "fchmod 0700 " + dir.string());
    if (!chmodded) return chmodded.error();
  }
  return {};
}

Result<UniqueFd> openPrivateAppend(const std::filesystem::path& file) {
  auto opened = DOCKERBOX_SYSCALL(
      ::open(file.c_str(), O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600),
      "open for append " + file.string());
  if (!opened) return opened.error();
  return UniqueFd(*opened);
}

Result<UniqueFd> openIfExists(const std::filesystem::path& file) {
  int fd = ::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return UniqueFd();
    return fsError("open " + file.string(), errno);
  }
  return UniqueFd(fd);
}

Result<void> removeIfExists(const std::filesystem::path& file) {
  if (::unlink(file.c_str()) != 0 && errno != ENOENT) {
    return fsError("unlink " + file.string(), errno);
  }
  return {};
}

}  // namespace dockerbox::broker::state
