// Runs in: an unprivileged helper at start-up, as root, before it reads any input. After
// the caller has taken these steps the process holds no capability, no root id and no host
// file beyond what it bound in (design.md P3).
#include "common/confine.hpp"

#include "common/syscall.hpp"
#include "common/unique_fd.hpp"

#include <execinfo.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <vector>

namespace dockerbox::confine {
namespace {

void require(const char* who, bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "%s: sandbox check failed: %s\n", who, what);
  std::fflush(stderr);
  std::abort();
}

Result<void> mountPoint(const std::string& path) {
  auto rc = DOCKERBOX_SYSCALL(::mkdir(path.c_str(), 0700), "mkdir " + path);
  if (!rc) return rc.error();
  return {};
}

constexpr std::size_t kMaxFileBytes = 64 << 10;

Result<void> writeSandboxFile(const std::string& path, const std::string& contents) {
  auto opened = DOCKERBOX_SYSCALL(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444),
                                  "create " + path);
  if (!opened) return opened.error();
  UniqueFd fd(*opened);
  std::size_t done = 0;
  while (done < contents.size()) {
    auto n = DOCKERBOX_SYSCALL(::write(fd.get(), contents.data() + done, contents.size() - done), "write " + path);
    if (!n) return n.error();
    done += static_cast<std::size_t>(*n);
  }
  return {};
}

}  // namespace

Result<void> closeInheritedDescriptors(std::span<const int> keep) {
  // Only stderr and the descriptors named can have come from the parent on purpose;
  // anything else leaked from somewhere and could be a file.
  std::vector<unsigned> kept{STDERR_FILENO};
  for (int fd : keep) {
    if (fd >= 0) kept.push_back(static_cast<unsigned>(fd));
  }
  std::sort(kept.begin(), kept.end());
  kept.erase(std::unique(kept.begin(), kept.end()), kept.end());
  unsigned next = 0;
  for (unsigned k : kept) {
    if (k > next) {
      auto rc = DOCKERBOX_SYSCALL(::syscall(SYS_close_range, next, k - 1, 0), "close_range");
      if (!rc) return rc.error();
    }
    next = k + 1;
  }
  if (auto rc = DOCKERBOX_SYSCALL(::syscall(SYS_close_range, next, UINT_MAX, 0), "close_range"); !rc) {
    return rc.error();
  }
  auto kept1 = std::find(kept.begin(), kept.end(), STDOUT_FILENO) != kept.end();
  auto kept0 = std::find(kept.begin(), kept.end(), STDIN_FILENO) != kept.end();
  // A stray printf must go to the log (stdout -> stderr), never into a socket opened later;
  // stdin is the read end of a pipe whose write end is gone (reads see EOF).
  if (!kept1) {
    if (auto rc = DOCKERBOX_SYSCALL(::dup2(STDERR_FILENO, STDOUT_FILENO), "dup2(2, 1)"); !rc) return rc.error();
  }
  if (!kept0) {
    int ends[2];
    if (auto rc = DOCKERBOX_SYSCALL(::pipe2(ends, O_CLOEXEC), "pipe2"); !rc) return rc.error();
    ::close(ends[1]);
    if (ends[0] != STDIN_FILENO) {
      auto rc = DOCKERBOX_SYSCALL(::dup2(ends[0], STDIN_FILENO), "dup2(pipe, 0)");
      ::close(ends[0]);
      if (!rc) return rc.error();
    }
  }
  return {};
}

Result<void> enterEmptyRoot(std::span<const Bind> binds, std::span<const File> files) {
  // Our mounts must not propagate back to the host's namespace (systemd makes / shared).
  if (auto rc = DOCKERBOX_SYSCALL(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr),
                                  "mount(/, MS_REC|MS_PRIVATE)");
      !rc) return rc.error();
  // The bind sources are opened first: the tmpfs below may cover them (a source under /tmp).
  std::vector<UniqueFd> sources;
  for (const auto& bind : binds) {
    auto opened = DOCKERBOX_SYSCALL(::open(bind.source.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC),
                                    "open " + bind.source);
    if (!opened) return opened.error();
    sources.emplace_back(*opened);
  }
  // An empty tmpfs becomes the new root. It is mounted over /tmp only inside our own mount
  // namespace; the host's /tmp is untouched. One inode for the root, one per mount point.
  // Nobody may write to it (0555) unless mount points must be made (0755 for root, which
  // may lack CAP_DAC_OVERRIDE); it is read-only once they are.
  std::size_t bytes = 4096;
  std::vector<std::string> dirs;
  for (const auto& file : files) {
    const auto slash = file.path.find('/');
    const bool valid = !file.path.empty() && file.path.front() != '/' && file.path.find("..") == std::string::npos &&
                       file.path.find('/', slash == std::string::npos ? 0 : slash + 1) == std::string::npos &&
                       file.contents.size() <= kMaxFileBytes;
    if (!valid) return fail(ErrorKind::Internal, "sandbox setup failed", "bad sandbox file: " + file.path);
    if (slash != std::string::npos && std::find(dirs.begin(), dirs.end(), file.path.substr(0, slash)) == dirs.end()) {
      dirs.push_back(file.path.substr(0, slash));
    }
    bytes += (file.contents.size() + 4095) / 4096 * 4096;
  }
  const bool writable = !binds.empty() || !files.empty();
  const std::string options = "size=" + std::to_string(bytes + 4096 * dirs.size()) +
                              ",nr_inodes=" + std::to_string(2 + binds.size() + files.size() + dirs.size()) +
                              (writable ? ",mode=0755" : ",mode=0555");
  if (auto rc = DOCKERBOX_SYSCALL(
          ::mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, options.c_str()), "mount(tmpfs, /tmp)");
      !rc) return rc.error();
  for (std::size_t i = 0; i < binds.size(); ++i) {
    const auto& bind = binds[i];
    if (bind.name.empty() || bind.name.find('/') != std::string::npos || bind.name == "." || bind.name == "..") {
      return fail(ErrorKind::Internal, "sandbox setup failed", "bad mount point name: " + bind.name);
    }
    const std::string target = "/tmp/" + bind.name;
    if (auto ok = mountPoint(target); !ok) return ok;
    const std::string source = "/proc/self/fd/" + std::to_string(sources[i].get());
    if (auto rc = DOCKERBOX_SYSCALL(::mount(source.c_str(), target.c_str(), nullptr, MS_BIND, nullptr),
                                    "mount(bind " + bind.source + ")");
        !rc) return rc.error();
    if (auto rc = DOCKERBOX_SYSCALL(::mount(nullptr, target.c_str(), nullptr,
                                            MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr),
                                    "mount(remount " + bind.source + " nosuid,nodev,noexec)");
        !rc) return rc.error();
  }
  for (const auto& dir : dirs) {
    if (auto rc = DOCKERBOX_SYSCALL(::mkdir(("/tmp/" + dir).c_str(), 0755), "mkdir " + dir); !rc) return rc.error();
  }
  for (const auto& file : files) {
    if (auto ok = writeSandboxFile("/tmp/" + file.path, file.contents); !ok) return ok;
  }
  if (auto rc = DOCKERBOX_SYSCALL(::chdir("/tmp"), "chdir(/tmp)"); !rc) return rc.error();
  // pivot_root(".", ".") stacks the old root on top of the new one; detaching "." then
  // removes the old root, and with it every host file, from this namespace.
  if (auto rc = DOCKERBOX_SYSCALL(::syscall(SYS_pivot_root, ".", "."), "pivot_root(., .)"); !rc) return rc.error();
  if (auto rc = DOCKERBOX_SYSCALL(::umount2(".", MNT_DETACH), "umount2(old root)"); !rc) return rc.error();
  if (auto rc = DOCKERBOX_SYSCALL(::chdir("/"), "chdir(/)"); !rc) return rc.error();
  if (auto rc = DOCKERBOX_SYSCALL(
          ::mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr),
          "mount(/, MS_REMOUNT|MS_RDONLY)");
      !rc) return rc.error();
  return {};
}

Result<void> beginSandbox(std::span<const int> keep) {
  ::tzset();
  void* frames[4];
  (void)::backtrace(frames, 4);
  if (auto ok = closeInheritedDescriptors(keep); !ok) return ok;
  if (auto rc = DOCKERBOX_SYSCALL(::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "PR_SET_NO_NEW_PRIVS"); !rc) {
    return rc.error();
  }
  return {};
}

Result<void> becomeUnprivileged(const char* who, uid_t uid, gid_t gid, pid_t parent) {
  if (auto ok = dropBoundingSet(); !ok) return ok;
  if (auto ok = becomeUser(uid, gid); !ok) return ok;
  if (auto ok = dieWithParent(parent); !ok) return ok;
  if (auto ok = clearCapabilities(); !ok) return ok;
  verifyUnprivileged(who, uid, gid);
  return {};
}

Result<void> dropBoundingSet() {
  // PR_CAPBSET_READ fails with EINVAL past the kernel's last capability, so this covers
  // capabilities newer than our headers too.
  for (int cap = 0; ::prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; ++cap) {
    if (auto rc = DOCKERBOX_SYSCALL(::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), "prctl(PR_CAPBSET_DROP)"); !rc) {
      return rc.error();
    }
  }
  return {};
}

Result<void> becomeUser(uid_t uid, gid_t gid) {
  if (uid == 0 || gid == 0) return fail(ErrorKind::Internal, "refusing to run a sandboxed helper as uid or gid 0");
  if (auto rc = DOCKERBOX_SYSCALL(::setgroups(0, nullptr), "setgroups(0)"); !rc) return rc.error();
  if (auto rc = DOCKERBOX_SYSCALL(::setresgid(gid, gid, gid), "setresgid"); !rc) return rc.error();
  if (auto rc = DOCKERBOX_SYSCALL(::setresuid(uid, uid, uid), "setresuid"); !rc) return rc.error();
  return {};
}

Result<void> dieWithParent(pid_t parent) {
  if (auto rc = DOCKERBOX_SYSCALL(::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0), "PR_SET_PDEATHSIG"); !rc) {
    return rc.error();
  }
  // Closes the race where the parent died before the signal was armed.
  if (::getppid() != parent) return fail(ErrorKind::Internal, "the parent exited during start-up");
  return {};
}

Result<void> clearCapabilities() {
  cap_t empty = cap_init();  // all three sets empty
  if (empty == nullptr) return fail(ErrorKind::Internal, "sandbox setup failed", "cap_init");
  int rc = cap_set_proc(empty);
  cap_free(empty);
  if (rc != 0) return fail(ErrorKind::Internal, "sandbox setup failed", "cap_set_proc(empty)");
  if (cap_reset_ambient() != 0) return fail(ErrorKind::Internal, "sandbox setup failed", "cap_reset_ambient");
  return {};
}

void verifyUnprivileged(const char* who, uid_t uid, gid_t gid) {
  uid_t ruid = 0, euid = 0, suid = 0;
  gid_t rgid = 0, egid = 0, sgid = 0;
  require(who, ::getresuid(&ruid, &euid, &suid) == 0, "getresuid");
  require(who, ::getresgid(&rgid, &egid, &sgid) == 0, "getresgid");
  require(who, uid != 0 && ruid == uid && euid == uid && suid == uid, "uids");
  require(who, gid != 0 && rgid == gid && egid == gid && sgid == gid, "gids");
  require(who, ::getgroups(0, nullptr) == 0, "supplementary groups");
  require(who, ::setresuid(0, 0, 0) != 0, "regaining uid 0 must fail");

  cap_t current = cap_get_proc();
  require(who, current != nullptr, "cap_get_proc");
  cap_t empty = cap_init();
  bool clear = cap_compare(current, empty) == 0;
  cap_free(empty);
  cap_free(current);
  require(who, clear, "effective/permitted/inheritable capabilities");
  for (int cap = 0;; ++cap) {
    int inBounding = ::prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (inBounding < 0) {
      require(who, cap > CAP_LAST_CAP, "bounding set readable up to CAP_LAST_CAP");
      break;
    }
    require(who, inBounding == 0, "bounding set is empty");
    require(who, ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) == 0, "ambient set is empty");
  }
  require(who, ::prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1, "no_new_privs");
  int deathSignal = 0;
  require(who, ::prctl(PR_GET_PDEATHSIG, &deathSignal, 0, 0, 0) == 0 && deathSignal == SIGKILL,
          "parent-death signal");
}

std::optional<unsigned> parseId(std::string_view text) {
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value == 0) return std::nullopt;
  return value;
}

}  // namespace dockerbox::confine
